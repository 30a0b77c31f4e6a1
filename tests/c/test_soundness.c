/* Soundness of the C surface (issue 15), in strict C99 against include/flexiti_auth.h and the real
 * .so. `make test-c` runs it natively and under valgrind.
 *
 *   handles    a freed handle stays refused after its memory or slot is reused (64 tenants' worth),
 *              a double free is a no-op with FLX_ERR_INVALID_ARGUMENT, bogus pointers (even one
 *              64 bytes before an unmapped page) are refused without being read, a handle freed
 *              while another thread uses it
 *   callbacks  (item 1) a log callback that calls flx_get_token(c, true/false) and
 *              flx_client_stats on its own handle, and one that has another thread make a request
 *              on the handle, neither blocks; (item 6) fork() from inside a log callback leaves a
 *              child that can replace the callback
 *   ca_file    (item 4) a FIFO with no writer as ca_file is refused at once, and while it is being
 *              set, stats on the handle and fork() from another thread go on
 *   sizes      (item 7) a valid 1 MB session that would expand to many MB of values is refused
 *              under a tight address-space limit, without aborting the process
 *   flight     (item 7) a caller waiting on another thread's request waits at most timeout_ms */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "flexiti_auth.h"
#include "harness.h"

#define ID "flexiti-test-client"
#define SECRET "flexiti-test-secret"

static token_server srv;

static int failed_with(int32_t code, const char *part) {
    const char *m = flx_last_error_message();
    int ok = m != NULL && flx_last_error_code() == code && strlen(m) > 0 && strstr(m, part) != NULL;
    if (!ok) fprintf(stderr, "  expected %s with \"%s\", got %d: %s\n", flx_status_str(code), part, flx_last_error_code(), m ? m : "(NULL)");
    return ok;
}

