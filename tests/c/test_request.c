/* flx_request from strict C99 (issue 12): authenticated POS-API calls against the token
 * server's POS-API style endpoints, asserting what went on the wire (the server's request log).
 * Run under valgrind by `make test-c-request` (no error, no leak). */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* How many API requests / token requests the server recorded. */
static int api_count(void) {
    char *log = server_control(&srv, "GET", "requests", NULL);
    int n = log ? count_occurrences(log, "\"kind\":\"api\"") : -1;
    free(log);
    return n;
}

static int token_count(void) {
    char *log = server_control(&srv, "GET", "requests", NULL);
    int n = log ? count_occurrences(log, "\"grant_type\":\"") : -1;
    free(log);
    return n;
}

/* "Bearer <the held token>" (from the cache, no request). */
static void held_bearer(FlxClient *c, char *out, size_t len) {
    char *t = flx_get_access_token(c, true);
    CHECK(t != NULL);
    snprintf(out, len, "Bearer %s", t ? t : "?");
    flx_string_free(t);
}

static void test_get_carries_the_current_token(void) {
    reset_server();
    FlxClient *c = new_client();
    int32_t status = -1;
    char *body = NULL;
    CHECK(flx_request(c, "GET", "flexiti/pos-api/v2.5/customers/42", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 200);
    char bearer[128];
    held_bearer(c, bearer, sizeof bearer);
    CHECK(body && strstr(body, bearer) != NULL);                       /* the current token went out */
    CHECK(body && strstr(body, "\"x-reference-id\":\"") != NULL);
    CHECK(body && strstr(body, "\"accept\":\"application/json\"") != NULL);
    CHECK(body && strstr(body, "\"path\":\"/flexiti/pos-api/v2.5/customers/42\"") != NULL);
    CHECK(strstr(flx_last_response_headers(), "content-type: application/json") != NULL);
    CHECK(token_count() == 1 && api_count() == 1);
    flx_string_free(body);

    /* A body and extra headers arrive as sent; a 422 and its body come back with FLX_OK. */
    CHECK(flx_request(c, "POST", "api/echo", "{\"amount\":10}", "X-Store: 7\nx-echo-status: 422\n", true, &status, &body) == FLX_OK);
    CHECK(status == 422);
    CHECK(body && strstr(body, "\"body\":\"{\\\"amount\\\":10}\"") != NULL);
    CHECK(body && strstr(body, "\"content-type\":\"application/json\"") != NULL);
    CHECK(body && strstr(body, "\"x-store\":\"7\"") != NULL);
    CHECK(api_count() == 2 && token_count() == 1);
    flx_string_free(body);
    flx_client_free(c);
}

static void test_invalid_token_resent_once_with_a_new_token(void) {
    reset_server();
    FlxClient *c = new_client();
    char old_bearer[128], new_bearer[128];
    held_bearer(c, old_bearer, sizeof old_bearer);
    int32_t status = -1;
    char *body = NULL;
    /* A POST, refused once with invalid_token: resent once, with a new token. */
    CHECK(flx_request(c, "POST", "api/invalid-token-once/c1", "{}", NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 200);
    held_bearer(c, new_bearer, sizeof new_bearer);
    CHECK(strcmp(old_bearer, new_bearer) != 0);
    CHECK(body && strstr(body, new_bearer) != NULL);
    CHECK(api_count() == 2 && token_count() == 2);
    flx_string_free(body);

    /* Refused twice: the second 401 comes back as is, never a third send. */
    free(server_control(&srv, "POST", "faults",
                        "[{\"api\":true,\"count\":2,\"status\":401,\"body\":\"{\\\"error\\\":\\\"invalid_token\\\"}\"}]"));
    CHECK(flx_request(c, "GET", "api/echo", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 401 && body && strstr(body, "invalid_token") != NULL);
    CHECK(api_count() == 4 && token_count() == 3);
    flx_string_free(body);
    flx_client_free(c);
}

static void test_revoked_by_another_client(void) {
    reset_server();
    FlxClient *a = new_client(), *b = new_client();
    char a_bearer[128];
    held_bearer(a, a_bearer, sizeof a_bearer);
    char *session = flx_session_export(a);
    CHECK(session && flx_session_import(b, session) == FLX_OK);
    flx_string_free(session);
    char *refreshed = flx_get_access_token(b, false); /* the server revokes a's token */
    CHECK(refreshed != NULL);
    flx_string_free(refreshed);
    int32_t status = -1;
    char *body = NULL;
    CHECK(flx_request(a, "GET", "api/echo", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 200);
    CHECK(body && strstr(body, a_bearer) == NULL);
    CHECK(api_count() == 2);
    flx_string_free(body);
    flx_client_free(a);
    flx_client_free(b);
}

static void test_retries(void) {
    reset_server();
    FlxClient *c = new_client();
    int32_t status = -1;
    char *body = NULL;
    /* GET: retried up to max_retries (2), then the last 503 and its body, FLX_OK. */
    CHECK(flx_request(c, "GET", "api/unavailable/5/g", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 503 && body && strstr(body, "\"attempt\":3") != NULL);
    CHECK(api_count() == 3);
    flx_string_free(body);
    /* POST on 503: sent once. */
    CHECK(flx_request(c, "POST", "api/unavailable/5/p?retry_after=0", "{}", NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 503 && api_count() == 4);
    flx_string_free(body);
    /* POST on a reset: FLX_ERR_NETWORK, sent once, outputs cleared. */
    free(server_control(&srv, "POST", "faults", "[{\"api\":true,\"reset_after_bytes\":0}]"));
    status = 99;
    body = (char *)"not touched";
    CHECK(flx_request(c, "POST", "api/echo", "{}", NULL, true, &status, &body) == FLX_ERR_NETWORK);
    CHECK(status == 0 && body == NULL);
    CHECK(api_count() == 5);
    CHECK(strcmp(flx_last_response_headers(), "") == 0);
    /* GET on a reset: retried. */
    free(server_control(&srv, "POST", "faults", "[{\"api\":true,\"reset_after_bytes\":0}]"));
    CHECK(flx_request(c, "GET", "api/echo", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 200 && api_count() == 7);
    flx_string_free(body);
    flx_client_free(c);
}

static void test_refused_arguments_send_nothing(void) {
    reset_server();
    FlxClient *c = new_client();
    const char *bad_headers[] = {"X-A: 1\r\nX-B: 2", "Authorization: Bearer x", "host: evil", "no colon", "X-A: 1\rX-B: 2"};
    int32_t status = 5;
    char *body = NULL;
    for (size_t i = 0; i < sizeof bad_headers / sizeof bad_headers[0]; i++) {
        CHECK(flx_request(c, "GET", "api/echo", NULL, bad_headers[i], false, &status, &body) == FLX_ERR_INVALID_ARGUMENT);
        CHECK(status == 0 && body == NULL);
    }
    CHECK(flx_request(c, "TRACE", "api/echo", NULL, NULL, true, &status, &body) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_request(c, "GET", "a path", NULL, NULL, true, &status, &body) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_request(c, NULL, "api/echo", NULL, NULL, true, &status, &body) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_request(c, "GET", "api/echo", NULL, NULL, true, NULL, &body) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_request(c, "GET", "api/echo", NULL, NULL, true, &status, NULL) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(flx_request(NULL, "GET", "api/echo", NULL, NULL, true, &status, &body) == FLX_ERR_INVALID_ARGUMENT);
    CHECK(strlen(flx_last_error_message()) > 0);
    CHECK(token_count() == 0 && api_count() == 0); /* nothing sent, not even a token request */
    flx_client_free(c);
}

static void test_oversized_answer(void) {
    reset_server();
    FlxClient *c = new_client();
    int32_t status = -1;
    char *body = NULL;
    CHECK(flx_request(c, "GET", "api/oversize/9000000", NULL, NULL, true, &status, &body) == FLX_ERR_BAD_RESPONSE);
    CHECK(body == NULL && status == 0);
    CHECK(strstr(flx_last_error_message(), "max_response_bytes") != NULL);
    CHECK(flx_client_set_option(c, "max_response_bytes", "9000000") == FLX_OK);
    CHECK(flx_request(c, "GET", "api/oversize/9000000", NULL, NULL, true, &status, &body) == FLX_OK);
    CHECK(status == 200 && body && strlen(body) == 9000000);
    flx_string_free(body);
    flx_client_free(c);
}

int main(void) {
    if (server_start(&srv) != 0) {
        fprintf(stderr, "cannot start the token server\n");
        return 2;
    }
    test_get_carries_the_current_token();
    test_invalid_token_resent_once_with_a_new_token();
    test_revoked_by_another_client();
    test_retries();
    test_refused_arguments_send_nothing();
    test_oversized_answer();
    server_stop(&srv);
    printf("C flx_request suite: %d passed, %d failed\n", g_checks - g_failures, g_failures);
    return g_failures == 0 ? 0 : 1;
}
