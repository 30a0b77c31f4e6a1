#define _POSIX_C_SOURCE 200809L
#include "harness.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

int g_failures = 0;
int g_checks = 0;

int server_start(token_server *s) {
    const char *bin = getenv("FLX_TOKEN_SERVER");
    if (!bin) bin = "target/debug/flexiti-token-server";
    int in_pipe[2], out_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        close(in_pipe[1]);
        close(out_pipe[0]);
        execl(bin, bin, "--port", "0", "--watch-stdin", (char *)NULL);
        perror("exec token server");
        _exit(127);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    s->pid = (int)pid;
    s->stdin_fd = in_pipe[1];
    size_t n = 0;
    char c;
    while (n + 1 < sizeof s->url && read(out_pipe[0], &c, 1) == 1 && c != '\n') s->url[n++] = c;
    s->url[n] = '\0';
    close(out_pipe[0]);
    if (sscanf(s->url, "http://%63[^:]:%d/", s->host, &s->port) != 2) {
        fprintf(stderr, "token server printed '%s'\n", s->url);
        return -1;
    }
    return 0;
}

void server_stop(token_server *s) {
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
}

char *server_control(const token_server *s, const char *method, const char *path, const char *json_body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return NULL;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)s->port);
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return NULL;
    }
    const char *body = json_body ? json_body : "";
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "%s /_control/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, strlen(body));
    if (write(fd, head, (size_t)hn) != hn || write(fd, body, strlen(body)) != (ssize_t)strlen(body)) {
        close(fd);
        return NULL;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    ssize_t r;
    while (buf && (r = read(fd, buf + len, cap - len - 1)) > 0) {
        len += (size_t)r;
        if (cap - len < 1024) {
            char *bigger = realloc(buf, cap * 2);
            if (!bigger) { free(buf); buf = NULL; break; }
            buf = bigger;
            cap *= 2;
        }
    }
    close(fd);
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
