/* One process of the mixed-language token store tests (bindings/python/tests/test_token_store.py):
 * a real C program on the library's C ABI.
 *
 *   store_worker URL CALLS USE_CACHE GO_FILE [NAME=VALUE ...]
 *
 * Creates a handle (proxy none, then each option), prints READY, waits until GO_FILE exists
 * (GO_FILE "-": no wait), makes CALLS calls of flx_get_access_token(c, USE_CACHE) printing
 * "TOKEN <access token>" or "ERROR <code> <message>" for each, then "STATS <flx_client_stats>". */
#define _POSIX_C_SOURCE 200809L
#include "flexiti_auth.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s URL CALLS USE_CACHE GO_FILE [NAME=VALUE ...]\n", argv[0]);
        return 2;
    }
    const char *id = getenv("FLX_CLIENT_ID"), *secret = getenv("FLX_CLIENT_SECRET");
    FlxClient *c = flx_client_new(argv[1], id ? id : "flexiti-test-client", secret ? secret : "flexiti-test-secret");
    if (!c) {
        fprintf(stderr, "flx_client_new: %s\n", flx_last_error_message());
        return 1;
    }
    if (flx_client_set_option(c, "proxy", "none") != FLX_OK) return 1;
    for (int i = 5; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) return 2;
        *eq = '\0';
        if (flx_client_set_option(c, argv[i], eq + 1) != FLX_OK) {
            printf("OPTION_ERROR %d %s\n", (int)flx_last_error_code(), flx_last_error_message());
            flx_client_free(c);
            return 0;
        }
    }
    printf("READY\n");
    fflush(stdout);
    if (strcmp(argv[4], "-") != 0) {
        struct timespec ms = {0, 1000000};
        while (access(argv[4], F_OK) != 0) nanosleep(&ms, NULL);
    }
    long calls = atol(argv[2]);
    bool use_cache = atoi(argv[3]) != 0;
    for (long i = 0; i < calls; i++) {
        char *t = flx_get_access_token(c, use_cache);
        if (t) {
            printf("TOKEN %s\n", t);
            flx_string_free(t);
        } else {
            printf("ERROR %d %s\n", (int)flx_last_error_code(), flx_last_error_message());
        }
    }
    char *stats = flx_client_stats(c);
    printf("STATS %s\n", stats ? stats : "null");
    flx_string_free(stats);
    flx_client_free(c);
    return 0;
}
