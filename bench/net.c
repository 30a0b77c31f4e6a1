/* The library against the loopback nginx (bench/nginx.sh), from C.
 *
 *   together URL ROUNDS LABEL  64 threads asking at once for a token when none is held
 *                              (use_cache=true; warm connection, then a cold handle each round),
 *                              and for a refresh (use_cache=false, a token held): requests the
 *                              library sent per round, latency of every caller, and what the
 *                              server counted (LABEL nginx: stub_status; else the token server's
 *                              /_control/stats)
 *   sizes URL REPS             round trip (refresh, kept-alive) by access-token size
 *   rt URL CA REPS ID          round trip (refresh, kept-alive), ns per call
 *   probe URL N                N kept-alive requests between two marker writes, for strace
 */
#include "common.h"
#include "flexiti_auth.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>

#define THREADS 64

static FlxClient *client(const char *url, const char *ca, const char *path) {
    FlxClient *c = flx_client_new(url, "flexiti-test-client", "flexiti-test-secret");
    if (!c) DIE("flx_client_new: %s", flx_last_error_message());
    if (flx_client_set_option(c, "proxy", "none") != FLX_OK) DIE("proxy: %s", flx_last_error_message());
    if (ca && *ca && flx_client_set_option(c, "ca_file", ca) != FLX_OK) DIE("ca_file: %s", flx_last_error_message());
    if (path && flx_client_set_option(c, "token_path", path) != FLX_OK) DIE("token_path: %s", flx_last_error_message());
    return c;
}

static void get(FlxClient *c, bool use_cache) {
    char *p = flx_get_access_token(c, use_cache);
    if (!p) DIE("flx_get_access_token: %s: %s", flx_status_str(flx_last_error_code()), flx_last_error_message());
    flx_string_free(p);
}

/* A counter of flx_client_stats. */
static long library_stat(FlxClient *c, const char *key) {
    char *s = flx_client_stats(c);
    if (!s) DIE("flx_client_stats: %s", flx_last_error_message());
    const char *at = strstr(s, key);
    if (!at) DIE("stats without %s: %s", key, s);
    long v = strtol(at + strlen(key), NULL, 10);
    flx_string_free(s);
    return v;
}

/* HTTP attempts the library counted (flx_client_stats: requests.client_credentials + refresh_token). */
static long library_requests(FlxClient *c) {
    char *s = flx_client_stats(c);
    if (!s) DIE("flx_client_stats: %s", flx_last_error_message());
    long total = 0;
    const char *keys[] = {"\"client_credentials\":", "\"refresh_token\":"};
    for (int i = 0; i < 2; i++) {
        const char *at = strstr(s, keys[i]);
        if (!at) DIE("stats without %s: %s", keys[i], s);
        total += strtol(at + strlen(keys[i]), NULL, 10);
    }
    flx_string_free(s);
    return total;
}

/* Token requests the server has handled: nginx's stub_status (every request, this status request
 * included) or the token server's /_control/stats (token requests only). */
static long server_requests(const char *url, bool nginx) {
    int port = 0;
    if (sscanf(url, "http://127.0.0.1:%d", &port) != 1) DIE("need an http://127.0.0.1:PORT/ url, got %s", url);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) DIE("connect to the server failed");
    char req[128];
    snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", nginx ? "/_status" : "/_control/stats");
    if (write(fd, req, strlen(req)) < 0) DIE("write");
    char buf[4096];
    size_t got = 0;
    ssize_t n;
    while (got < sizeof buf - 1 && (n = read(fd, buf + got, sizeof buf - 1 - got)) > 0) got += (size_t)n;
    buf[got] = 0;
    close(fd);
    if (nginx) {
        const char *at = strstr(buf, "requests\n");
        long acc, handled, reqs;
        if (!at || sscanf(at + 9, " %ld %ld %ld", &acc, &handled, &reqs) != 3) DIE("bad stub_status answer");
        return reqs - 1; /* without this status request */
    }
    const char *at = strstr(buf, "\"token_requests\":");
    if (!at) DIE("bad /_control/stats answer");
    return strtol(at + strlen("\"token_requests\":"), NULL, 10);
}

struct together {
    FlxClient *c;
    bool use_cache;
    pthread_barrier_t *barrier;
    double us;
    uint64_t end;
};

static void *together_main(void *arg) {
    struct together *t = arg;
    pthread_barrier_wait(t->barrier);
    uint64_t t0 = now_ns();
    get(t->c, t->use_cache);
    t->end = now_ns();
    t->us = (double)(t->end - t0) / 1000.0;
    return NULL;
}

/* One round: THREADS threads released at once on `c`; latencies appended to lat. Returns the
 * drain time: from the first caller's return to the last's (all share one answer: how long it
 * takes to hand it to every waiter), in µs. */
static double together_round(FlxClient *c, bool use_cache, double *lat) {
    pthread_t th[THREADS];
    struct together ts[THREADS];
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, THREADS);
    for (int i = 0; i < THREADS; i++) {
        ts[i] = (struct together){c, use_cache, &barrier, 0, 0};
        if (pthread_create(&th[i], NULL, together_main, &ts[i]) != 0) DIE("pthread_create");
    }
    uint64_t first = UINT64_MAX, last = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        lat[i] = ts[i].us;
        if (ts[i].end < first) first = ts[i].end;
        if (ts[i].end > last) last = ts[i].end;
    }
    pthread_barrier_destroy(&barrier);
    return (double)(last - first) / 1000.0;
}

