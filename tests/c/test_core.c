/* The C ABI, driven from strict C99 against include/flexiti_auth.h and the real .so, talking to
 * the local token server over loopback. Run under valgrind by `make test` (no error, no leak). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "flexiti_auth.h"
#include "harness.h"

#define ID "flexiti-test-client"
#define SECRET "flexiti-test-secret"

static token_server srv;

static FlxClient *new_client(void) {
    FlxClient *c = flx_client_new(srv.url, ID, SECRET);
    CHECK(c != NULL);
    CHECK(flx_client_set_option(c, "proxy", "none") == FLX_OK);
    return c;
}

static void reset_server(void) {
    free(server_control(&srv, "POST", "reset", "{}"));
}

static int last_error_is(int32_t code) {
    return flx_last_error_code() == code && strlen(flx_last_error_message()) > 0;
}

static void test_version_and_status_strings(void) {
    const char *v = flx_version();
    CHECK(v != NULL && strlen(v) >= 5);
    CHECK(strncmp(flx_status_str(FLX_OK), "FLX_OK", 6) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_INVALID_ARGUMENT), "FLX_ERR_INVALID_ARGUMENT", 24) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_NETWORK), "FLX_ERR_NETWORK", 15) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_HTTP_STATUS), "FLX_ERR_HTTP_STATUS", 19) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_AUTH_REJECTED), "FLX_ERR_AUTH_REJECTED", 21) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_BAD_RESPONSE), "FLX_ERR_BAD_RESPONSE", 20) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_SESSION), "FLX_ERR_SESSION", 15) == 0);
    CHECK(strncmp(flx_status_str(FLX_ERR_INTERNAL), "FLX_ERR_INTERNAL", 16) == 0);
    CHECK(FLX_ERR_STORE == 8 && strncmp(flx_status_str(FLX_ERR_STORE), "FLX_ERR_STORE", 13) == 0);
    CHECK(strncmp(flx_status_str(99), "FLX_UNKNOWN", 11) == 0);
    CHECK(strncmp(flx_status_str(-1), "FLX_UNKNOWN", 11) == 0);
}

static void test_expiry_rule(void) {
    CHECK(!flx_is_access_token_expired(1000, 1200, 1000 + 1139, 60));
    CHECK(flx_is_access_token_expired(1000, 1200, 1000 + 1140, 60));
    CHECK(flx_is_access_token_expired(0, 60, 0, 60));     /* lifetime at the threshold */
    CHECK(flx_is_access_token_expired(0, 30, -500, 60));  /* below it: always expired */
    CHECK(flx_is_access_token_expired(INT64_MIN, 1200, INT64_MAX, 60));
    CHECK(!flx_is_access_token_expired(INT64_MAX, 1200, INT64_MIN, 60));
    CHECK(!flx_is_access_token_expired(0, INT64_MAX, INT64_MAX - 1, INT64_MIN + 1));
}

static void test_new_cached_refreshed(void) {
    reset_server();
    FlxClient *c = new_client();
    time_t before = time(NULL);
    char *token = flx_get_token(c, false);
    CHECK(token != NULL);
    CHECK(flx_last_error_code() == FLX_OK && strcmp(flx_last_error_message(), "") == 0);
    CHECK(strstr(token, "\"access_token\":\"") != NULL);
    CHECK(strstr(token, "\"token_type\":\"bearer\"") != NULL);
    CHECK(strstr(token, "\"expires_in\":1200") != NULL);
    const char *created = strstr(token, "\"created_at\":");
    CHECK(created != NULL);
    if (created) {
        long long at = atoll(created + strlen("\"created_at\":"));
        CHECK(at >= (long long)before && at <= (long long)time(NULL));
    }
    char grant[64];
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "client_credentials") == 0);
    CHECK(server_request_count(&srv) == 1);

    char *access = flx_get_access_token(c, true);
    CHECK(access != NULL);
    CHECK(access && strstr(token, access) != NULL); /* the same token, from the cache */
    CHECK(server_request_count(&srv) == 1);

    char *refreshed = flx_get_access_token(c, false);
    CHECK(refreshed != NULL);
    CHECK(refreshed && access && strcmp(refreshed, access) != 0);
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "refresh_token") == 0);
    CHECK(server_request_count(&srv) == 2);

    /* Every token handed out is one the server issued. */
    char *issued = server_control(&srv, "GET", "issued", NULL);
    CHECK(issued && access && refreshed && strstr(issued, access) && strstr(issued, refreshed));
    free(issued);

    flx_string_free(token);
    flx_string_free(access);
    flx_string_free(refreshed);
    flx_client_free(c);
}

