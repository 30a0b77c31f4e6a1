/* Shared helpers of the C benches: a monotonic clock, resident memory, and the result format.
 * Every result is one JSON line on stdout: {"id":"…","unit":"…","samples":[…]}; bench/report.py
 * turns them into the table. Anything for humans goes to stderr. */
#ifndef FLX_BENCH_COMMON_H
#define FLX_BENCH_COMMON_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "flexiti_auth.h" /* bench_cached_access; only declarations (footprint.c dlopens the library) */

static inline uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Resident set size of this process, in KiB (from /proc/self/statm). */
static inline long rss_kib(void) {
    long pages_total = 0, pages_resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = -1;
    fclose(f);
    return pages_resident < 0 ? -1 : pages_resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static inline void emit(const char *id, const char *unit, const double *samples, int n) {
    printf("{\"id\":\"%s\",\"unit\":\"%s\",\"samples\":[", id, unit);
    for (int i = 0; i < n; i++) printf("%s%.6g", i ? "," : "", samples[i]);
    printf("]}\n");
    fflush(stdout);
}

static inline void emit1(const char *id, const char *unit, double value) { emit(id, unit, &value, 1); }

/* Session JSON holding a valid token whose access token is `access_len` bytes of 'A'. */
static inline char *bench_session_json(size_t access_len) {
    size_t cap = access_len + 512;
    char *s = malloc(cap);
    char *tok = malloc(access_len + 1);
    if (!s || !tok) { perror("malloc"); exit(2); }
    memset(tok, 'A', access_len);
    tok[access_len] = 0;
    snprintf(s, cap,
             "{\"token\":{\"token_type\":\"bearer\",\"access_token\":\"%s\",\"expires_in\":1200,"
             "\"refresh_token\":\"RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR\"},"
             "\"created_at\":%lld,\"expires_in\":1200}",
             tok, (long long)time(NULL));
    free(tok);
    return s;
}

#define DIE(...) do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(2); } while (0)

/* ns per cached flx_get_access_token(c, true) + flx_string_free, over n calls. */
static inline double bench_cached_access(FlxClient *c, long n) {
    static volatile char sink;
    uint64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        char *p = flx_get_access_token(c, true);
        sink = p[0];
        flx_string_free(p);
    }
    (void)sink;
    return (double)(now_ns() - t0) / (double)n;
}

#endif