static void control(const char *method, const char *path, const char *body) {
    free(server_control(&srv, method, path, body));
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A test that deadlocks is a failure with a name, not a hung `make test`. */
static const char *g_watchdog_test = "";
static void on_alarm(int sig) {
    (void)sig;
    static const char prefix[] = "test_soundness: DEADLOCK (watchdog expired) in ";
    if (write(2, prefix, sizeof prefix - 1) < 0 || write(2, g_watchdog_test, strlen(g_watchdog_test)) < 0 || write(2, "\n", 1) < 0) _exit(3);
    _exit(3);
}
static void watchdog(const char *test, unsigned secs) {
    g_watchdog_test = test;
    signal(SIGALRM, on_alarm);
    alarm(secs);
}

static FlxClient *new_client(const char *secret) {
    FlxClient *c = flx_client_new(srv.url, ID, secret);
    CHECK(c != NULL);
    if (c) CHECK(flx_client_set_option(c, "proxy", "none") == FLX_OK);
    return c;
}

/* A session holding access token `access` (valid for 20 minutes from now). */
static void import_token(FlxClient *c, const char *access) {
    char session[512];
    snprintf(session, sizeof session,
             "{\"token\":{\"token_type\":\"bearer\",\"access_token\":\"%s\",\"expires_in\":1200,\"refresh_token\":\"r-%s\"},"
             "\"created_at\":%lld,\"expires_in\":1200}",
             access, access, (long long)time(NULL));
    CHECK(flx_session_import(c, session) == FLX_OK);
}

/* Every entry point refuses `stale` with FLX_ERR_INVALID_ARGUMENT and returns no token. */
static void check_refused(FlxClient *stale) {
    char *t = flx_get_access_token(stale, true);
    CHECK(t == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    flx_string_free(t);
    t = flx_get_token(stale, true);
    CHECK(t == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    flx_string_free(t);
    t = flx_get_token(stale, false);
    CHECK(t == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    flx_string_free(t);
    t = flx_session_export(stale);
    CHECK(t == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    flx_string_free(t);
    t = flx_client_stats(stale);
    CHECK(t == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    flx_string_free(t);
    CHECK(flx_client_set_option(stale, "timeout_ms", "100") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_clear(stale) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_session_import(stale, "{}") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_log_callback(stale, NULL, NULL) == FLX_ERR_INVALID_ARGUMENT);
    flx_client_free(stale);
    CHECK(failed_with(FLX_ERR_INVALID_ARGUMENT, "double free"));
}

#define TENANTS 64

/* The review's program: 64 clients of tenant A freed, 64 of tenant B created; no stale A handle
 * may pass as live, return a B token, or free a B client. */
static void test_stale_handles_never_reach_another_tenant(void) {
    FlxClient *a[TENANTS], *b[TENANTS];
    char name[64];
    for (int i = 0; i < TENANTS; i++) {
        a[i] = new_client(SECRET);
        snprintf(name, sizeof name, "tenantA-%d", i);
        import_token(a[i], name);
    }
    for (int i = 0; i < TENANTS; i++) flx_client_free(a[i]);
    for (int i = 0; i < TENANTS; i++) {
        b[i] = new_client(SECRET);
        snprintf(name, sizeof name, "tenantB-%d", i);
        import_token(b[i], name);
    }
    int passed_as_live = 0;
    for (int i = 0; i < TENANTS; i++) {
        char *t = flx_get_access_token(a[i], true);
        if (t != NULL) {
            passed_as_live++;
            fprintf(stderr, "  stale tenant-A handle %d returned %s\n", i, t);
        }
        flx_string_free(t);
        check_refused(a[i]);
    }
    CHECK(passed_as_live == 0);
    /* Every B client is still live and still holds its own token. */
    for (int i = 0; i < TENANTS; i++) {
        snprintf(name, sizeof name, "tenantB-%d", i);
        char *t = flx_get_access_token(b[i], true);
        CHECK(t != NULL && strcmp(t, name) == 0);
        flx_string_free(t);
        flx_client_free(b[i]);
        CHECK(flx_last_error_code() == FLX_OK);
        /* Double free: a no-op with FLX_ERR_INVALID_ARGUMENT. */
        flx_client_free(b[i]);
        CHECK(failed_with(FLX_ERR_INVALID_ARGUMENT, "double free"));
    }
}

/* One handle created and freed in a loop (its slot is reused many times over): every earlier
 * value stays refused. */
static void test_churn_keeps_old_handles_refused(void) {
    enum { N = 3000 };
    static FlxClient *old[N];
    for (int i = 0; i < N; i++) {
        old[i] = flx_client_new(srv.url, ID, SECRET);
        CHECK(old[i] != NULL);
        flx_client_free(old[i]);
    }
    FlxClient *live = new_client(SECRET);
    import_token(live, "live-token");
    int refused = 0;
    for (int i = 0; i < N; i++) {
        CHECK(old[i] != live);
        char *t = flx_get_access_token(old[i], true);
        refused += t == NULL && flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT;
        flx_string_free(t);
        flx_client_free(old[i]);
        CHECK(flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT);
    }
    CHECK(refused == N);
    char *t = flx_get_access_token(live, true);
    CHECK(t != NULL && strcmp(t, "live-token") == 0);
    flx_string_free(t);
    flx_client_free(live);
}

/* Values that never came from flx_client_new: refused without reading what they point at. */
static void test_bogus_pointers_are_never_read(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(map != MAP_FAILED);
    if (map == MAP_FAILED) return;
    CHECK(munmap(map + page, (size_t)page) == 0);
    memset(map, 0, (size_t)page);
    /* 64 bytes before an unmapped page: reading a 904-byte struct there would fault. */
    FlxClient *edge = (FlxClient *)(void *)(map + page - 64);
    check_refused(edge);
    /* The same, at the last byte and a misaligned address. */
    check_refused((FlxClient *)(void *)(map + page - 1));
    /* A live handle's memory (if it were memory) copied elsewhere: stack bytes, small integers,
     * all ones. */
    uint64_t stack[128];
    memset(stack, 0xff, sizeof stack);
    check_refused((FlxClient *)(void *)stack);
    check_refused((FlxClient *)(uintptr_t)1);
    check_refused((FlxClient *)(uintptr_t)4096);
    check_refused((FlxClient *)UINTPTR_MAX);
    munmap(map, (size_t)page);
}

struct user_thread {
    FlxClient *c;
    int ok, refused, other;
};

static void *use_until_refused(void *arg) {
    struct user_thread *u = arg;
    for (int i = 0; i < 2000000; i++) {
        char *t = flx_get_access_token(u->c, true);
        if (t) {
            u->ok += strcmp(t, "shared-token") == 0;
            flx_string_free(t);
        } else if (flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT) {
            u->refused++;
            break;
        } else {
            u->other++;
        }
    }
    return NULL;
}

/* Freeing a handle while another thread is inside a call on it: that call finishes on a client
 * that is still alive, and the thread's next call is refused. */
static void test_free_while_another_thread_uses_the_handle(void) {
    FlxClient *c = new_client(SECRET);
    import_token(c, "shared-token");
    struct user_thread u = {c, 0, 0, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, use_until_refused, &u) == 0);
    struct timespec ms = {0, 20 * 1000 * 1000};
    nanosleep(&ms, NULL);
    flx_client_free(c);
    CHECK(flx_last_error_code() == FLX_OK);
    pthread_join(t, NULL);
    CHECK(u.refused == 1 && u.other == 0);
}

/* ---- item 1: a log callback that calls back into the library on its own handle ---------- */

static struct {
    FlxClient *c;
    int lines, nested_cached_ok, nested_refresh_refused, nested_stats_ok, nested_other;
    char published[256]; /* what a nested cached call saw at the "decision=" info line */
    int spawn_done;
    int other_thread_ok;
} cb;

static void *other_thread_request(void *arg) {
    (void)arg;
    char *t = flx_get_access_token(cb.c, false);
    cb.other_thread_ok = t != NULL;
    flx_string_free(t);
    return NULL;
}

static void reentrant_cb(int32_t level, const char *line, void *user) {
    (void)level;
    (void)user;
    cb.lines++;
    char *cached = flx_get_access_token(cb.c, true);
    if (cached) {
        cb.nested_cached_ok++;
        if (strstr(line, "decision=") && !strstr(line, "decision=cached")) snprintf(cb.published, sizeof cb.published, "%s", cached);
        flx_string_free(cached);
    }
    char *fresh = flx_get_token(cb.c, false);
    if (fresh == NULL && flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT && strstr(flx_last_error_message(), "own log callback")) {
        cb.nested_refresh_refused++;
    } else {
        cb.nested_other++;
    }
    flx_string_free(fresh);
    char *stats = flx_client_stats(cb.c);
    cb.nested_stats_ok += stats != NULL;
    flx_string_free(stats);
}

static void test_log_callback_may_call_back_into_its_handle(void) {
    watchdog("test_log_callback_may_call_back_into_its_handle", 30);
    control("POST", "reset", "{}");
    memset(&cb, 0, sizeof cb);
    cb.c = new_client(SECRET);
    CHECK(flx_client_set_log_callback(cb.c, reentrant_cb, NULL) == FLX_OK);
    CHECK(flx_client_set_option(cb.c, "log_level", "debug") == FLX_OK);
    /* A new token, then a refresh: every line of each goes to the callback, which calls back. */
    char *first = flx_get_access_token(cb.c, false);
    CHECK(first != NULL);
    CHECK(first && strcmp(cb.published, first) == 0); /* published before its info line went out */
    char *second = flx_get_access_token(cb.c, false);
    CHECK(second != NULL && first && strcmp(second, first) != 0);
    CHECK(second && strcmp(cb.published, second) == 0);
    CHECK(cb.lines >= 4); /* attempt + decision lines of each request, at debug */
    CHECK(cb.nested_refresh_refused == cb.lines && cb.nested_other == 0);
    CHECK(cb.nested_stats_ok == cb.lines);
    /* No nested call made a request: one client_credentials, one refresh. */
    CHECK(server_request_count(&srv) == 2);
    /* A cached call from the callback at the debug "decision=cached" line works too. */
    int before = cb.lines;
    char *cached = flx_get_access_token(cb.c, true);
    CHECK(cached && second && strcmp(cached, second) == 0);
    CHECK(cb.lines == before + 1); /* the nested calls' own lines do not recurse into the callback */
    flx_string_free(first);
    flx_string_free(second);
    flx_string_free(cached);
    CHECK(flx_client_set_log_callback(cb.c, NULL, NULL) == FLX_OK);
    flx_client_free(cb.c);
    alarm(0);
}

static void spawning_cb(int32_t level, const char *line, void *user) {
    (void)level;
    (void)line;
    (void)user;
    if (cb.spawn_done) return;
    cb.spawn_done = 1;
    /* Another thread's non-cached call on this handle while this thread is in the callback. */
    pthread_t t;
    if (pthread_create(&t, NULL, other_thread_request, NULL) == 0) pthread_join(t, NULL);
}

static void test_other_threads_are_not_held_up_by_a_callback(void) {
    watchdog("test_other_threads_are_not_held_up_by_a_callback", 30);
    control("POST", "reset", "{}");
    memset(&cb, 0, sizeof cb);
    cb.c = new_client(SECRET);
    CHECK(flx_client_set_log_callback(cb.c, spawning_cb, NULL) == FLX_OK);
    CHECK(flx_client_set_option(cb.c, "log_level", "info") == FLX_OK);
    char *t = flx_get_access_token(cb.c, false);
    CHECK(t != NULL);
    CHECK(cb.spawn_done && cb.other_thread_ok);
    CHECK(server_request_count(&srv) == 2); /* the callback's thread made its own refresh */
    flx_string_free(t);
    flx_client_free(cb.c);
    alarm(0);
}

/* ---- item 6: fork() from inside a log callback ------------------------------------------ */

static int g_forked_child;

static void forking_cb(int32_t level, const char *line, void *user) {
    (void)level;
    (void)line;
    int *pid = user;
    if (*pid != 0) return;
    pid_t p = fork();
    if (p == 0) {
        g_forked_child = 1;
        *pid = -1;
    } else {
        *pid = (int)p;
    }
}

static void test_fork_from_inside_a_log_callback(void) {
    watchdog("test_fork_from_inside_a_log_callback", 30);
    control("POST", "reset", "{}");
    FlxClient *c = new_client(SECRET);
    int pid = 0;
    CHECK(flx_client_set_log_callback(c, forking_cb, &pid) == FLX_OK);
    CHECK(flx_client_set_option(c, "log_level", "info") == FLX_OK);
    char *t = flx_get_access_token(c, false);
    if (g_forked_child) {
        /* The child: it returned from the callback and from the call; replacing the callback must
         * not wait for a callback that no thread of this process is running. */
        alarm(5);
        int ok = t != NULL;
        ok &= flx_client_set_log_callback(c, NULL, NULL) == FLX_OK;
        ok &= flx_client_set_log_callback(c, forking_cb, &pid) == FLX_OK;
        ok &= flx_client_set_log_callback(c, NULL, NULL) == FLX_OK;
        flx_string_free(t);
        flx_client_free(c);
        _exit(ok ? 0 : 1);
    }
    CHECK(t != NULL && pid > 0);
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) fprintf(stderr, "  child status %d\n", status);
    CHECK(flx_client_set_log_callback(c, NULL, NULL) == FLX_OK);
    flx_string_free(t);
    flx_client_free(c);
    alarm(0);
}

/* ---- item 7: waiting on another thread's request is bounded ----------------------------- */

static void *hung_request(void *arg) {
    char *t = flx_get_access_token((FlxClient *)arg, false);
    flx_string_free(t);
    return NULL;
}

static void test_waiting_on_another_threads_request_is_bounded(void) {
    watchdog("test_waiting_on_another_threads_request_is_bounded", 30);
    control("POST", "reset", "{}");
    FlxClient *c = new_client(SECRET);
    /* The owner's request: 3 attempts of 600 ms each against a server that never answers
     * (about 2.1 s with backoff). */
    CHECK(flx_client_set_option(c, "timeout_ms", "600") == FLX_OK);
    CHECK(flx_client_set_option(c, "max_retries", "2") == FLX_OK);
    control("POST", "faults", "[{\"hang\":true,\"hang_ms\":5000,\"count\":3}]");
    pthread_t owner;
    CHECK(pthread_create(&owner, NULL, hung_request, c) == 0);
    struct timespec ms = {0, 150 * 1000 * 1000};
    nanosleep(&ms, NULL);
    double t0 = now_ms();
    char *t = flx_get_access_token(c, false);
    double waited = now_ms() - t0;
    CHECK(t == NULL && failed_with(FLX_ERR_NETWORK, "timeout_ms"));
    CHECK(waited >= 500 && waited < 1500);
    if (waited >= 1500) fprintf(stderr, "  waited %.0f ms for another thread's request\n", waited);
    pthread_join(owner, NULL);
    flx_client_free(c);
    alarm(0);
}

/* ---- item 4: ca_file is read before any lock is taken --------------------------------- */

struct set_ca {
    FlxClient *c;
    const char *path;
    int rc;
    volatile int done;
};

static void *set_ca_file(void *arg) {
    struct set_ca *a = arg;
    a->rc = flx_client_set_option(a->c, "ca_file", a->path);
    a->done = 1;
    return NULL;
}

static void test_ca_file_never_blocks_with_a_lock_held(void) {
    watchdog("test_ca_file_never_blocks_with_a_lock_held", 20);
    char fifo[64];
    snprintf(fifo, sizeof fifo, "/tmp/flx-soundness-fifo-%ld", (long)getpid());
    unlink(fifo);
    CHECK(mkfifo(fifo, 0600) == 0);
    FlxClient *c = new_client(SECRET);
    import_token(c, "held-token");
    struct set_ca a = {c, fifo, -1, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, set_ca_file, &a) == 0);
    struct timespec ms = {0, 100 * 1000 * 1000};
    nanosleep(&ms, NULL);
    /* Whatever the option call is doing, the handle's state lock is free: stats answer, a cached
     * call answers, and fork() (whose handler takes every client's state lock) completes. */
    char *stats = flx_client_stats(c);
    CHECK(stats != NULL);
    flx_string_free(stats);
    char *tok = flx_get_access_token(c, true);
    CHECK(tok != NULL && strcmp(tok, "held-token") == 0);
    flx_string_free(tok);
    pid_t pid = fork();
    if (pid == 0) {
        /* The child can use the handle too (its lock was released after fork). */
        char *s = flx_client_stats(c);
        int ok = s != NULL;
        flx_string_free(s);
        flx_client_free(c);
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* And the FIFO itself is refused at once, never read. */
    for (int i = 0; i < 50 && !a.done; i++) nanosleep(&ms, NULL);
    CHECK(a.done);
    if (a.done) {
        pthread_join(t, NULL);
        CHECK(a.rc == FLX_ERR_INVALID_ARGUMENT);
    }
    CHECK(flx_client_set_option(c, "ca_file", fifo) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a regular file"));
    CHECK(flx_client_set_option(c, "ca_file", "/dev/null") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a regular file"));
    CHECK(flx_client_set_option(c, "ca_file", "/tmp") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "ca_file"));
    unlink(fifo);
    flx_client_free(c);
    alarm(0);
}

/* ---- item 7: caps on what parsing builds ------------------------------------------------- */

static long vm_bytes(void) {
    long pages = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld", &pages) != 1) pages = -1;
    fclose(f);
    return pages < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

static void test_a_node_heavy_session_is_refused_under_a_tight_address_space(void) {
    const char *preload = getenv("LD_PRELOAD");
    if (preload && strstr(preload, "vgpreload")) return; /* valgrind needs address space of its own */
    watchdog("test_a_node_heavy_session_is_refused_under_a_tight_address_space", 30);
    /* {"token":{"access_token":"…","expires_in":1200,"x":[[],[],…]},"created_at":N,"expires_in":1200} */
    enum { N = 300000 };
    size_t cap = (size_t)N * 3 + 512;
    char *session = malloc(cap);
    CHECK(session != NULL);
    if (!session) return;
    size_t n = (size_t)snprintf(session, cap, "{\"token\":{\"access_token\":\"node-heavy-token\",\"expires_in\":1200,\"x\":[");
    for (int i = 0; i < N; i++) {
        memcpy(session + n, i ? ",[]" : "[]", i ? 3 : 2);
        n += i ? 3 : 2;
    }
    n += (size_t)snprintf(session + n, cap - n, "]},\"created_at\":%lld,\"expires_in\":1200}", (long long)time(NULL));
    CHECK(n < 1024 * 1024);
    FlxClient *c = new_client(SECRET);
    pid_t pid = fork();
    if (pid == 0) {
        /* 12 MiB of address space beyond what the process has: parsing the session into values
         * would need more (the outer array alone grows to 16 MiB). */
        struct rlimit lim;
        long vm = vm_bytes();
        lim.rlim_cur = lim.rlim_max = (rlim_t)vm + 12 * 1024 * 1024;
        if (vm < 0 || setrlimit(RLIMIT_AS, &lim) != 0) _exit(4);
        int rc = flx_session_import(c, session);
        int ok = rc == FLX_ERR_SESSION && strstr(flx_last_error_message(), "JSON values") != NULL;
        _exit(ok ? 0 : 1);
    }
    int status = -1;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        fprintf(stderr, "  child: %s %d\n", WIFSIGNALED(status) ? "killed by signal" : "exit status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    /* Without a limit, in this process: the same answer, and the handle is as it was. */
    CHECK(flx_session_import(c, session) == FLX_ERR_SESSION);
    free(session);
    flx_client_free(c);
    alarm(0);
}

/* With arguments, only the tests named (e.g. to show one failing against an older library). */
static int g_argc;
static char **g_argv;
static int selected(const char *name) {
    if (g_argc < 2) return 1;
    for (int i = 1; i < g_argc; i++)
        if (strcmp(g_argv[i], name) == 0) return 1;
    return 0;
}
#define RUN(test) do { if (selected(#test)) test(); } while (0)

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the token server\n");
        return 2;
    }
    RUN(test_stale_handles_never_reach_another_tenant);
    RUN(test_churn_keeps_old_handles_refused);
    RUN(test_bogus_pointers_are_never_read);
    RUN(test_free_while_another_thread_uses_the_handle);
    RUN(test_log_callback_may_call_back_into_its_handle);
    RUN(test_other_threads_are_not_held_up_by_a_callback);
    RUN(test_fork_from_inside_a_log_callback);
    RUN(test_waiting_on_another_threads_request_is_bounded);
    RUN(test_ca_file_never_blocks_with_a_lock_held);
    RUN(test_a_node_heavy_session_is_refused_under_a_tight_address_space);
    server_stop(&srv);
    printf("C soundness suite: %d passed, %d failed\n", g_checks - g_failures, g_failures);
    return g_failures == 0 ? 0 : 1;
}
