/* The C suite's harness (tests/c/harness.h) for Windows: the same control calls over a Winsock
 * loopback socket. The token server is a Linux program, so it is not started from here: the
 * runner (tests/platforms/run-c-suite.sh) starts it on the Linux side and passes its URL in
 * FLX_TOKEN_SERVER_URL; server_start only reads it and server_stop leaves the server to the runner. */
#define WIN32_LEAN_AND_MEAN
#include <winsock2.h>
#include <ws2tcpip.h>

#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int g_failures = 0;
int g_checks = 0;

int server_start(token_server *s) {
    WSADATA wsa;
    if (WSAStartup(MAKEWORD(2, 2), &wsa) != 0) return -1;
    const char *url = getenv("FLX_TOKEN_SERVER_URL");
    if (!url || strlen(url) + 1 > sizeof s->url) {
        fprintf(stderr, "FLX_TOKEN_SERVER_URL is not set: run through tests/platforms/run-c-suite.sh\n");
        return -1;
    }
    strcpy(s->url, url);
    s->pid = 0;
    s->stdin_fd = -1;
    if (sscanf(s->url, "http://%63[^:]:%d/", s->host, &s->port) != 2) {
        fprintf(stderr, "FLX_TOKEN_SERVER_URL is '%s', not http://HOST:PORT/\n", s->url);
        return -1;
    }
    return 0;
}

void server_stop(token_server *s) {
    (void)s;
    WSACleanup();
}

static int send_all(SOCKET fd, const char *p, size_t n) {
    while (n > 0) {
        int w = send(fd, p, (int)n, 0);
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

char *server_control(const token_server *s, const char *method, const char *path, const char *json_body) {
    SOCKET fd = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (fd == INVALID_SOCKET) return NULL;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)s->port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        closesocket(fd);
        return NULL;
    }
    const char *body = json_body ? json_body : "";
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "%s /_control/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %u\r\n\r\n",
                      method, path, (unsigned)strlen(body));
    if (send_all(fd, head, (size_t)hn) != 0 || send_all(fd, body, strlen(body)) != 0) {
        closesocket(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    int r;
    while (buf && (r = recv(fd, buf + len, (int)(cap - len - 1), 0)) > 0) {
        len += (size_t)r;
        if (cap - len < 1024) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); buf = NULL; break; }
            buf = bigger;
            cap *= 2;
        }
    }
    closesocket(fd);
    if (!buf) return NULL;
    buf[len] = '\0';
    char *start = strstr(buf, "\r\n\r\n");
    if (!start) { free(buf); return NULL; }
    memmove(buf, start + 4, strlen(start + 4) + 1);
    return buf;
}

int count_occurrences(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

int server_request_count(const token_server *s) {
    char *body = server_control(s, "GET", "requests", NULL);
    if (!body) return -1;
    int n = count_occurrences(body, "\"seq\"");
    free(body);
    return n;
}

void server_last_grant(const token_server *s, char *out, size_t out_len) {
    out[0] = '\0';
    char *body = server_control(s, "GET", "requests", NULL);
    if (!body) return;
    const char *last = NULL;
    for (const char *p = body; (p = strstr(p, "\"grant_type\":\"")) != NULL; p++) last = p;
    if (last) {
        last += strlen("\"grant_type\":\"");
        size_t i = 0;
        while (last[i] && last[i] != '"' && i + 1 < out_len) { out[i] = last[i]; i++; }
        out[i] = '\0';
    }
    free(body);
}
