/* The cached path from C: flx_get_access_token(c, true) and flx_get_token(c, true) on a valid
 * held token, beside a floor measured in the same run (pthread mutex lock + memcpy into malloc +
 * unlock + free: the least any "copy the token out of shared state" call can cost).
 *
 *   cached  [reps]   ns per call, floor / access / token, interleaved batches; the same access
 *                    call on a handle with a file token_store (its "changed?" check included);
 *                    and what a PHP-FPM request pays when its handle lives one request: new +
 *                    session import + cached access token + free
 *   sizes   [reps]   ns per call by access-token size (40 B .. 64 KiB)
 *   handles [reps]   1, 100, 10000 handles, created and freed `reps` times: create and free
 *                    cost, memory (first round), cached call round-robin over all of them
 *   threads [reps]   calls/s with 1, 2, 8, 64 threads: one shared handle, a handle per
 *                    thread, and the floor with one shared mutex
 */
#include "common.h"
#include "flexiti_auth.h"
#include <pthread.h>
#include <stdatomic.h>

static volatile char sink;
static const char *URL = "https://127.0.0.1:9/"; /* never contacted: the token is imported */

static FlxClient *client_with_token(size_t access_len) {
    FlxClient *c = flx_client_new(URL, "bench-client", "bench-secret");
    if (!c) DIE("flx_client_new: %s", flx_last_error_message());
    char *s = bench_session_json(access_len);
    if (flx_session_import(c, s) != FLX_OK) DIE("flx_session_import: %s", flx_last_error_message());
    free(s);
    return c;
}

/* ---- one batch of each kind: ns per call ------------------------------------------------ */

static pthread_mutex_t floor_mutex = PTHREAD_MUTEX_INITIALIZER;

static inline char *floor_copy(pthread_mutex_t *m, const char *src, size_t len) {
    pthread_mutex_lock(m);
    char *p = malloc(len + 1);
    memcpy(p, src, len);
    p[len] = 0;
    pthread_mutex_unlock(m);
    return p;
}

static double batch_floor(const char *src, size_t len, long n) {
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char *p = floor_copy(&floor_mutex, src, len);
        sink = p[0];
        free(p);
    }
    return (double)(now_ns() - t0) / (double)n;
}

static double batch_token(FlxClient *c, long n) {
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char *p = flx_get_token(c, true);
        sink = p[0];
        flx_string_free(p);
    }
    return (double)(now_ns() - t0) / (double)n;
}

/* A request of a PHP-FPM worker: the handle lives one request, the token comes from the session. */
static double batch_per_request(const char *session, long n) {
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        FlxClient *c = flx_client_new(URL, "bench-client", "bench-secret");
        if (flx_session_import(c, session) != FLX_OK) DIE("flx_session_import: %s", flx_last_error_message());
        char *p = flx_get_access_token(c, true);
        sink = p[0];
        flx_string_free(p);
        flx_client_free(c);
    }
    return (double)(now_ns() - t0) / (double)n;
}

static void check_cached(FlxClient *c) {
    char *p = flx_get_access_token(c, true);
    if (!p) DIE("cached flx_get_access_token failed: %s", flx_last_error_message());
    flx_string_free(p);
}

/* ---- modes ------------------------------------------------------------------------------- */