static void test_session_round_trip_and_clear(void) {
    reset_server();
    FlxClient *a = new_client();
    FlxClient *b = new_client();
    CHECK(flx_session_export(a) == NULL);
    CHECK(last_error_is(FLX_ERR_SESSION));

    char *ta = flx_get_access_token(a, false);
    char *session = flx_session_export(a);
    CHECK(session != NULL);
    CHECK(session && strstr(session, "\"token\":{") && strstr(session, "\"created_at\":") && strstr(session, "\"expires_in\":1200"));
    CHECK(flx_session_import(b, session) == FLX_OK);
    char *tb = flx_get_access_token(b, true);
    CHECK(ta && tb && strcmp(ta, tb) == 0);
    CHECK(server_request_count(&srv) == 1);

    CHECK(flx_client_clear(b) == FLX_OK);
    CHECK(flx_session_export(b) == NULL);
    CHECK(last_error_is(FLX_ERR_SESSION));

    CHECK(flx_session_import(b, "{\"token\":") == FLX_ERR_SESSION);
    CHECK(last_error_is(FLX_ERR_SESSION));
    CHECK(flx_session_import(b, "[]") == FLX_ERR_SESSION);
    CHECK(flx_session_import(b, "{\"token\":{\"access_token\":\"x\"},\"created_at\":1,\"expires_in\":-3}") == FLX_ERR_SESSION);

    /* A failed import leaves the held token as it was. */
    CHECK(flx_session_import(a, "{}") == FLX_ERR_SESSION);
    char *again = flx_session_export(a);
    CHECK(again && session && strcmp(again, session) == 0);

    flx_string_free(again);
    flx_string_free(ta);
    flx_string_free(tb);
    flx_string_free(session);
    flx_client_free(a);
    flx_client_free(b);
}

