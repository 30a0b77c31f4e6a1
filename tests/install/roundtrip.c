/* Built by tests/install/test_install.sh against an installed copy, with only
 * `pkg-config --cflags --libs flexiti_auth`: the version, then a token round trip against the
 * local token server (new token, cached, session export/import into a second client).
 *   roundtrip EXPECTED_VERSION TOKEN_OUT_FILE     (FLEXITI_API_URL, _CLIENT_ID, _CLIENT_SECRET) */
#include <flexiti_auth.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what) {
    fprintf(stderr, "roundtrip: %s failed: %s (%s)\n", what, flx_last_error_message(),
            flx_status_str(flx_last_error_code()));
    return 1;
}

int main(int argc, char **argv) {
    const char *url = getenv("FLEXITI_API_URL");
    const char *id = getenv("FLEXITI_CLIENT_ID");
    const char *secret = getenv("FLEXITI_CLIENT_SECRET");
    if (argc != 3 || !url || !id || !secret) {
        fprintf(stderr, "usage: roundtrip EXPECTED_VERSION TOKEN_OUT_FILE (with FLEXITI_* set)\n");
        return 2;
    }
    if (strcmp(flx_version(), argv[1]) != 0) {
        fprintf(stderr, "roundtrip: flx_version() is %s, expected %s\n", flx_version(), argv[1]);
        return 1;
    }
    FlxClient *a = flx_client_new(url, id, secret);
    if (!a) return fail("flx_client_new");
    char *token = flx_get_access_token(a, false);
    if (!token) return fail("flx_get_access_token");
    char *cached = flx_get_access_token(a, true);
    if (!cached) return fail("flx_get_access_token (cached)");
    char *session = flx_session_export(a);
    if (!session) return fail("flx_session_export");

    FlxClient *b = flx_client_new(url, id, secret);
    if (!b) return fail("flx_client_new (second)");
    if (flx_session_import(b, session) != FLX_OK) return fail("flx_session_import");
    char *imported = flx_get_access_token(b, true);
    if (!imported) return fail("flx_get_access_token (imported)");

    int ok = strcmp(token, cached) == 0 && strcmp(token, imported) == 0;
    FILE *out = fopen(argv[2], "w");
    if (!out || fprintf(out, "%s\n", token) < 0 || fclose(out) != 0) {
        fprintf(stderr, "roundtrip: cannot write %s\n", argv[2]);
        ok = 0;
    }
    printf("flexiti-auth %s: token %.6s..., cached %s, imported %s\n", flx_version(), token,
           strcmp(token, cached) == 0 ? "same" : "DIFFERENT", strcmp(token, imported) == 0 ? "same" : "DIFFERENT");
    flx_string_free(token);
    flx_string_free(cached);
    flx_string_free(imported);
    flx_string_free(session);
    flx_client_free(a);
    flx_client_free(b);
    return ok ? 0 : 1;
}