static void mode_cached(int reps) {
    FlxClient *c = client_with_token(40);
    check_cached(c);
    char *tok = flx_get_token(c, true), *acc = flx_get_access_token(c, true);
    size_t tok_len = strlen(tok), acc_len = strlen(acc);
    const long n = 1000000;
    double f_acc[64], f_tok[64], a[64], t[64];
    if (reps > 64) reps = 64;
    bench_cached_access(c, n / 4); batch_token(c, n / 4); batch_floor(acc, acc_len, n / 4); /* warm up */
    for (int r = 0; r < reps; r++) {
        /* rotate the order so no kind always runs first after the previous one */
        for (int k = 0; k < 4; k++) {
            switch ((k + r) % 4) {
            case 0: f_acc[r] = batch_floor(acc, acc_len, n); break;
            case 1: a[r] = bench_cached_access(c, n); break;
            case 2: f_tok[r] = batch_floor(tok, tok_len, n); break;
            case 3: t[r] = batch_token(c, n); break;
            }
        }
    }
    emit("c.cached.floor_access", "ns", f_acc, reps);
    emit("c.cached.access", "ns", a, reps);
    emit("c.cached.floor_token", "ns", f_tok, reps);
    emit("c.cached.token", "ns", t, reps);
    /* A handle sharing its token through a file store: the cached call also checks the store's
     * generation counter (one read of a shared mapping). */
    char dir[] = "/tmp/flx-bench-store-XXXXXX";
    if (!mkdtemp(dir)) DIE("mkdtemp failed");
    FlxClient *s = client_with_token(40);
    if (flx_client_set_option(s, "token_store", dir) != FLX_OK) DIE("token_store: %s", flx_last_error_message());
    check_cached(s);
    bench_cached_access(s, n / 4);
    for (int r = 0; r < reps; r++) {
        a[r] = bench_cached_access(s, n);
        f_acc[r] = bench_cached_access(c, n);
    }
    emit("c.cached.access_store", "ns", a, reps);
    emit("c.cached.access_no_store", "ns", f_acc, reps);
    flx_client_free(s);
    char cleanup[128];
    snprintf(cleanup, sizeof cleanup, "rm -rf '%s'", dir);
    if (system(cleanup) != 0) DIE("cannot remove %s", dir);
    char *session = bench_session_json(40);
    batch_per_request(session, 2000);
    for (int r = 0; r < reps; r++) t[r] = batch_per_request(session, 20000);
    emit("c.cached.per_request", "ns", t, reps);
    free(session);
    flx_string_free(tok);
    flx_string_free(acc);
    flx_client_free(c);
}

static void mode_sizes(int reps) {
    const size_t sizes[] = {40, 1024, 8192, 65536};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        FlxClient *c = client_with_token(sizes[i]);
        check_cached(c);
        long n = sizes[i] >= 65536 ? 20000 : sizes[i] >= 8192 ? 100000 : 500000;
        double a[64], t[64], f[64];
        char *acc = flx_get_access_token(c, true);
        bench_cached_access(c, n / 10);
        for (int r = 0; r < reps && r < 64; r++) {
            a[r] = bench_cached_access(c, n);
            t[r] = batch_token(c, n);
            f[r] = batch_floor(acc, sizes[i], n);
        }
        char id[64];
        snprintf(id, sizeof id, "c.size.%zu.access", sizes[i]); emit(id, "ns", a, reps);
        snprintf(id, sizeof id, "c.size.%zu.token", sizes[i]); emit(id, "ns", t, reps);
        snprintf(id, sizeof id, "c.size.%zu.floor", sizes[i]); emit(id, "ns", f, reps);
        flx_string_free(acc);
        flx_client_free(c);
    }
}

static void mode_handles(int reps) {
    const int counts[] = {1, 100, 10000};
    char *session = bench_session_json(40);
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        int n = counts[k];
        FlxClient **cs = malloc(sizeof *cs * (size_t)n);
        double create[64], frees[64], calls_ns[64], rss_per = 0;
        if (reps > 64) reps = 64;
        /* each round: create n handles (+ import), cached calls round-robin over them, free them */
        for (int r = 0; r < reps; r++) {
            long rss0 = rss_kib();
            uint64_t t0 = now_ns();
            for (int i = 0; i < n; i++) {
                cs[i] = flx_client_new(URL, "bench-client", "bench-secret");
                if (!cs[i] || flx_session_import(cs[i], session) != FLX_OK) DIE("client %d: %s", i, flx_last_error_message());
            }
            create[r] = (double)(now_ns() - t0) / 1000.0 / n;
            if (r == 0) rss_per = (double)(rss_kib() - rss0) / n; /* first round: later ones reuse freed memory */
            const long calls = 1000000;
            uint64_t t1 = now_ns();
            for (long i = 0; i < calls; i++) {
                char *p = flx_get_access_token(cs[i % n], true);
                sink = p[0];
                flx_string_free(p);
            }
            calls_ns[r] = (double)(now_ns() - t1) / (double)calls;
            uint64_t t2 = now_ns();
            for (int i = 0; i < n; i++) flx_client_free(cs[i]);
            frees[r] = (double)(now_ns() - t2) / 1000.0 / n;
        }
        char id[64];
        snprintf(id, sizeof id, "c.handles.%d.access", n); emit(id, "ns", calls_ns, reps);
        snprintf(id, sizeof id, "c.handles.%d.create", n); emit(id, "us", create, reps);
        snprintf(id, sizeof id, "c.handles.%d.free", n); emit(id, "us", frees, reps);
        snprintf(id, sizeof id, "c.handles.%d.rss_per_handle", n); emit1(id, "KiB", rss_per);
        free(cs);
    }
    free(session);
}

