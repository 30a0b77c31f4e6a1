/* Soundness of the C surface (issue 15), in strict C99 against include/flexiti_auth.h and the real
 * .so. `make test-c` runs it natively and under valgrind.
 *
 *   handles    a freed handle stays refused after its memory or slot is reused (64 tenants' worth),
 *              a double free is a no-op with FLX_ERR_INVALID_ARGUMENT, bogus pointers (even one
 *              64 bytes before an unmapped page) are refused without being read, a handle freed
 *              while another thread uses it */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

int main(void) {
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the token server\n");
        return 2;
    }
    test_stale_handles_never_reach_another_tenant();
    test_churn_keeps_old_handles_refused();
    test_bogus_pointers_are_never_read();
    test_free_while_another_thread_uses_the_handle();
    server_stop(&srv);
    printf("C soundness suite: %d passed, %d failed\n", g_checks - g_failures, g_failures);
    return g_failures == 0 ? 0 : 1;
}
