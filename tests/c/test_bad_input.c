/* Bad input from the caller, and every error path of the C surface, in strict C99 against
 * include/flexiti_auth.h and the real .so. `make test` runs it under valgrind (zero errors, zero
 * leaks): NULL for every pointer argument of every function, invalid UTF-8, empty and enormous
 * strings, out-of-range options, broken session JSON, calls after flx_client_clear, and each
 * failure the token server can inject. Each case checks the status code and the message, and
 * that a failure leaves the held token as it was.
 *
 * `test_bad_input --undefined` also checks that use after free and double free are refused (once
 * undefined behaviour; handles are table entries now, see tests/c/test_soundness.c). */
#define _POSIX_C_SOURCE 200809L
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

/* The last call failed with `code`, and its message is non-empty, bounded, and holds `part`. */
static int failed_with(int32_t code, const char *part) {
    const char *m = flx_last_error_message();
    int ok = m != NULL && flx_last_error_code() == code && strlen(m) > 0 && strlen(m) < 2048 && strstr(m, part) != NULL;
    if (!ok) fprintf(stderr, "  expected %s with \"%s\", got %d: %s\n", flx_status_str(code), part, flx_last_error_code(), m ? m : "(NULL)");
    return ok;
}

static int succeeded(void) {
    return flx_last_error_code() == FLX_OK && strcmp(flx_last_error_message(), "") == 0;
}

static void control(const char *method, const char *path, const char *body) {
    free(server_control(&srv, method, path, body));
}

static FlxClient *new_client(void) {
    FlxClient *c = flx_client_new(srv.url, ID, SECRET);
    CHECK(c != NULL);
    CHECK(flx_client_set_option(c, "proxy", "none") == FLX_OK);
    return c;
}

static char *repeat(char ch, size_t n) {
    char *s = malloc(n + 1);
    if (!s) abort();
    memset(s, ch, n);
    s[n] = '\0';
    return s;
}

/* ---- NULL for every pointer argument of every function ----------------------------------- */

static void log_cb(int32_t level, const char *line, void *user) {
    (void)level;
    (void)line;
    (*(int *)user)++;
}

static void test_null_everywhere(void) {
    CHECK(flx_client_new(NULL, ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url is NULL"));
    CHECK(flx_client_new(srv.url, NULL, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_id is NULL"));
    CHECK(flx_client_new(srv.url, ID, NULL) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_secret is NULL"));
    CHECK(flx_client_new(NULL, NULL, NULL) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "NULL"));

    CHECK(flx_client_set_option(NULL, "timeout_ms", "100") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_get_token(NULL, true) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_get_token(NULL, false) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_get_access_token(NULL, true) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_get_access_token(NULL, false) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_session_export(NULL) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_session_import(NULL, "{}") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_session_import(NULL, NULL) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "NULL"));
    CHECK(flx_client_clear(NULL) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    int lines = 0;
    CHECK(flx_client_set_log_callback(NULL, log_cb, &lines) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    CHECK(flx_client_stats(NULL) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "handle is NULL"));
    flx_client_free(NULL);
    flx_string_free(NULL);

    FlxClient *c = new_client();
    CHECK(flx_client_set_option(c, NULL, "1") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "option name is NULL"));
    CHECK(flx_client_set_option(c, "max_retries", NULL) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "max_retries"));
    CHECK(flx_client_set_option(c, NULL, NULL) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "NULL"));
    CHECK(flx_session_import(c, NULL) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "session_json is NULL"));
    /* A NULL callback (with or without user data) turns the callback off: not an error. */
    CHECK(flx_client_set_log_callback(c, NULL, NULL) == FLX_OK && succeeded());
    CHECK(flx_client_set_log_callback(c, NULL, &lines) == FLX_OK);
    /* The static strings are never NULL, whatever the code. */
    int32_t codes[] = {FLX_OK, FLX_ERR_INTERNAL, FLX_ERR_STORE, 9, -1, INT32_MIN, INT32_MAX};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) CHECK(flx_status_str(codes[i]) != NULL);
    CHECK(flx_version() != NULL && flx_last_error_message() != NULL);
    /* Not a handle at all: zeroed memory the size of one is refused, not trusted. */
    uint64_t not_a_handle[64];
    memset(not_a_handle, 0, sizeof not_a_handle);
    CHECK(flx_get_token((FlxClient *)(void *)not_a_handle, true) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    CHECK(flx_client_clear((FlxClient *)(void *)not_a_handle) == FLX_ERR_INVALID_ARGUMENT);
    flx_client_free(c);
}

