/* A POS terminal's use of flexiti-auth, in C99.
 *
 *   pos_terminal [SESSION_FILE]        (default: $FLEXITI_SESSION_FILE, else pos-session.json)
 *
 * Environment: FLEXITI_API_URL, FLEXITI_CLIENT_ID, and the secret as FLEXITI_CLIENT_SECRET_FILE
 * (a file whose first line is the secret; preferred) or FLEXITI_CLIENT_SECRET.
 * Optional: FLEXITI_TOKEN_PATH (e.g. flexiti/pos-api/v2.5/oauth/token).
 *
 * 1. restores the token kept by the previous run (SESSION_FILE), if any;
 * 2. "purchase": a token with a full lifetime (use_cache=false: refreshed, or a new one);
 * 3. "price calculator": the held token, no request while it is valid (use_cache=true);
 * 4. saves the session for the next run (mode 0600: it holds the refresh token).
 * It prints its decisions, never the secret and never a whole token (a 6-character prefix).
 *
 * Build: cc -std=c99 pos_terminal.c $(pkg-config --cflags --libs flexiti_auth) */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "flexiti_auth.h"

#define MAX_SECRET 4096
#define MAX_SESSION (1024 * 1024)

/* What the terminal does about a failed token request, by status code. */
static const char *advice(int32_t code) {
    switch (code) {
    case FLX_ERR_NETWORK: return "Flexiti unreachable: keep the sale open and retry, or take another payment method";
    case FLX_ERR_HTTP_STATUS: return "Flexiti answered with an error status: retry later";
    case FLX_ERR_AUTH_REJECTED: return "credentials refused: check FLEXITI_CLIENT_ID and the secret";
    case FLX_ERR_BAD_RESPONSE: return "unusable answer from the token endpoint: check FLEXITI_API_URL";
    case FLX_ERR_INVALID_ARGUMENT: return "configuration error";
    default: return "unexpected error";
    }
}

/* Report the library's error for `step` (read right after the failed call: it is thread-local). */
static void report(const char *step) {
    int32_t code = flx_last_error_code();
    fprintf(stderr, "%s: FAILED: %s [%s]\n  decision: %s\n", step, flx_last_error_message(), flx_status_str(code),
            advice(code));
}

/* The secret: first line of $FLEXITI_CLIENT_SECRET_FILE, else $FLEXITI_CLIENT_SECRET. */
static int read_secret(char *buf, size_t size) {
    const char *path = getenv("FLEXITI_CLIENT_SECRET_FILE");
    if (path && *path) {
        FILE *f = fopen(path, "r");
        if (!f) {
            fprintf(stderr, "cannot open FLEXITI_CLIENT_SECRET_FILE %s: %s\n", path, strerror(errno));
            return -1;
        }
        char *line = fgets(buf, (int)size, f);
        fclose(f);
        if (!line) {
            fprintf(stderr, "FLEXITI_CLIENT_SECRET_FILE %s is empty\n", path);
            return -1;
        }
        buf[strcspn(buf, "\r\n")] = '\0';
        return 0;
    }
    const char *env = getenv("FLEXITI_CLIENT_SECRET");
    if (!env || !*env) {
        fprintf(stderr, "set FLEXITI_CLIENT_SECRET_FILE (or FLEXITI_CLIENT_SECRET)\n");
        return -1;
    }
    if (strlen(env) >= size) {
        fprintf(stderr, "FLEXITI_CLIENT_SECRET is too long\n");
        return -1;
    }
    strcpy(buf, env);
    return 0;
}

/* Whole file into a malloc'd, NUL-terminated buffer; NULL if missing or unreadable. */
static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *buf = malloc(MAX_SESSION + 1);
    size_t n = buf ? fread(buf, 1, MAX_SESSION, f) : 0;
    fclose(f);
    if (buf) buf[n] = '\0';
    return buf;
}

static void wipe(char *s) {
    if (s) memset(s, 0, strlen(s));
}

