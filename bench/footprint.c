/* Footprint, in a fresh process each run (bench/run.sh runs it several times):
 *   load       dlopen of the library, then flx_client_new (+ proxy option): ms
 *   rss        resident memory: after dlopen, after one client with a token over HTTPS (ca_file,
 *              connection open), per extra client doing the same (average over 50)
 *   first      the first token request of a client over HTTP and over HTTPS (transport built,
 *              connection opened; for HTTPS the roots parsed and the TLS handshake): ms
 * Usage: footprint LIB HTTP_URL HTTPS_URL CA
 */
#include "common.h"
#include <dlfcn.h>
#include <stdbool.h>

typedef struct FlxClient FlxClient;
static FlxClient *(*p_new)(const char *, const char *, const char *);
static int32_t (*p_opt)(FlxClient *, const char *, const char *);
static char *(*p_get)(FlxClient *, bool);
static void (*p_sfree)(char *);
static void (*p_free)(FlxClient *);
static const char *(*p_msg)(void);

static void *sym(void *h, const char *name) {
    void *p = dlsym(h, name);
    if (!p) DIE("dlsym %s: %s", name, dlerror());
    return p;
}

static FlxClient *client(const char *url, const char *ca) {
    FlxClient *c = p_new(url, "bench-client", "bench-secret");
    if (!c || p_opt(c, "proxy", "none") != 0) DIE("client: %s", p_msg());
    if (ca && p_opt(c, "ca_file", ca) != 0) DIE("ca_file: %s", p_msg());
    return c;
}

static void get(FlxClient *c) {
    char *p = p_get(c, false);
    if (!p) DIE("token: %s", p_msg());
    p_sfree(p);
}

int main(int argc, char **argv) {
    if (argc < 5) DIE("usage: %s LIB HTTP_URL HTTPS_URL CA", argv[0]);
    long rss0 = rss_kib();
    uint64_t t0 = now_ns();
    void *h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (!h) DIE("dlopen: %s", dlerror());
    uint64_t t1 = now_ns();
    p_new = sym(h, "flx_client_new");
    p_opt = sym(h, "flx_client_set_option");
    p_get = sym(h, "flx_get_access_token");
    p_sfree = sym(h, "flx_string_free");
    p_free = sym(h, "flx_client_free");
    p_msg = sym(h, "flx_last_error_message");
    FlxClient *c = client(argv[2], NULL);
    uint64_t t2 = now_ns();
    long rss_loaded = rss_kib();
    emit1("footprint.dlopen", "ms", (double)(t1 - t0) / 1e6);
    emit1("footprint.load_and_create", "ms", (double)(t2 - t0) / 1e6);
    emit1("footprint.rss_after_load", "KiB", (double)(rss_loaded - rss0));

    uint64_t t3 = now_ns();
    get(c);
    emit1("footprint.first_http", "ms", (double)(now_ns() - t3) / 1e6);

    long rss_before_tls = rss_kib();
    FlxClient *tls = client(argv[3], argv[4]);
    uint64_t t4 = now_ns();
    get(tls);
    emit1("footprint.first_https", "ms", (double)(now_ns() - t4) / 1e6);
    long rss_one = rss_kib();
    emit1("footprint.rss_first_https_client", "KiB", (double)(rss_one - rss_before_tls));

    enum { EXTRA = 50 };
    FlxClient *more[EXTRA];
    for (int i = 0; i < EXTRA; i++) {
        more[i] = client(argv[3], argv[4]);
        get(more[i]);
    }
    long rss_more = rss_kib();
    emit1("footprint.rss_per_https_client", "KiB", (double)(rss_more - rss_one) / EXTRA);
    for (int i = 0; i < EXTRA; i++) p_free(more[i]);
    p_free(tls);
    p_free(c);
    return 0;
}