/* ---- strings: invalid UTF-8, empty, enormous --------------------------------------------- */

static void test_bad_strings(void) {
    const char *bad_utf8[] = {"\xff", "\xc3\x28", "abc\xed\xa0\x80", "\xf8\x88\x80\x80\x80", "\xc0\xaf"};
    for (size_t i = 0; i < sizeof bad_utf8 / sizeof bad_utf8[0]; i++) {
        const char *b = bad_utf8[i];
        CHECK(flx_client_new(b, ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url is not valid UTF-8"));
        CHECK(flx_client_new(srv.url, b, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_id is not valid UTF-8"));
        CHECK(flx_client_new(srv.url, ID, b) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_secret is not valid UTF-8"));
    }
    /* Empty and blank. */
    CHECK(flx_client_new("", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url"));
    CHECK(flx_client_new("   ", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url"));
    CHECK(flx_client_new(srv.url, "", SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_id is empty"));
    CHECK(flx_client_new(srv.url, "  ", SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_id is empty"));
    CHECK(flx_client_new(srv.url, ID, "") == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_secret is empty"));
    CHECK(flx_client_new(srv.url, "id\nwith newline", SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "control characters"));
    /* api_url shapes. */
    CHECK(flx_client_new("http://posapi.flexiti.fi/", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "https://"));
    CHECK(flx_client_new("ftp://127.0.0.1/", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "https://"));
    CHECK(flx_client_new("https://", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url"));
    CHECK(flx_client_new("https://posapi.flexiti.fi/?x=1", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "query"));
    CHECK(flx_client_new("https://u:p@posapi.flexiti.fi/", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "credentials"));
    CHECK(flx_client_new("not a url", ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a valid URL"));

    /* Enormous: over the 64 KiB argument limit, refused without echoing them. */
    char *big = repeat('a', 1024 * 1024 + 1);
    CHECK(flx_client_new(big, ID, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "api_url is 1048577 bytes long"));
    CHECK(flx_client_new(srv.url, big, SECRET) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_id is 1048577 bytes long"));
    CHECK(flx_client_new(srv.url, ID, big) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "client_secret is 1048577 bytes long"));
    FlxClient *c = new_client();
    CHECK(flx_client_set_option(c, big, "1") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "over the 65536-byte limit"));
    CHECK(flx_client_set_option(c, "user_agent", big) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "user_agent"));
    CHECK(flx_client_set_option(c, "timeout_ms", big) == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "timeout_ms"));
    /* Just under the limit: accepted where any length is fine, and the handle still works. */
    big[60000] = '\0';
    CHECK(flx_client_set_option(c, "user_agent", big) == FLX_OK);
    CHECK(flx_client_set_option(c, "scope", big) == FLX_OK);
    CHECK(flx_client_set_option(c, "scope", "") == FLX_OK);
    CHECK(flx_client_set_option(c, "user_agent", "") == FLX_OK);
    free(big);
    /* Invalid UTF-8 in option names and values. */
    CHECK(flx_client_set_option(c, "\xff", "1") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "option name is not valid UTF-8"));
    CHECK(flx_client_set_option(c, "scope", "\xc3\x28") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "scope"));
    CHECK(flx_session_import(c, "{\"token\":\"\xff\"}") == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, "not valid UTF-8"));
    flx_client_free(c);
}

/* ---- options out of range ---------------------------------------------------------------- */

static void test_options(void) {
    FlxClient *c = new_client();
    struct { const char *name, *value; } bad[] = {
        {"expiration_threshold_secs", "-1"}, {"expiration_threshold_secs", "86401"}, {"expiration_threshold_secs", "1.5"},
        {"expiration_threshold_secs", ""}, {"expiration_threshold_secs", "99999999999999999999999"},
        {"connect_timeout_ms", "0"}, {"connect_timeout_ms", "600001"}, {"connect_timeout_ms", "1e3"}, {"connect_timeout_ms", "0x10"},
        {"timeout_ms", "0"}, {"timeout_ms", "600001"}, {"timeout_ms", "-5"}, {"timeout_ms", "ten"}, {"timeout_ms", ""},
        {"max_retries", "11"}, {"max_retries", "-1"}, {"max_retries", "4294967297"}, {"max_retries", "+"},
        {"token_path", ""}, {"token_path", "   "}, {"token_path", "a b"}, {"token_path", "oauth/token?x=1"}, {"token_path", "oauth/token#f"},
        {"scope", "merchant\r\nX-Evil: 1"}, {"user_agent", "agent\nX-Evil: 1"},
        {"proxy", "::not a url"}, {"ca_file", "/nonexistent/ca.pem"}, {"ca_file", "/"}, {"ca_file", "Makefile"},
        {"log_level", "trace"}, {"log_level", "verbose"}, {"log_level", "5"},
        {"log_file", "/nonexistent-dir/flx.log"}, {"log_file", "/"},
        {"no_such_option", "1"}, {"", "1"}, {"Timeout_MS", "100"},
    };
    char *before = flx_get_access_token(c, false);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int32_t rc = flx_client_set_option(c, bad[i].name, bad[i].value);
        int ok = rc == FLX_ERR_INVALID_ARGUMENT && failed_with(FLX_ERR_INVALID_ARGUMENT, bad[i].name[0] ? bad[i].name : "unknown option");
        if (!ok) fprintf(stderr, "  option %s=%s\n", bad[i].name, bad[i].value);
        CHECK(ok);
    }
    /* Nothing changed: the defaults still apply (no request, the same token from the cache). */
    char *after = flx_get_access_token(c, true);
    CHECK(before && after && strcmp(before, after) == 0);
    CHECK(server_request_count(&srv) >= 1);
    /* The edges of each range are accepted. */
    struct { const char *name, *value; } good[] = {
        {"expiration_threshold_secs", "0"}, {"expiration_threshold_secs", "86400"}, {"connect_timeout_ms", "1"},
        {"connect_timeout_ms", "600000"}, {"timeout_ms", "1"}, {"timeout_ms", "600000"}, {"timeout_ms", " 15000 "},
        {"max_retries", "0"}, {"max_retries", "10"}, {"token_path", "/flexiti/pos-api/v2.5/oauth/token"},
        {"token_path", "flexiti/online-api/oauth/token"}, {"proxy", "none"}, {"proxy", "http://127.0.0.1:3128"}, {"proxy", "none"},
        {"ca_file", ""}, {"log_level", "off"}, {"log_level", "DEBUG"}, {"log_level", "off"}, {"log_file", ""},
        {"expiration_threshold_secs", "60"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int32_t rc = flx_client_set_option(c, good[i].name, good[i].value);
        if (rc != FLX_OK) fprintf(stderr, "  option %s=%s: %s\n", good[i].name, good[i].value, flx_last_error_message());
        CHECK(rc == FLX_OK && succeeded());
    }
    flx_string_free(before);
    flx_string_free(after);
    flx_client_free(c);
}

/* ---- session JSON ------------------------------------------------------------------------ */

static void test_sessions(void) {
    control("POST", "reset", "{}");
    FlxClient *c = new_client();
    char *token = flx_get_token(c, false);
    CHECK(token != NULL);
    flx_string_free(token);
    char *session = flx_session_export(c);
    CHECK(session != NULL);
    if (!session) { flx_client_free(c); return; }

    /* Truncated at every byte: always refused, never a crash, the held token unchanged. */
    size_t n = strlen(session);
    char *cut = malloc(n + 1);
    int refused = 0;
    for (size_t len = 0; len < n; len++) {
        memcpy(cut, session, len);
        cut[len] = '\0';
        if (flx_session_import(c, cut) == FLX_ERR_SESSION && failed_with(FLX_ERR_SESSION, "session")) refused++;
    }
    CHECK(refused == (int)n);
    free(cut);

    long long now = (long long)time(NULL);
    char future_ok[512], future_bad[512];
    snprintf(future_ok, sizeof future_ok, "{\"token\":{\"access_token\":\"skewed-ok-0001\"},\"created_at\":%lld,\"expires_in\":1200}", now + 200);
    snprintf(future_bad, sizeof future_bad, "{\"token\":{\"access_token\":\"from-the-future\"},\"created_at\":%lld,\"expires_in\":1200}", now + 3600);
    struct { const char *json, *part; } bad[] = {
        {"", "malformed"}, {"   ", "malformed"}, {"null", "null, not an object"}, {"42", "number, not an object"},
        {"\"session\"", "string, not an object"}, {"[]", "array, not an object"}, {"{}", "no \"token\""},
        {"{\"token\":", "truncated"}, {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":1200", "truncated"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":1200}}", "malformed"},
        {"{'token':{}}", "malformed"},
        {"{\"token\":[1],\"created_at\":1,\"expires_in\":1200}", "\"token\" is a array"},
        {"{\"token\":null,\"created_at\":1,\"expires_in\":1200}", "\"token\""},
        {"{\"token\":\"not json\",\"created_at\":1,\"expires_in\":1200}", "does not hold a JSON object"},
        {"{\"token\":{\"access_token\":\"a\"},\"expires_in\":1200}", "no \"created_at\""},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1}", "no \"expires_in\""},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":\"1\",\"expires_in\":1200}", "created_at"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1.5,\"expires_in\":1200}", "created_at"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1e400,\"expires_in\":1200}", "session"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":18446744073709551615,\"expires_in\":1200}", "created_at"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":0}", "expires_in 0"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":-1200}", "expires_in -1200"},
        {"{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":99999999999}", "expires_in 99999999999"},
        {"{\"token\":{},\"created_at\":1,\"expires_in\":1200}", "no access_token"},
        {"{\"token\":{\"access_token\":\"\"},\"created_at\":1,\"expires_in\":1200}", "empty access_token"},
        {"{\"token\":{\"access_token\":7},\"created_at\":1,\"expires_in\":1200}", "access_token of type number"},
        {"{\"token\":{\"access_token\":\"a\",\"refresh_token\":false},\"created_at\":1,\"expires_in\":1200}", "refresh_token of type boolean"},
        {"{\"token\":{\"access_token\":\"a\\u0000b\"},\"created_at\":1,\"expires_in\":1200}", "control characters"},
        {future_bad, "in the future"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int ok = flx_session_import(c, bad[i].json) == FLX_ERR_SESSION && failed_with(FLX_ERR_SESSION, bad[i].part);
        if (!ok) fprintf(stderr, "  session %zu: %.80s\n", i, bad[i].json);
        CHECK(ok);
    }
    /* Nesting deeper than the parser allows is refused, not a stack overflow. */
    char *deep = malloc(200000 * 2 + 64);
    size_t p = 0;
    p += (size_t)sprintf(deep, "{\"token\":");
    for (int i = 0; i < 200000; i++) deep[p++] = '[';
    for (int i = 0; i < 200000; i++) deep[p++] = ']';
    strcpy(deep + p, ",\"created_at\":1,\"expires_in\":1200}");
    /* 200 000 levels could build more values than a session may hold: refused before parsing. */
    CHECK(flx_session_import(c, deep) == FLX_ERR_SESSION && failed_with(FLX_ERR_SESSION, "JSON values"));
    /* 5 000 levels are few enough values, and the parser's depth limit refuses them. */
    p = (size_t)sprintf(deep, "{\"token\":");
    for (int i = 0; i < 5000; i++) deep[p++] = '[';
    for (int i = 0; i < 5000; i++) deep[p++] = ']';
    strcpy(deep + p, ",\"created_at\":1,\"expires_in\":1200}");
    CHECK(flx_session_import(c, deep) == FLX_ERR_SESSION && failed_with(FLX_ERR_SESSION, "malformed"));
    free(deep);
    /* Enormous: over 1 MiB, refused with its size. */
    char *huge = repeat(' ', 2 * 1024 * 1024);
    const char *small = "{\"token\":{\"access_token\":\"a\"},\"created_at\":1,\"expires_in\":1200}";
    memcpy(huge, small, strlen(small)); /* valid JSON, then 2 MiB of spaces */
    CHECK(flx_session_import(c, huge) == FLX_ERR_SESSION && failed_with(FLX_ERR_SESSION, "over the 1048576-byte limit"));
    free(huge);

    /* After every refusal the session is exactly the one held before. */
    char *again = flx_session_export(c);
    CHECK(again && strcmp(again, session) == 0);
    flx_string_free(again);

    /* Clock skew within 300 s is accepted; the handle then holds that token. */
    CHECK(flx_session_import(c, future_ok) == FLX_OK && succeeded());
    char *skewed = flx_get_access_token(c, true);
    CHECK(skewed && strcmp(skewed, "skewed-ok-0001") == 0);
    flx_string_free(skewed);
    /* The token may also be the token JSON as a string (the guide's FlxOauthToken). */
    char as_string[512];
    snprintf(as_string, sizeof as_string, "{\"token\":\"{\\\"access_token\\\":\\\"as-string-0001\\\"}\",\"created_at\":%lld,\"expires_in\":1200}", now);
    CHECK(flx_session_import(c, as_string) == FLX_OK);
    char *s2 = flx_get_access_token(c, true);
    CHECK(s2 && strcmp(s2, "as-string-0001") == 0);
    flx_string_free(s2);

    flx_string_free(session);
    flx_client_free(c);
}

/* ---- after flx_client_clear -------------------------------------------------------------- */

static void test_after_clear(void) {
    control("POST", "reset", "{}");
    FlxClient *c = new_client();
    char *t1 = flx_get_access_token(c, false);
    CHECK(t1 != NULL);
    CHECK(flx_client_clear(c) == FLX_OK && succeeded());
    CHECK(flx_client_clear(c) == FLX_OK); /* twice is fine */
    CHECK(flx_session_export(c) == NULL && failed_with(FLX_ERR_SESSION, "no token is held"));
    char *stats = flx_client_stats(c);
    CHECK(stats && strstr(stats, "\"token_held\":false"));
    flx_string_free(stats);
    /* A cached call after clear gets a new token through client_credentials. */
    char *t2 = flx_get_access_token(c, true);
    CHECK(t2 && t1 && strcmp(t1, t2) != 0);
    char grant[64];
    server_last_grant(&srv, grant, sizeof grant);
    CHECK(strcmp(grant, "client_credentials") == 0);
    CHECK(server_request_count(&srv) == 2);
    /* Options survive a clear. */
    CHECK(flx_client_clear(c) == FLX_OK);
    CHECK(flx_client_set_option(c, "max_retries", "0") == FLX_OK);
    flx_string_free(t1);
    flx_string_free(t2);
    flx_client_free(c);
}

/* ---- every failure the server can produce, through the C surface ------------------------ */

static void expect_fault(FlxClient *c, const char *faults, int32_t code, const char *part) {
    char *before = flx_session_export(c);
    control("POST", "faults", faults);
    char *t = flx_get_token(c, false);
    int ok = t == NULL && failed_with(code, part);
    if (!ok) fprintf(stderr, "  fault %s\n", faults);
    CHECK(ok);
    flx_string_free(t);
    control("DELETE", "faults", NULL);
    char *after = flx_session_export(c);
    CHECK(before && after && strcmp(before, after) == 0);
    char *cached = flx_get_access_token(c, true);
    CHECK(cached != NULL);
    flx_string_free(cached);
    flx_string_free(before);
    flx_string_free(after);
}

static void test_server_faults(void) {
    control("POST", "reset", "{}");
    FlxClient *c = new_client();
    CHECK(flx_client_set_option(c, "max_retries", "1") == FLX_OK);
    CHECK(flx_client_set_option(c, "timeout_ms", "1500") == FLX_OK);
    char *t = flx_get_access_token(c, false);
    CHECK(t != NULL);
    flx_string_free(t);
    expect_fault(c, "[{\"status\":503,\"body\":\"{\\\"error\\\":\\\"unavailable\\\"}\",\"count\":4}]", FLX_ERR_HTTP_STATUS, "HTTP 503");
    expect_fault(c, "[{\"status\":400,\"body\":\"{\\\"error\\\":\\\"invalid_client\\\"}\",\"count\":2}]", FLX_ERR_AUTH_REJECTED, "invalid_client");
    expect_fault(c, "[{\"status\":409,\"body\":\"{\\\"url\\\":\\\"/x\\\",\\\"message\\\":\\\"Account not provisioned\\\",\\\"error\\\":\\\"invalid_role\\\"}\",\"count\":2}]",
                 FLX_ERR_AUTH_REJECTED, "Account not provisioned");
    expect_fault(c, "[{\"status\":302,\"headers\":{\"location\":\"http://127.0.0.1:1/\"},\"body\":\"\",\"count\":2}]", FLX_ERR_HTTP_STATUS, "redirect");
    expect_fault(c, "[{\"status\":429,\"retry_after\":\"0\",\"body\":\"{}\",\"count\":4}]", FLX_ERR_HTTP_STATUS, "HTTP 429");
    expect_fault(c, "[{\"status\":200,\"body\":\"<html>gateway</html>\",\"count\":2}]", FLX_ERR_BAD_RESPONSE, "HTML");
    expect_fault(c, "[{\"status\":200,\"body\":\"\",\"count\":2}]", FLX_ERR_BAD_RESPONSE, "empty");
    expect_fault(c, "[{\"status\":200,\"body\":\"{\\\"access_token\\\":\",\"count\":2}]", FLX_ERR_BAD_RESPONSE, "truncated");
    expect_fault(c, "[{\"status\":200,\"body\":\"{\\\"expires_in\\\":1200}\",\"count\":2}]", FLX_ERR_BAD_RESPONSE, "no access_token");
    expect_fault(c, "[{\"status\":200,\"body\":\"{\\\"access_token\\\":\\\"a\\\",\\\"expires_in\\\":-1}\",\"count\":2}]", FLX_ERR_BAD_RESPONSE, "expires_in");
    expect_fault(c, "[{\"oversize_bytes\":52428800,\"count\":2}]", FLX_ERR_BAD_RESPONSE, "larger than 1048576");
    expect_fault(c, "[{\"reset_after_bytes\":10,\"count\":6}]", FLX_ERR_NETWORK, "before a complete answer");
    expect_fault(c, "[{\"close\":true,\"count\":6}]", FLX_ERR_NETWORK, "grant");
    CHECK(flx_client_set_option(c, "timeout_ms", "600") == FLX_OK);
    CHECK(flx_client_set_option(c, "max_retries", "0") == FLX_OK);
    expect_fault(c, "[{\"hang\":true,\"count\":4}]", FLX_ERR_NETWORK, "timed out");
    expect_fault(c, "[{\"stall_body_ms\":5000,\"count\":4}]", FLX_ERR_NETWORK, "timed out");
    flx_client_free(c);

    /* Connection refused and DNS failure. */
    FlxClient *refused = flx_client_new("http://127.0.0.1:1/", ID, SECRET);
    CHECK(flx_client_set_option(refused, "proxy", "none") == FLX_OK);
    CHECK(flx_client_set_option(refused, "max_retries", "0") == FLX_OK);
    CHECK(flx_get_token(refused, false) == NULL && failed_with(FLX_ERR_NETWORK, "127.0.0.1:1"));
    flx_client_free(refused);
    FlxClient *dns = flx_client_new("https://flexiti.invalid/", ID, SECRET);
    CHECK(flx_client_set_option(dns, "proxy", "none") == FLX_OK);
    CHECK(flx_client_set_option(dns, "max_retries", "0") == FLX_OK);
    CHECK(flx_get_access_token(dns, true) == NULL && failed_with(FLX_ERR_NETWORK, "flexiti.invalid"));
    flx_client_free(dns);
    /* Logging through every one of these paths leaks nothing either (valgrind watches). */
    FlxClient *logged = new_client();
    int lines = 0;
    CHECK(flx_client_set_log_callback(logged, log_cb, &lines) == FLX_OK);
    CHECK(flx_client_set_option(logged, "log_level", "debug") == FLX_OK);
    CHECK(flx_client_set_option(logged, "max_retries", "0") == FLX_OK);
    control("POST", "faults", "[{\"status\":500,\"body\":\"{}\"}]");
    CHECK(flx_get_token(logged, false) == NULL && failed_with(FLX_ERR_HTTP_STATUS, "HTTP 500"));
    flx_string_free(flx_get_token(logged, false));
    CHECK(lines >= 2);
    flx_client_free(logged);
}

/* ---- use after free and double free: refused -------------------------------------------- */

static void test_undefined_but_detected(void) {
    FlxClient *c = new_client();
    flx_client_free(c);
    /* Use after free: the handle is no longer in the handle table. */
    CHECK(flx_get_token(c, true) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    CHECK(flx_client_set_option(c, "timeout_ms", "100") == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_session_export(c) == NULL && failed_with(FLX_ERR_INVALID_ARGUMENT, "not a live FlxClient"));
    /* Double free: detected and ignored. */
    flx_client_free(c);
    CHECK(failed_with(FLX_ERR_INVALID_ARGUMENT, "double free"));
}

int main(int argc, char **argv) {
    int undefined = argc > 1 && strcmp(argv[1], "--undefined") == 0;
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the token server\n");
        return 2;
    }
    if (undefined) {
        test_undefined_but_detected();
    } else {
        test_null_everywhere();
        test_bad_strings();
        test_options();
        test_sessions();
        test_after_clear();
        test_server_faults();
    }
    server_stop(&srv);
    printf("C bad-input suite%s: %d passed, %d failed\n", undefined ? " (undefined behaviour detection)" : "", g_checks - g_failures, g_failures);
    return g_failures == 0 ? 0 : 1;
}
