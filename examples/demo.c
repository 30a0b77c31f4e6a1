/* make demo: the three decisions of the Flexiti guide against a local token server.
 * Reads FLEXITI_API_URL, FLEXITI_CLIENT_ID and FLEXITI_CLIENT_SECRET from the environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flexiti_auth.h"

static int fail(const char *what) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, flx_last_error_message(), flx_status_str(flx_last_error_code()));
    return 1;
}

/* Print a token without giving it away: a short prefix is enough to tell two tokens apart. */
static void show(const char *step, const char *access_token) {
    printf("%-44s access_token %.6s…\n", step, access_token);
}

int main(void) {
    const char *url = getenv("FLEXITI_API_URL");
    const char *id = getenv("FLEXITI_CLIENT_ID");
    const char *secret = getenv("FLEXITI_CLIENT_SECRET");
    if (!url || !id || !secret) {
        fprintf(stderr, "set FLEXITI_API_URL, FLEXITI_CLIENT_ID and FLEXITI_CLIENT_SECRET\n");
        return 2;
    }
    printf("flexiti-auth %s against %s\n", flx_version(), url);
    FlxClient *client = flx_client_new(url, id, secret);
    if (!client) return fail("flx_client_new");

    char *first = flx_get_access_token(client, false);          /* none held: client_credentials */
    if (!first) return fail("new token");
    show("1. new token (grant_type=client_credentials)", first);

    char *cached = flx_get_access_token(client, true);          /* still valid: no request */
    if (!cached) return fail("cached token");
    show("2. cached (price calculator, no request)", cached);
    printf("   same token as 1: %s\n", strcmp(first, cached) == 0 ? "yes" : "no");

    char *refreshed = flx_get_access_token(client, false);      /* purchase flow: full lifetime */
    if (!refreshed) return fail("refreshed token");
    show("3. refreshed (grant_type=refresh_token)", refreshed);
    printf("   new token after refresh: %s\n", strcmp(first, refreshed) != 0 ? "yes" : "no");

    char *session = flx_session_export(client);
    if (!session) return fail("session export");
    printf("session JSON to keep in the user session: %zu bytes\n", strlen(session));

    flx_string_free(first);
    flx_string_free(cached);
    flx_string_free(refreshed);
    flx_string_free(session);
    flx_client_free(client);
    return 0;
}