/* ---- threads ----------------------------------------------------------------------------- */

enum kind { SHARED_HANDLE, OWN_HANDLE, FLOOR_SHARED_MUTEX };

struct worker {
    _Alignas(64) pthread_t th; /* one cache line each: `calls` is written at the end only, but keep them apart */
    enum kind kind;
    FlxClient *c;
    const char *src;
    size_t len;
    long calls;
};

static atomic_int go, stop;

static void *worker_main(void *arg) {
    struct worker *w = arg;
    while (!atomic_load_explicit(&go, memory_order_acquire)) ;
    long calls = 0;
    volatile char local_sink = 0; /* not the global sink: a line every thread writes would not scale */
    (void)local_sink;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        for (int i = 0; i < 64; i++) {
            char *p = w->kind == FLOOR_SHARED_MUTEX ? floor_copy(&floor_mutex, w->src, w->len) : flx_get_access_token(w->c, true);
            local_sink = p[0];
            if (w->kind == FLOOR_SHARED_MUTEX) free(p); else flx_string_free(p);
        }
        calls += 64;
    }
    w->calls = calls;
    return NULL;
}

static double run_threads(enum kind kind, int nthreads, FlxClient *shared, FlxClient **own, const char *src, size_t len, double seconds) {
    struct worker *ws = calloc((size_t)nthreads, sizeof *ws);
    atomic_store(&go, 0);
    atomic_store(&stop, 0);
    for (int i = 0; i < nthreads; i++) {
        ws[i].kind = kind;
        ws[i].c = kind == OWN_HANDLE ? own[i] : shared;
        ws[i].src = src;
        ws[i].len = len;
        if (pthread_create(&ws[i].th, NULL, worker_main, &ws[i]) != 0) DIE("pthread_create");
    }
    uint64_t t0 = now_ns();
    atomic_store_explicit(&go, 1, memory_order_release);
    struct timespec d = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    nanosleep(&d, NULL);
    atomic_store(&stop, 1);
    long total = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(ws[i].th, NULL);
        total += ws[i].calls;
    }
    double elapsed = (double)(now_ns() - t0) / 1e9;
    free(ws);
    return (double)total / elapsed / 1e6; /* million calls per second */
}

static void mode_threads(int reps) {
    const int counts[] = {1, 2, 8, 64};
    FlxClient *shared = client_with_token(40);
    FlxClient *own[64];
    for (int i = 0; i < 64; i++) own[i] = client_with_token(40);
    char *acc = flx_get_access_token(shared, true);
    size_t len = strlen(acc);
    const char *names[] = {"shared", "own", "floor"};
    for (size_t k = 0; k < sizeof counts / sizeof *counts; k++) {
        double s[3][64];
        for (int r = 0; r < reps && r < 64; r++)
            for (int kind = 0; kind < 3; kind++)
                s[kind][r] = run_threads((enum kind)kind, counts[k], shared, own, acc, len, 0.2);
        for (int kind = 0; kind < 3; kind++) {
            char id[64];
            snprintf(id, sizeof id, "c.threads.%s.%d", names[kind], counts[k]);
            emit(id, "Mcalls/s", s[kind], reps);
        }
    }
    flx_string_free(acc);
    for (int i = 0; i < 64; i++) flx_client_free(own[i]);
    flx_client_free(shared);
}

int main(int argc, char **argv) {
    if (argc < 2) DIE("usage: %s cached|sizes|handles|threads [reps]", argv[0]);
    int reps = argc > 2 ? atoi(argv[2]) : 11;
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    if (!strcmp(argv[1], "cached")) mode_cached(reps);
    else if (!strcmp(argv[1], "sizes")) mode_sizes(reps);
    else if (!strcmp(argv[1], "handles")) mode_handles(reps);
    else if (!strcmp(argv[1], "threads")) mode_threads(reps);
    else DIE("unknown mode %s", argv[1]);
    return 0;
}
