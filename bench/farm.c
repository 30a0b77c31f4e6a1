/* Web farm figures (BENCHMARKS.md, "Web farm"): the token store on Redis against the local token
 * server, through the C API. bench/farm.sh starts both servers and runs every mode.
 *
 *   farm requests API_URL STORE NODES CALLS EVERY MIN_AGE
 *        NODES processes (machines), each with its own handle, released together; each makes
 *        CALLS calls, every EVERY-th one use_cache=false (apply/purchase), the others cached, one
 *        per ms; refresh_min_age_secs=MIN_AGE. STORE is a token_store value or "none".
 *        Prints the token requests of all nodes together (from flx_client_stats).
 *   farm cached STORE REPS     ns per cached flx_get_access_token + flx_string_free, in-memory
 *                              handle against one with token_store=STORE, interleaved batches
 *   farm refresh API_URL STORE REPS
 *                              us per refresh (use_cache=false) without a store and with STORE:
 *                              lock + request + write against request alone
 */
#include "common.h"
#include "flexiti_auth.h"
#include <sys/wait.h>
#include <unistd.h>

static const char *ID = "flexiti-test-client";
static const char *SECRET = "flexiti-test-secret";

static FlxClient *handle(const char *url, const char *store) {
    FlxClient *c = flx_client_new(url, ID, SECRET);
    if (!c) DIE("flx_client_new: %s", flx_last_error_message());
    if (flx_client_set_option(c, "proxy", "none") != FLX_OK) DIE("proxy: %s", flx_last_error_message());
    if (store && strcmp(store, "none") != 0 && flx_client_set_option(c, "token_store", store) != FLX_OK)
        DIE("token_store: %s", flx_last_error_message());
    return c;
}

static long stat_field(FlxClient *c, const char *key) {
    char *s = flx_client_stats(c);
    if (!s) DIE("stats: %s", flx_last_error_message());
    const char *p = strstr(s, key);
    long v = p ? strtol(p + strlen(key) + 1, NULL, 10) : -1;
    flx_string_free(s);
    return v;
}

/* ---- token requests per 1,000 calls ------------------------------------------------------- */

static int mode_requests(int argc, char **argv) {
    if (argc < 8) DIE("farm requests API_URL STORE NODES CALLS EVERY MIN_AGE");
    const char *url = argv[2], *store = argv[3];
    int nodes = atoi(argv[4]), calls = atoi(argv[5]), every = atoi(argv[6]);
    const char *min_age = argv[7];
    int fds[2];
    if (pipe(fds) != 0) DIE("pipe");
    int go[2];
    if (pipe(go) != 0) DIE("pipe");
    for (int n = 0; n < nodes; n++) {
        pid_t pid = fork();
        if (pid < 0) DIE("fork");
        if (pid == 0) {
            close(go[1]);
            FlxClient *c = handle(url, store);
            if (flx_client_set_option(c, "refresh_min_age_secs", min_age) != FLX_OK) DIE("min age: %s", flx_last_error_message());
            char b;
            if (read(go[0], &b, 1) != 0) DIE("go pipe");  /* EOF: released together */
            int failed = 0;
            for (int i = 1; i <= calls; i++) {
                char *t = flx_get_access_token(c, i % every != 0);
                if (!t) failed++;
                flx_string_free(t);
                usleep(1000);
            }
            long req = stat_field(c, "\"client_credentials\"") + stat_field(c, "\"refresh_token\"");
            long errs = stat_field(c, "\"store_errors\"");
            char line[64];
            int len = snprintf(line, sizeof line, "%ld %ld %d\n", req, errs, failed);
            if (write(fds[1], line, (size_t)len) != len) DIE("write");
            flx_client_free(c);
            _exit(0);
        }
    }
    close(go[0]);
    usleep(300000);
    close(go[1]);
    close(fds[1]);
    long total = 0, errs = 0, failed = 0;
    FILE *f = fdopen(fds[0], "r");
    long r, e, fl;
    while (fscanf(f, "%ld %ld %ld", &r, &e, &fl) == 3) {
        total += r;
        errs += e;
        failed += fl;
    }
    for (int n = 0; n < nodes; n++) wait(NULL);
    if (failed) DIE("%ld calls failed", failed);
    printf("%ld %ld\n", total, errs);
    return 0;
}

/* ---- the cached path ------------------------------------------------------------------------ */

static int mode_cached(int argc, char **argv) {
    if (argc < 5) DIE("farm cached API_URL STORE REPS");
    const char *url = argv[2], *store = argv[3];
    int reps = atoi(argv[4]);
    FlxClient *mem = handle(url, "none");
    FlxClient *red = handle(url, store);
    /* The Redis handle gets its token through the store, as a farm node would. */
    char *t = flx_get_access_token(red, true);
    if (!t) DIE("first token: %s", flx_last_error_message());
    flx_string_free(t);
    char *s = flx_session_export(red);
    if (!s || flx_session_import(mem, s) != FLX_OK) DIE("session: %s", flx_last_error_message());
    flx_string_free(s);
    double *a = calloc((size_t)reps, sizeof *a), *b = calloc((size_t)reps, sizeof *b);
    const long n = 2000000;
    bench_cached_access(mem, n / 4);
    bench_cached_access(red, n / 4);
    for (int i = 0; i < reps; i++) {
        a[i] = bench_cached_access(mem, n);
        b[i] = bench_cached_access(red, n);
    }
    emit("farm.cached.memory", "ns", a, reps);
    emit("farm.cached.redis", "ns", b, reps);
    long errs = stat_field(red, "\"store_errors\"");
    if (errs != 0) DIE("store errors on the cached path: %ld", errs);
    flx_client_free(mem);
    flx_client_free(red);
    return 0;
}

/* ---- one refresh ---------------------------------------------------------------------------- */

static int mode_refresh(int argc, char **argv) {
    if (argc < 5) DIE("farm refresh API_URL STORE REPS");
    const char *url = argv[2], *store = argv[3];
    int reps = atoi(argv[4]);
    FlxClient *plain = handle(url, "none");
    FlxClient *red = handle(url, store);
    double *a = calloc((size_t)reps, sizeof *a), *b = calloc((size_t)reps, sizeof *b);
    for (int w = 0; w < 5; w++) { /* connections up, tokens held */
        flx_string_free(flx_get_access_token(plain, false));
        flx_string_free(flx_get_access_token(red, false));
    }
    for (int i = 0; i < reps; i++) {
        uint64_t t0 = now_ns();
        char *p = flx_get_access_token(plain, false);
        a[i] = (double)(now_ns() - t0) / 1000.0;
        if (!p) DIE("refresh: %s", flx_last_error_message());
        flx_string_free(p);
        t0 = now_ns();
        p = flx_get_access_token(red, false);
        b[i] = (double)(now_ns() - t0) / 1000.0;
        if (!p) DIE("farm refresh: %s", flx_last_error_message());
        flx_string_free(p);
    }
    emit("farm.refresh.plain", "us", a, reps);
    emit("farm.refresh.redis", "us", b, reps);
    if (stat_field(red, "\"store_errors\"") != 0) DIE("store errors during the refreshes");
    if (stat_field(red, "\"refresh_token\"") < reps) DIE("the farm handle did not refresh every time");
    flx_client_free(plain);
    flx_client_free(red);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) DIE("farm requests|cached|refresh ...");
    if (!strcmp(argv[1], "requests")) return mode_requests(argc, argv);
    if (!strcmp(argv[1], "cached")) return mode_cached(argc, argv);
    if (!strcmp(argv[1], "refresh")) return mode_refresh(argc, argv);
    DIE("unknown mode %s", argv[1]);
}