static void mode_together(const char *url, int rounds, const char *label, bool nginx) {
    if (rounds > 200) rounds = 200;
    double *lat = malloc(sizeof *lat * THREADS * (size_t)rounds);
    double *reqs = malloc(sizeof *reqs * (size_t)rounds);
    double *drain = malloc(sizeof *drain * (size_t)rounds);
    char id[96];
    const char *kinds[] = {"warm", "cold", "refresh"};
    for (int k = 0; k < 3; k++) {
        long server_before = server_requests(url, nginx);
        FlxClient *c = NULL;
        if (k != 1) {
            c = client(url, NULL, NULL);
            get(c, false); /* transport built, connection open */
        }
        long lib_total = 0, retries = 0;
        for (int r = 0; r < rounds; r++) {
            if (k == 1) c = client(url, NULL, NULL); /* nothing built, nothing connected */
            if (k == 0) flx_client_clear(c);         /* no token: everyone needs one */
            long before = library_requests(c), retries_before = library_stat(c, "\"retries\":");
            drain[r] = together_round(c, k != 2, lat + (size_t)r * THREADS);
            reqs[r] = (double)(library_requests(c) - before);
            lib_total += (long)reqs[r];
            retries += library_stat(c, "\"retries\":") - retries_before;
            if (k == 1) { flx_client_free(c); c = NULL; }
        }
        if (c) flx_client_free(c);
        snprintf(id, sizeof id, "c.together.%s.%s.requests", label, kinds[k]);
        emit(id, "requests", reqs, rounds);
        snprintf(id, sizeof id, "c.together.%s.%s.latency", label, kinds[k]);
        emit(id, "us", lat, THREADS * rounds);
        snprintf(id, sizeof id, "c.together.%s.%s.drain", label, kinds[k]);
        emit(id, "us", drain, rounds);
        snprintf(id, sizeof id, "c.together.%s.%s.library_requests", label, kinds[k]);
        emit1(id, "requests", (double)lib_total);
        snprintf(id, sizeof id, "c.together.%s.%s.retries", label, kinds[k]);
        emit1(id, "retries", (double)retries);
        /* minus the "before" status request (nginx) and the warm-up request of warm and refresh */
        long seen = server_requests(url, nginx) - server_before - (nginx ? 1 : 0) - (k != 1 ? 1 : 0);
        snprintf(id, sizeof id, "c.together.%s.%s.server_requests", label, kinds[k]);
        emit1(id, "requests", (double)seen);
    }
    free(lat);
    free(reqs);
    free(drain);
}

static double batch(FlxClient *c, long n) {
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) get(c, false);
    return (double)(now_ns() - t0) / (double)n;
}

static void mode_sizes(const char *url, int reps) {
    const int sizes[] = {40, 1024, 8192, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        char path[64], id[64];
        snprintf(path, sizeof path, "size/%d/oauth/token", sizes[i]);
        FlxClient *c = client(url, NULL, path);
        batch(c, 50);
        double s[64];
        for (int r = 0; r < reps && r < 64; r++) s[r] = batch(c, 400) / 1000.0;
        snprintf(id, sizeof id, "c.rt_size.%d", sizes[i]);
        emit(id, "us", s, reps < 64 ? reps : 64);
        flx_client_free(c);
    }
}

static void mode_rt(const char *url, const char *ca, int reps, const char *id) {
    FlxClient *c = client(url, ca, NULL);
    batch(c, 100);
    double s[64];
    for (int r = 0; r < reps && r < 64; r++) s[r] = batch(c, 1000) / 1000.0;
    emit(id, "us", s, reps < 64 ? reps : 64);
    flx_client_free(c);
}

static void mode_probe(const char *url, const char *ca, long n) {
    FlxClient *c = client(url, ca, NULL);
    for (int i = 0; i < 20; i++) get(c, false);
    /* markers strace can see: writes of these exact strings to stderr */
    if (write(2, "FLX-PROBE-BEGIN\n", 16) < 0) return;
    for (long i = 0; i < n; i++) get(c, false);
    if (write(2, "FLX-PROBE-END\n", 14) < 0) return;
    flx_client_free(c);
}

int main(int argc, char **argv) {
    if (argc < 3) DIE("usage: %s together|sizes|rt|probe URL ...", argv[0]);
    const char *mode = argv[1], *url = argv[2];
    if (!strcmp(mode, "together") && argc > 4) mode_together(url, atoi(argv[3]), argv[4], argc > 5 && !strcmp(argv[5], "nginx"));
    else if (!strcmp(mode, "sizes")) mode_sizes(url, argc > 3 ? atoi(argv[3]) : 7);
    else if (!strcmp(mode, "rt") && argc > 5) mode_rt(url, argv[3], atoi(argv[4]), argv[5]);
    else if (!strcmp(mode, "probe")) mode_probe(url, argc > 4 ? argv[4] : NULL, argc > 3 ? atol(argv[3]) : 100);
    else DIE("bad arguments");
    return 0;
}
