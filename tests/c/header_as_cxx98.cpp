// The C header from C++98: an `extern "C"` consumer on an old compiler. tests/cpp/test_standards.sh
// compiles this with -std=c++98 -Wall -Wextra -Werror -pedantic (g++ and clang++), links it
// against the library and runs it.
#include "flexiti_auth.h"

#include <cstdio>
#include <cstring>

// No static_assert in C++98: a negative array size fails the build.
typedef char status_codes_are_abi[(FLX_OK == 0 && FLX_ERR_INVALID_ARGUMENT == 1 && FLX_ERR_INTERNAL == 7) ? 1 : -1];
typedef char log_levels_are_abi[(FLX_LOG_OFF == 0 && FLX_LOG_DEBUG == 4) ? 1 : -1];
typedef char enums_are_int_sized[(sizeof(FlxStatus) == sizeof(int32_t) && sizeof(FlxLogLevel) == 4) ? 1 : -1];

static int failures = 0;

static void check(bool ok, const char *what) {
    if (!ok) {
        ++failures;
        std::fprintf(stderr, "  FAIL: %s\n", what);
    }
}

static void on_log(int32_t level, const char *line, void *user) {
    (void)level;
    (void)line;
    ++*static_cast<int *>(user);
}

int main() {
    check(flx_client_new(NULL, "id", "secret") == NULL, "flx_client_new(NULL, ...) returns NULL");
    check(flx_last_error_code() == FLX_ERR_INVALID_ARGUMENT, "and reports FLX_ERR_INVALID_ARGUMENT");
    check(std::strlen(flx_last_error_message()) > 0, "with a message");

    FlxClient *c = flx_client_new("http://127.0.0.1:9/", "cxx98-client", "cxx98-secret");
    check(c != NULL, "flx_client_new with good arguments");
    check(flx_client_set_option(c, "max_retries", "2") == FLX_OK, "a good option");
    check(flx_client_set_option(c, "no_such_option", "1") == FLX_ERR_INVALID_ARGUMENT, "an unknown option");
    int lines = 0;
    check(flx_client_set_log_callback(c, on_log, &lines) == FLX_OK, "a log callback");
    char *stats = flx_client_stats(c);
    check(stats != NULL && std::strstr(stats, "\"token_held\":false") != NULL, "stats of a fresh client");
    flx_string_free(stats);
    check(flx_session_export(c) == NULL && flx_last_error_code() == FLX_ERR_SESSION, "no session to export");
    flx_client_free(c);

    check(std::strcmp(flx_status_str(FLX_ERR_SESSION), "") != 0, "flx_status_str");
    check(flx_is_access_token_expired(1000, 1200, 2140, 60), "the expiry rule, expired");
    check(!flx_is_access_token_expired(1000, 1200, 2139, 60), "the expiry rule, valid");
    check(std::strlen(flx_version()) > 0, "flx_version");
    if (failures) return 1;
    std::printf("header_as_cxx98: the C header works from C++98 (flexiti-auth %s)\n", flx_version());
    return 0;
}
