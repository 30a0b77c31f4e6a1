/* Test harness for the C suite: the local token server as a child process, its control API
 * over a raw loopback socket, and tiny assertion helpers. */
#ifndef FLX_TEST_HARNESS_H
#define FLX_TEST_HARNESS_H

#include <stddef.h>

typedef struct {
    int pid;
    int stdin_fd;
    char url[128];
    char host[64];
    int port;
} token_server;

/* Start $FLX_TOKEN_SERVER (or target/debug/flexiti-token-server) on an ephemeral port. */
int server_start(token_server *s);
void server_stop(token_server *s);

/* One control request; returns the body (malloc'd, caller frees) or NULL. */
char *server_control(const token_server *s, const char *method, const char *path, const char *json_body);

/* Number of token requests the server has recorded. */
int server_request_count(const token_server *s);
/* The grant_type of the last recorded token request, copied into out. */
void server_last_grant(const token_server *s, char *out, size_t out_len);
/* How many times `needle` occurs in `haystack`. */
int count_occurrences(const char *haystack, const char *needle);

extern int g_failures;
extern int g_checks;
#define CHECK(cond) do { g_checks++; if (!(cond)) { g_failures++; \
    fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)

#endif