/* Write `data` to `path` atomically (temporary file + rename), readable by the owner only. */
static int save_private(const char *path, const char *data) {
    size_t len = strlen(data);
    size_t tmp_len = strlen(path) + 5;
    char *tmp = malloc(tmp_len);
    if (!tmp) return -1;
    snprintf(tmp, tmp_len, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, data, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) {
        fprintf(stderr, "cannot save the session to %s: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(tmp);
    return ok ? 0 : -1;
}

int main(int argc, char **argv) {
    const char *url = getenv("FLEXITI_API_URL");
    const char *client_id = getenv("FLEXITI_CLIENT_ID");
    const char *token_path = getenv("FLEXITI_TOKEN_PATH");
    const char *session_file = argc > 1 ? argv[1] : getenv("FLEXITI_SESSION_FILE");
    if (!session_file || !*session_file) session_file = "pos-session.json";
    if (!url || !*url || !client_id || !*client_id) {
        fprintf(stderr, "usage: %s [SESSION_FILE]\n  set FLEXITI_API_URL, FLEXITI_CLIENT_ID and "
                        "FLEXITI_CLIENT_SECRET_FILE (or FLEXITI_CLIENT_SECRET)\n", argv[0]);
        return 2;
    }
    char secret[MAX_SECRET];
    if (read_secret(secret, sizeof secret) != 0) return 2;

    printf("flexiti-auth %s, API %s\n", flx_version(), url);
    FlxClient *client = flx_client_new(url, client_id, secret);
    memset(secret, 0, sizeof secret); /* the client keeps its own copy */
    if (!client) {
        report("configuration");
        return 2;
    }
    int status = 1;
    char *purchase = NULL, *price = NULL, *session = NULL, *saved = NULL;

    /* A till must not hang: 10 s for the whole token request, one retry. */
    if (flx_client_set_option(client, "timeout_ms", "10000") != FLX_OK ||
        flx_client_set_option(client, "max_retries", "1") != FLX_OK ||
        (token_path && *token_path && flx_client_set_option(client, "token_path", token_path) != FLX_OK)) {
        report("configuration");
        status = 2;
        goto out;
    }

    /* 1. The token kept by the previous run: refreshing it avoids a new client_credentials grant. */
    saved = read_file(session_file);
    if (!saved) {
        printf("session: no %s yet, the purchase asks for a new token\n", session_file);
    } else if (flx_session_import(client, saved) == FLX_OK) {
        printf("session: restored from %s, the purchase refreshes it (a new one if refused)\n", session_file);
    } else {
        printf("session: %s not usable (%s), the purchase asks for a new token\n", session_file,
               flx_last_error_message());
    }

    /* 2. Purchase (or apply) flow: start with a full token lifetime. */
    purchase = flx_get_access_token(client, false);
    if (!purchase) {
        report("purchase");
        goto out;
    }
    printf("purchase: token with a full lifetime (use_cache=false): %.6s...\n", purchase);

    /* 3. Price calculator: the held token as long as it is valid, no request. */
    price = flx_get_access_token(client, true);
    if (!price) {
        report("price calculator");
        goto out;
    }
    printf("price calculator: cached token (use_cache=true): %.6s... (same as the purchase: %s)\n", price,
           strcmp(price, purchase) == 0 ? "yes" : "no");

    /* 4. Keep the token for the next run. */
    session = flx_session_export(client);
    if (!session) {
        report("session export");
        goto out;
    }
    if (save_private(session_file, session) != 0) goto out;
    printf("session: saved to %s (%zu bytes, mode 0600)\n", session_file, strlen(session));
    status = 0;

out:
    /* Tokens and sessions are credentials: wipe them before giving the memory back. */
    wipe(purchase);
    wipe(price);
    wipe(session);
    wipe(saved);
    flx_string_free(purchase);
    flx_string_free(price);
    flx_string_free(session);
    free(saved);
    flx_client_free(client);
    return status;
}