static void test_null_and_invalid_arguments(void) {
    CHECK(flx_client_new(NULL, ID, SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new(srv.url, NULL, SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new(srv.url, ID, NULL) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new(srv.url, "", SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new(srv.url, ID, "") == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new("", ID, SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new("http://example.com/", ID, SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_client_new(srv.url, "\xff\xfe", SECRET) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(strstr(flx_last_error_message(), "UTF-8") != NULL);

    CHECK(flx_client_set_option(NULL, "timeout_ms", "10") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_get_token(NULL, true) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_get_access_token(NULL, false) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_session_export(NULL) == NULL && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_session_import(NULL, "{}") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_clear(NULL) == FLX_ERR_INVALID_ARGUMENT);
    flx_client_free(NULL);
    flx_string_free(NULL);

    FlxClient *c = new_client();
    CHECK(flx_client_set_option(c, NULL, "1") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(c, "timeout_ms", NULL) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(flx_last_error_message(), "timeout_ms") != NULL);
    CHECK(flx_client_set_option(c, "no_such_option", "1") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(strstr(flx_last_error_message(), "no_such_option") != NULL);
    CHECK(flx_client_set_option(c, "max_retries", "-1") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(c, "timeout_ms", "\xc3\x28") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(c, "ca_file", "/nonexistent/ca.pem") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(c, "expiration_threshold_secs", "120") == FLX_OK);
    CHECK(flx_last_error_code() == FLX_OK && strcmp(flx_last_error_message(), "") == 0);
    CHECK(flx_session_import(c, NULL) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_session_import(c, "\xff") == FLX_ERR_INVALID_ARGUMENT);
    flx_client_free(c);
}

static void test_errors_keep_the_token(void) {
    reset_server();
    FlxClient *c = new_client();
    char *before = flx_get_access_token(c, false);
    char *session_before = flx_session_export(c);
    CHECK(flx_client_set_option(c, "max_retries", "0") == FLX_OK);
    free(server_control(&srv, "POST", "faults", "[{\"status\":500,\"body\":\"{\\\"error\\\":\\\"server_error\\\"}\"}]"));
    CHECK(flx_get_token(c, false) == NULL);
    CHECK(last_error_is(FLX_ERR_HTTP_STATUS));
    CHECK(strstr(flx_last_error_message(), "500") != NULL);
    char *session_after = flx_session_export(c);
    CHECK(session_before && session_after && strcmp(session_before, session_after) == 0);
    char *cached = flx_get_access_token(c, true);
    CHECK(before && cached && strcmp(before, cached) == 0);

    FlxClient *wrong = flx_client_new(srv.url, ID, "not-the-secret-5f2c");
    CHECK(flx_client_set_option(wrong, "proxy", "none") == FLX_OK);
    CHECK(flx_get_token(wrong, false) == NULL);
    CHECK(last_error_is(FLX_ERR_AUTH_REJECTED));
    CHECK(strstr(flx_last_error_message(), "invalid_client") != NULL);
    CHECK(strstr(flx_last_error_message(), "not-the-secret-5f2c") == NULL);

    free(server_control(&srv, "POST", "faults", "[{\"status\":200,\"body\":\"<html>oops</html>\"}]"));
    CHECK(flx_get_token(c, false) == NULL);
    CHECK(last_error_is(FLX_ERR_BAD_RESPONSE));

    flx_string_free(before);
    flx_string_free(cached);
    flx_string_free(session_before);
    flx_string_free(session_after);
    flx_client_free(c);
    flx_client_free(wrong);
}

/* The last error belongs to the thread that made the call. */
static void *fail_in_thread(void *arg) {
    (void)arg;
    (void)flx_client_new(NULL, NULL, NULL);
    return (void *)(intptr_t)flx_last_error_code();
}

static FlxClient *shared;
static void *hammer(void *arg) {
    (void)arg;
    int bad = 0;
    for (int i = 0; i < 50; i++) {
        char *t = flx_get_access_token(shared, i % 10 != 0);
        if (!t) bad++;
        flx_string_free(t);
    }
    return (void *)(intptr_t)bad;
}

static void test_threads(void) {
    reset_server();
    FlxClient *c = new_client();
    char *t = flx_get_access_token(c, false);
    pthread_t th;
    void *code = NULL;
    pthread_create(&th, NULL, fail_in_thread, NULL);
    pthread_join(th, &code);
    CHECK((intptr_t)code == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_last_error_code() == FLX_OK); /* this thread's last call succeeded */

    shared = c;
    pthread_t ths[8];
    for (int i = 0; i < 8; i++) pthread_create(&ths[i], NULL, hammer, NULL);
    int bad = 0;
    for (int i = 0; i < 8; i++) {
        void *r;
        pthread_join(ths[i], &r);
        bad += (int)(intptr_t)r;
    }
    CHECK(bad == 0);
    flx_string_free(t);
    flx_client_free(c);
}

#ifdef _WIN32
#include <windows.h>

/* Remove a store directory made by the test: its records, its .locks and itself. */
static void remove_store_dir(const char *dir) {
    const char *subs[] = {"\\.locks\\*", "\\*"};
    for (int i = 0; i < 2; i++) {
        char pattern[MAX_PATH], path[MAX_PATH];
        snprintf(pattern, sizeof pattern, "%s%s", dir, subs[i]);
        WIN32_FIND_DATAA fd;
        HANDLE h = FindFirstFileA(pattern, &fd);
        if (h == INVALID_HANDLE_VALUE) continue;
        do {
            if (!(fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)) {
                snprintf(path, sizeof path, "%s%s%s", dir, i == 0 ? "\\.locks\\" : "\\", fd.cFileName);
                DeleteFileA(path);
            }
        } while (FindNextFileA(h, &fd));
        FindClose(h);
    }
    char locks[MAX_PATH];
    snprintf(locks, sizeof locks, "%s\\.locks", dir);
    RemoveDirectoryA(locks);
    RemoveDirectoryA(dir);
}

/* The file store on Windows (src/store/windows.rs; the windows-* rows of make test-platforms,
 * under Wine): two handles on one C:\... directory share one token as two processes would. Each
 * takes the store's lock (LockFileEx) and reads its record; the second handle makes no request of
 * its own. Windows has no shared generation counter here: a cached call re-reads the record once
 * store_check_ms has passed, so b sets it to 0 to see a's refresh at once. */
static void test_token_store(void) {
    reset_server();
    char tmp[MAX_PATH], dir[MAX_PATH], store[MAX_PATH], uri[MAX_PATH + 8], pattern[MAX_PATH + 8];
    CHECK(GetTempPathA(sizeof tmp, tmp) > 0);
    snprintf(dir, sizeof dir, "%sflx-c-store-%lu-%lu", tmp, (unsigned long)GetCurrentProcessId(), (unsigned long)GetTickCount());
    snprintf(store, sizeof store, "%s\\store", dir);
    CHECK(store[1] == ':' && store[2] == '\\'); /* a C:\... path */
    FlxClient *a = new_client(), *b = new_client();
    CHECK(flx_client_set_option(a, "token_store", store) == FLX_OK); /* created when missing */
    snprintf(uri, sizeof uri, "file:%s", store);
    CHECK(flx_client_set_option(b, "token_store", uri) == FLX_OK);
    CHECK(flx_client_set_option(b, "store_check_ms", "0") == FLX_OK);
    char *t1 = flx_get_access_token(a, false);
    snprintf(pattern, sizeof pattern, "%s\\*.token", store);
    WIN32_FIND_DATAA fd;
    HANDLE found = FindFirstFileA(pattern, &fd);
    CHECK(found != INVALID_HANDLE_VALUE); /* a's token went to a record file */
    if (found != INVALID_HANDLE_VALUE) FindClose(found);
    char *t2 = flx_get_access_token(b, true); /* read from the record: no request */
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    CHECK(server_request_count(&srv) == 1);
    char *t3 = flx_get_access_token(a, false); /* a refresh with the stored refresh token */
    char *t4 = flx_get_access_token(b, true);  /* b must not hand out the token a replaced */
    CHECK(t3 && t4 && strcmp(t3, t4) == 0 && t1 && strcmp(t1, t3) != 0);
    char grant[64];
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "refresh_token") == 0 && server_request_count(&srv) == 2);
    /* b's own non-cache call takes the lock, reads a's record and refreshes with its refresh
     * token: the rotated one, never the one a already used. */
    char *t5 = flx_get_access_token(b, false);
    CHECK(t5 && t3 && strcmp(t5, t3) != 0 && server_request_count(&srv) == 3);
    CHECK(flx_client_set_option(a, "store_check_ms", "0") == FLX_OK);
    char *t7 = flx_get_access_token(a, true); /* a re-reads the record: b's token */
    CHECK(t5 && t7 && strcmp(t5, t7) == 0 && server_request_count(&srv) == 3);
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "refresh_token") == 0);
    char *stats = flx_client_stats(b);
    CHECK(stats && strstr(stats, "\"store_errors\":0") != NULL);
    /* refresh_min_age_secs: a young token is returned as is by a non-cache call. */
    CHECK(flx_client_set_option(a, "refresh_min_age_secs", "60") == FLX_OK);
    char *t8 = flx_get_access_token(a, false);
    CHECK(t8 && t5 && strcmp(t8, t5) == 0 && server_request_count(&srv) == 3);
    /* A file where the directory should be: FLX_ERR_STORE; paths without a drive: refused. */
    char plain[MAX_PATH];
    snprintf(plain, sizeof plain, "%s\\plain", dir);
    HANDLE pf = CreateFileA(plain, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
    CHECK(pf != INVALID_HANDLE_VALUE);
    if (pf != INVALID_HANDLE_VALUE) CloseHandle(pf);
    CHECK(flx_client_set_option(b, "token_store", plain) == FLX_ERR_STORE && last_error_is(FLX_ERR_STORE));
    CHECK(DeleteFileA(plain));
    CHECK(flx_client_set_option(b, "token_store", "relative\\dir") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(b, "token_store", "\\no-drive") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(b, "token_store", "none") == FLX_OK);
    flx_string_free(t1);
    flx_string_free(t2);
    flx_string_free(t3);
    flx_string_free(t4);
    flx_string_free(t5);
    flx_string_free(t7);
    flx_string_free(t8);
    flx_string_free(stats);
    flx_client_free(a);
    flx_client_free(b);
    remove_store_dir(store);
    RemoveDirectoryA(dir);
    CHECK(GetFileAttributesA(dir) == INVALID_FILE_ATTRIBUTES);
}
#else
/* Two handles on one token_store share one token as two processes would: each takes the store's
 * lock and reads its record; a cached call sees another handle's refresh at once. */
static void test_token_store(void) {
    reset_server();
    char dir[] = "/tmp/flx-c-store-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char store[64];
    snprintf(store, sizeof store, "%s/store", dir);
    FlxClient *a = new_client(), *b = new_client();
    CHECK(flx_client_set_option(a, "token_store", store) == FLX_OK);
    char uri[80];
    snprintf(uri, sizeof uri, "file:%s", store);
    CHECK(flx_client_set_option(b, "token_store", uri) == FLX_OK);
    char *t1 = flx_get_access_token(a, false);
    char *t2 = flx_get_access_token(b, true);
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    CHECK(server_request_count(&srv) == 1);
    char *t3 = flx_get_access_token(a, false); /* a refresh with the stored refresh token */
    char *t4 = flx_get_access_token(b, true);  /* b must not hand out the token a replaced */
    CHECK(t3 && t4 && strcmp(t3, t4) == 0 && t1 && strcmp(t1, t3) != 0);
    char grant[64];
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "refresh_token") == 0 && server_request_count(&srv) == 2);
    char *stats = flx_client_stats(b);
    CHECK(stats && strstr(stats, "\"store_errors\":0") != NULL);
    /* refresh_min_age_secs: a young token is returned as is by a non-cache call. */
    CHECK(flx_client_set_option(b, "refresh_min_age_secs", "60") == FLX_OK);
    char *t5 = flx_get_access_token(b, false);
    CHECK(t5 && t3 && strcmp(t5, t3) == 0 && server_request_count(&srv) == 2);
    CHECK(flx_client_set_option(b, "refresh_min_age_secs", "-1") == FLX_ERR_INVALID_ARGUMENT);
    /* A directory open to others is refused with FLX_ERR_STORE, naming the mode. */
    char open_dir[64];
    snprintf(open_dir, sizeof open_dir, "%s/open", dir);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "mkdir -m 0755 '%s'", open_dir);
    CHECK(system(cmd) == 0);
    CHECK(flx_client_set_option(b, "token_store", open_dir) == FLX_ERR_STORE && last_error_is(FLX_ERR_STORE));
    CHECK(strstr(flx_last_error_message(), "0755") != NULL);
    CHECK(flx_client_set_option(b, "token_store", "relative/dir") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_client_set_option(b, "token_store", "none") == FLX_OK);
    flx_string_free(t1);
    flx_string_free(t2);
    flx_string_free(t3);
    flx_string_free(t4);
    flx_string_free(t5);
    flx_string_free(stats);
    flx_client_free(a);
    flx_client_free(b);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}
#endif

/* The _into getters: snprintf's contract on the caller's buffer, the same decisions on the wire. */
static void test_getters_into_a_buffer(void) {
    reset_server();
    FlxClient *c = new_client();
    char buf[4096];
    /* A refused buffer is refused before anything is sent, and the buffer is not written. */
    memset(buf, 'x', sizeof buf);
    CHECK(flx_get_token_into(c, false, NULL, 10) == -1 && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(flx_get_access_token_into(NULL, true, buf, sizeof buf) == -1 && last_error_is(FLX_ERR_INVALID_ARGUMENT));
    CHECK(buf[0] == 'x' && server_request_count(&srv) == 0);

    /* First call: client_credentials, the whole JSON in the buffer, NUL-terminated. */
    int64_t n = flx_get_token_into(c, false, buf, sizeof buf);
    CHECK(n > 0 && n < (int64_t)sizeof buf && (size_t)n == strlen(buf));
    CHECK(flx_last_error_code() == FLX_OK);
    CHECK(strstr(buf, "\"access_token\":\"") != NULL && strstr(buf, "\"created_at\":") != NULL);
    char grant[64];
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "client_credentials") == 0 && server_request_count(&srv) == 1);

    /* The cached path: the same access token as flx_get_access_token, no request. */
    char access[1024];
    int64_t a = flx_get_access_token_into(c, true, access, sizeof access);
    char *same = flx_get_access_token(c, true);
    CHECK(a > 0 && same && (size_t)a == strlen(same) && strcmp(access, same) == 0 && strstr(buf, access) != NULL);
    flx_string_free(same);
    CHECK(server_request_count(&srv) == 1);

    /* Too small (cap == n): "" and the length; cap == n + 1 fits exactly; NULL/0 is a query. */
    char small[1024];
    memset(small, 'x', sizeof small);
    CHECK(flx_get_access_token_into(c, true, small, (size_t)a) == a && small[0] == '\0');
    CHECK(flx_get_access_token_into(c, true, small, (size_t)a + 1) == a && strcmp(small, access) == 0);
    CHECK(flx_get_access_token_into(c, true, NULL, 0) == a);
    CHECK(flx_get_token_into(c, true, small, 0) == n && small[0] == access[0]);
    CHECK(server_request_count(&srv) == 1);

    /* use_cache=false refreshes, like flx_get_access_token. */
    char refreshed[1024];
    CHECK(flx_get_access_token_into(c, false, refreshed, sizeof refreshed) > 0 && strcmp(refreshed, access) != 0);
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "refresh_token") == 0 && server_request_count(&srv) == 2);
    char *issued = server_control(&srv, "GET", "issued", NULL);
    CHECK(issued && strstr(issued, access) && strstr(issued, refreshed));
    free(issued);

    /* An error: -1, the buffer untouched, the held token kept. */
    CHECK(flx_client_set_option(c, "max_retries", "0") == FLX_OK);
    free(server_control(&srv, "POST", "faults", "[{\"status\":500,\"body\":\"{\\\"error\\\":\\\"server_error\\\"}\"}]"));
    memset(buf, 'x', sizeof buf);
    CHECK(flx_get_token_into(c, false, buf, sizeof buf) == -1 && last_error_is(FLX_ERR_HTTP_STATUS) && buf[0] == 'x');
    CHECK(server_request_count(&srv) == 3);
    CHECK(flx_get_access_token_into(c, true, access, sizeof access) > 0 && strcmp(access, refreshed) == 0);
    flx_client_free(c);
    CHECK(flx_get_access_token_into(c, true, access, sizeof access) == -1 && last_error_is(FLX_ERR_INVALID_ARGUMENT));
}

int main(void) {
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the token server\n");
        return 2;
    }
    test_version_and_status_strings();
    test_expiry_rule();
    test_new_cached_refreshed();
    test_getters_into_a_buffer();
    test_session_round_trip_and_clear();
    test_null_and_invalid_arguments();
    test_errors_keep_the_token();
    test_threads();
    test_token_store();
    server_stop(&srv);
    printf("C suite: %d passed, %d failed\n", g_checks - g_failures, g_failures);
    return g_failures == 0 ? 0 : 1;
}
