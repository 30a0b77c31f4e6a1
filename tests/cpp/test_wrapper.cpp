// Tests of include/flexiti_auth.hpp (the C++11-and-later wrapper) against the real library and
// the local token server ($FLX_TOKEN_SERVER, started here with --watch-stdin so it dies with this
// process). What went on the wire is read back from the server's control API (/_control/requests).
// Written in C++11: `make test-cpp` builds and runs it as C++11, C++14 and C++17, with g++ and
// clang++ (tests/cpp/test_standards.sh).
//
//   c++ -std=c++11 -Wall -Wextra -Werror -pedantic -I include -DFLX_EXPECTED_VERSION='"0.1.0"'
//       tests/cpp/test_wrapper.cpp -L target/debug -lflexiti_auth -pthread
//   FLX_TOKEN_SERVER=target/debug/flexiti-token-server ./test_wrapper

#include "flexiti_auth.hpp"

#include <arpa/inet.h>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <iostream>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#if FLEXITI_AUTH_CXX17
#include <optional>
#include <string_view>
#endif
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <type_traits>
#include <typeinfo>
#include <unistd.h>
#include <utility>
#include <vector>

#ifndef FLX_EXPECTED_VERSION
#error "compile with -DFLX_EXPECTED_VERSION=\"x.y.z\" (the version in Cargo.toml)"
#endif

namespace {

// ---- the wrapper's compile-time contract ------------------------------------------------------

static_assert(!std::is_copy_constructible<flexiti::Client>::value, "Client must not be copyable");
static_assert(!std::is_copy_assignable<flexiti::Client>::value, "Client must not be copy-assignable");
static_assert(std::is_nothrow_move_constructible<flexiti::Client>::value, "Client must move without throwing");
static_assert(std::is_nothrow_move_assignable<flexiti::Client>::value, "Client must move-assign without throwing");
static_assert(!std::is_default_constructible<flexiti::Client>::value, "a Client needs credentials");
static_assert(std::is_base_of<std::runtime_error, flexiti::Error>::value, "Error is a std::runtime_error");
static_assert(std::is_base_of<flexiti::Error, flexiti::InvalidArgumentError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::NetworkError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::HttpStatusError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::AuthRejectedError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::BadResponseError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::SessionError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::InternalError>::value, "");
static_assert(std::is_base_of<flexiti::Error, flexiti::StoreError>::value, "");
static_assert(std::is_same<decltype(std::declval<flexiti::Error>().status()), std::int32_t>::value, "");
static_assert(std::is_same<decltype(std::declval<flexiti::Client&>().token_json()), std::string>::value, "");
static_assert(std::is_same<decltype(std::declval<flexiti::Client&>().access_token()), std::string>::value, "");
static_assert(std::is_same<decltype(std::declval<flexiti::Client&>().export_session()), std::string>::value, "");
static_assert(std::is_same<decltype(std::declval<flexiti::Client&>().request("GET", "x")), flexiti::Response>::value, "");

// The one difference between standards: the log line's type (and FLEXITI_AUTH_STRING_VIEW).
#if __cplusplus >= 201703L
static_assert(FLEXITI_AUTH_STRING_VIEW == 1, "C++17 and later: std::string_view log lines");
static_assert(std::is_same<flexiti::Client::LogLine, std::string_view>::value, "");
#else
static_assert(FLEXITI_AUTH_STRING_VIEW == 0, "before C++17: std::string log lines");
static_assert(std::is_same<flexiti::Client::LogLine, const std::string&>::value, "");
#endif
static_assert(std::is_same<flexiti::Client::LogCallback,
                           std::function<void(std::int32_t, flexiti::Client::LogLine)>>::value,
              "LogCallback is a std::function of (level, line)");

const char* const kClientId = "flexiti-test-client";
const char* const kSecret = "flexiti-test-secret";

// ---- a tiny harness ---------------------------------------------------------------------------

int g_failures = 0;
std::string g_current;

void fail(const std::string& what, int line) {
    ++g_failures;
    std::cerr << "  FAIL [" << g_current << "] line " << line << ": " << what << "\n";
}

#define CHECK(cond)                              \
    do {                                         \
        if (!(cond)) fail(#cond, __LINE__);      \
    } while (0)

#define CHECK_EQ(a, b)                                                                           \
    do {                                                                                         \
        const auto va_ = (a);                                                                    \
        const auto vb_ = (b);                                                                    \
        if (!(va_ == vb_)) fail(std::string(#a " == " #b ": got ") + show(va_) + " vs " + show(vb_), __LINE__); \
    } while (0)

// Tokens from the test server are test data, but keep output short anyway.
std::string show(const std::string& s) { return "\"" + (s.size() > 80 ? s.substr(0, 80) + "..." : s) + "\""; }
template <class T>
std::string show(const T& v) {
    return std::to_string(v);
}

// CHECK_THROWS(Type, expr): expr throws exactly the dynamic type Type (caught as flexiti::Error);
// the caught exception is available afterwards as `caught` (a copy of its status and message).
struct Caught {
    Caught() : thrown(false), status(-1) {}
    bool thrown;
    std::int32_t status;
    std::string message;
};

template <class Expected, class F>
Caught expect_throw(F&& f, const char* expr, int line) {
    Caught c;
    try {
        f();
        fail(std::string(expr) + " did not throw", line);
    } catch (const flexiti::Error& e) {
        c.thrown = true;
        c.status = e.status();
        c.message = e.what();
        if (typeid(e) != typeid(Expected)) {
            fail(std::string(expr) + " threw the wrong class (status " + std::to_string(e.status()) + ": " + e.what() + ")",
                 line);
        }
    } catch (const std::exception& e) {
        fail(std::string(expr) + " threw a non-flexiti exception: " + e.what(), line);
    }
    return c;
}
#define EXPECT_THROW(Type, expr) expect_throw<Type>([&] { (void)(expr); }, #expr, __LINE__)

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

size_t count_of(const std::string& hay, const std::string& needle) {
    size_t n = 0;
    for (size_t at = hay.find(needle); at != std::string::npos; at = hay.find(needle, at + needle.size())) ++n;
    return n;
}

// The value of the first "key":"value" in json (values here are hex tokens: no escapes).
std::string json_str(const std::string& json, const std::string& key) {
    const std::string pat = "\"" + key + "\":\"";
    size_t at = json.find(pat);
    if (at == std::string::npos) return "";
    at += pat.size();
    size_t end = json.find('"', at);
    return end == std::string::npos ? "" : json.substr(at, end - at);
}

long long json_num(const std::string& json, const std::string& key) {
    const std::string pat = "\"" + key + "\":";
    size_t at = json.find(pat);
    if (at == std::string::npos) return -1;
    return std::strtoll(json.c_str() + at + pat.size(), nullptr, 10);
}

// ---- the token server -------------------------------------------------------------------------

class TokenServer {
public:
    TokenServer() {
        const char* bin = std::getenv("FLX_TOKEN_SERVER");
        if (!bin || !*bin) throw std::runtime_error("FLX_TOKEN_SERVER is not set (run through make test-cpp)");
        int in[2], out[2];
        if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
        pid_ = fork();
        if (pid_ < 0) throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            dup2(in[0], 0);
            dup2(out[1], 1);
            close(in[0]);
            close(in[1]);
            close(out[0]);
            close(out[1]);
            execl(bin, bin, "--port", "0", "--watch-stdin", "--client-id", kClientId, "--client-secret", kSecret,
                  static_cast<char*>(nullptr));
            _exit(127);
        }
        close(in[0]);
        close(out[1]);
        stdin_ = in[1];
        fcntl(stdin_, F_SETFD, FD_CLOEXEC);
        std::string line;
        char ch;
        while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
        close(out[0]);
        if (line.rfind("http://127.0.0.1:", 0) != 0) throw std::runtime_error("token server printed: " + line);
        url_ = line;
        port_ = std::atoi(line.c_str() + std::strlen("http://127.0.0.1:"));
    }
    ~TokenServer() {
        close(stdin_);  // --watch-stdin: the server exits
        int status = 0;
        waitpid(pid_, &status, 0);
    }
    TokenServer(const TokenServer&) = delete;
    TokenServer& operator=(const TokenServer&) = delete;

    const std::string& url() const { return url_; }

    struct Response {
        int status = 0;
        std::string body;
    };

    // One HTTP/1.1 request on a fresh loopback connection.
    Response http(const std::string& method, const std::string& path, const std::string& body = "") const {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(static_cast<uint16_t>(port_));
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            if (fd >= 0) close(fd);
            throw std::runtime_error("cannot connect to the token server");
        }
        std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                          "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
                          "\r\nConnection: close\r\n\r\n" + body;
        for (size_t sent = 0; sent < req.size();) {
            ssize_t n = send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
            if (n <= 0) {
                close(fd);
                throw std::runtime_error("send to the token server failed");
            }
            sent += static_cast<size_t>(n);
        }
        std::string raw;
        char buf[4096];
        size_t header_end = std::string::npos;
        long long length = -1;
        for (;;) {
            ssize_t n = recv(fd, buf, sizeof buf, 0);
            if (n <= 0) break;
            raw.append(buf, static_cast<size_t>(n));
            if (header_end == std::string::npos && (header_end = raw.find("\r\n\r\n")) != std::string::npos) {
                std::string head = raw.substr(0, header_end);
                for (auto& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                size_t cl = head.find("content-length:");
                if (cl != std::string::npos) length = std::atoll(head.c_str() + cl + 15);
            }
            if (header_end != std::string::npos && length >= 0 &&
                raw.size() >= header_end + 4 + static_cast<size_t>(length))
                break;
        }
        close(fd);
        Response r;
        if (raw.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos)
            throw std::runtime_error("bad answer from the token server control API");
        r.status = std::atoi(raw.c_str() + 9);
        r.body = raw.substr(header_end + 4);
        return r;
    }

    std::string control(const std::string& method, const std::string& path, const std::string& body = "") const {
        Response r = http(method, path, body);
        if (r.status != 200) throw std::runtime_error(method + " " + path + " answered " + std::to_string(r.status));
        return r.body;
    }

    void reset() const { control("POST", "/_control/reset"); }
    std::string requests() const { return control("GET", "/_control/requests"); }
    void forget_requests() const { control("DELETE", "/_control/requests"); }
    long long token_requests() const { return json_num(control("GET", "/_control/stats"), "token_requests"); }
    std::string issued() const { return control("GET", "/_control/issued"); }
    void faults(const std::string& json) const { control("POST", "/_control/faults", json); }

private:
    pid_t pid_ = -1;
    int stdin_ = -1;
    int port_ = 0;
    std::string url_;
};

const TokenServer* g_server = nullptr;

flexiti::Client new_client(const std::string& secret = kSecret) {
    flexiti::Client c(g_server->url(), kClientId, secret);
    c.set_option("max_retries", 0);
    return c;
}

// ---- the tests --------------------------------------------------------------------------------

void test_version_and_expiry_rule() {
    CHECK_EQ(flexiti::Client::version(), std::string(FLX_EXPECTED_VERSION));
    CHECK_EQ(flexiti::Client::version(), std::string(flx_version()));
    // now - created_at >= expires_in - threshold, with 60 s as the default threshold.
    CHECK(!flexiti::Client::is_access_token_expired(1000, 1200, 2139));
    CHECK(flexiti::Client::is_access_token_expired(1000, 1200, 2140));
    CHECK(!flexiti::Client::is_access_token_expired(1000, 1200, 2199, 0));
    CHECK(flexiti::Client::is_access_token_expired(1000, 1200, 2200, 0));
    CHECK(flexiti::Client::is_access_token_expired(1000, 60, 1000, 60));
}

void test_new_token_then_cached() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    std::string json = c.token_json(true);  // nothing held: a new token even with use_cache
    std::string reqs = s.requests();
    CHECK_EQ(count_of(reqs, "\"seq\":"), size_t{1});
    CHECK(contains(reqs, "\"grant_type\":\"client_credentials\""));
    CHECK(contains(reqs, "\"client_id\":\"flexiti-test-client\""));
    CHECK(contains(reqs, "\"path\":\"/flexiti/online-api/oauth/token\""));
    std::string access = json_str(json, "access_token");
    CHECK(!access.empty());
    CHECK(contains(s.issued(), "\"" + access + "\""));
    CHECK_EQ(json_str(json, "token_type"), std::string("bearer"));
    CHECK_EQ(json_num(json, "expires_in"), 1200LL);
    long long created = json_num(json, "created_at");
    long long now = static_cast<long long>(time(nullptr));
    CHECK(created <= now && created >= now - 30);
    CHECK(!contains(json, kSecret));

    // Cached: the same token, no request.
    CHECK_EQ(c.access_token(true), access);
    CHECK_EQ(c.token_json(true), json);
    CHECK_EQ(s.token_requests(), 1LL);
}

void test_refresh_rotates_the_token() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    std::string first = c.token_json();
    s.forget_requests();
    std::string second_access = c.access_token();  // valid token, use_cache=false: refresh
    std::string reqs = s.requests();
    CHECK_EQ(count_of(reqs, "\"seq\":"), size_t{1});
    CHECK(contains(reqs, "\"grant_type\":\"refresh_token\""));
    CHECK(contains(reqs, "\"refresh_token\":\"" + json_str(first, "refresh_token") + "\""));
    CHECK(second_access != json_str(first, "access_token"));
    CHECK(contains(s.issued(), "\"" + second_access + "\""));
    CHECK_EQ(c.access_token(true), second_access);
    CHECK_EQ(s.token_requests(), 2LL);
}

void test_clear_forgets_the_token() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    std::string first = c.access_token();
    c.clear();
    auto caught = EXPECT_THROW(flexiti::SessionError, c.export_session());
    CHECK_EQ(caught.status, std::int32_t{FLX_ERR_SESSION});
    s.forget_requests();
    std::string second = c.access_token(true);  // nothing held: client_credentials again
    std::string reqs = s.requests();
    CHECK_EQ(count_of(reqs, "\"seq\":"), size_t{1});
    CHECK(contains(reqs, "\"grant_type\":\"client_credentials\""));
    CHECK(second != first);
}

void test_session_export_import() {
    const auto& s = *g_server;
    flexiti::Client a = new_client();
    std::string access = a.access_token();
    std::string session = a.export_session();
    CHECK(contains(session, "\"token\""));
    CHECK(contains(session, access));
    CHECK_EQ(json_num(session, "expires_in"), 1200LL);

    flexiti::Client b = new_client();
    b.import_session(session);
    long long before = s.token_requests();
    CHECK_EQ(b.access_token(true), access);
    CHECK_EQ(s.token_requests(), before);

    // A refresh from the imported session uses its refresh token.
    s.forget_requests();
    std::string refreshed = b.access_token();
    CHECK(contains(s.requests(), "\"grant_type\":\"refresh_token\""));
    CHECK(refreshed != access);

    // Bad session JSON: SessionError, the held token stays.
    auto caught = EXPECT_THROW(flexiti::SessionError, b.import_session("{\"token\": 42}"));
    CHECK_EQ(caught.status, std::int32_t{FLX_ERR_SESSION});
    EXPECT_THROW(flexiti::SessionError, b.import_session("not json"));
    CHECK_EQ(b.access_token(true), refreshed);
}

void test_wrong_secret_is_auth_rejected() {
    const auto& s = *g_server;
    const std::string wrong = "wrong-secret-7f3a9c";
    flexiti::Client c = new_client(wrong);
    auto caught = EXPECT_THROW(flexiti::AuthRejectedError, c.access_token());
    CHECK_EQ(caught.status, std::int32_t{FLX_ERR_AUTH_REJECTED});
    CHECK(!caught.message.empty());
    CHECK(!contains(caught.message, wrong));
    CHECK(contains(s.requests(), "\"grant_type\":\"client_credentials\""));
    EXPECT_THROW(flexiti::SessionError, c.export_session());  // nothing was stored
    // Catchable through the base classes too.
    bool as_runtime_error = false;
    try {
        c.access_token();
    } catch (const std::runtime_error& e) {
        as_runtime_error = std::string(e.what()) == caught.message;
    }
    CHECK(as_runtime_error);
}

void test_options() {
    const auto& s = *g_server;
    flexiti::Client c(s.url(), kClientId, kSecret);
    auto unknown = EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("no_such_option", "1"));
    CHECK_EQ(unknown.status, std::int32_t{FLX_ERR_INVALID_ARGUMENT});
    CHECK(contains(unknown.message, "no_such_option"));
    auto bad = EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("max_retries", "lots"));
    CHECK(contains(bad.message, "max_retries"));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("max_retries", 11));  // integer overload, out of range
    EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("timeout_ms", -5));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("expiration_threshold_secs", 86401LL));

    // The integer overloads reach the library: max_retries=1 survives exactly one 500.
    c.set_option("max_retries", 1u);
    s.faults("[{\"status\":500,\"count\":1}]");
    std::string token = c.access_token();
    CHECK_EQ(count_of(s.requests(), "\"seq\":"), size_t{2});
    // A threshold at the token's lifetime makes every held token expired: use_cache still asks.
    c.set_option("expiration_threshold_secs", static_cast<short>(1200));
    s.forget_requests();
    std::string again = c.access_token(true);
    CHECK(again != token);
    CHECK(contains(s.requests(), "\"grant_type\":\"client_credentials\""));
    // String overload, including from a string literal.
    c.set_option("token_path", std::string("flexiti/pos-api/v2.5/oauth/token"));
    c.set_option("expiration_threshold_secs", "60");
    s.forget_requests();
    std::string v25 = c.access_token();
    CHECK(contains(s.requests(), "\"path\":\"/flexiti/pos-api/v2.5/oauth/token\""));
    CHECK_EQ(c.access_token(true), v25);  // threshold back at 60 s: cached again
}

void test_constructor_errors() {
    const auto& s = *g_server;
    auto empty_id = EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client(s.url(), "", kSecret));
    CHECK_EQ(empty_id.status, std::int32_t{FLX_ERR_INVALID_ARGUMENT});
    EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client(s.url(), kClientId, ""));
    EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client("", kClientId, kSecret));
    // Plain http only for loopback hosts.
    EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client("http://posapi.flexiti.fi/", kClientId, kSecret));
}

void test_embedded_nul_is_refused() {
    const auto& s = *g_server;
    // "flexiti-test-secret\0junk" would be read by C as the right secret: it must be refused.
    const std::string nul_secret = std::string(kSecret) + std::string(1, '\0') + "junk";
    auto ctor = EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client(s.url(), kClientId, nul_secret));
    CHECK(contains(ctor.message, "client_secret"));
    CHECK(!contains(ctor.message, kSecret));
    EXPECT_THROW(flexiti::InvalidArgumentError,
                 flexiti::Client(s.url(), std::string(kClientId) + std::string(1, '\0'), kSecret));
    EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client(s.url() + std::string(1, '\0') + "x", kClientId, kSecret));

    flexiti::Client c = new_client();
    EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option(std::string("max_retries\0", 12), "1"));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.set_option("token_path", std::string("a\0b", 3)));
    std::string access = c.access_token();
    std::string session = c.export_session();
    EXPECT_THROW(flexiti::InvalidArgumentError, c.import_session(session + std::string(1, '\0') + "{}"));
    CHECK_EQ(c.access_token(true), access);
    CHECK_EQ(s.token_requests(), 1LL);
}

void test_http_and_network_errors() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    std::string held = c.access_token();

    s.faults("[{\"status\":500,\"body\":\"oops\"}]");
    auto http = EXPECT_THROW(flexiti::HttpStatusError, c.access_token());
    CHECK_EQ(http.status, std::int32_t{FLX_ERR_HTTP_STATUS});
    CHECK(contains(http.message, "500"));
    CHECK_EQ(c.access_token(true), held);  // failure left the held token unchanged

    s.faults("[{\"status\":200,\"body\":\"this is not a token\"}]");
    auto badresp = EXPECT_THROW(flexiti::BadResponseError, c.access_token());
    CHECK_EQ(badresp.status, std::int32_t{FLX_ERR_BAD_RESPONSE});
    CHECK_EQ(c.access_token(true), held);

    // A loopback port nobody listens on.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    flexiti::Client offline("http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/", kClientId, kSecret);
    offline.set_option("max_retries", 0);
    offline.set_option("connect_timeout_ms", 2000);
    auto net = EXPECT_THROW(flexiti::NetworkError, offline.access_token());
    CHECK_EQ(net.status, std::int32_t{FLX_ERR_NETWORK});
}

void test_move_semantics() {
    const auto& s = *g_server;
    flexiti::Client a = new_client();
    std::string access = a.access_token();
    FlxClient* handle = a.native_handle();
    CHECK(handle != nullptr);
    CHECK(static_cast<bool>(a));

    flexiti::Client b(std::move(a));
    CHECK(!a);  // NOLINT(bugprone-use-after-move): the moved-from state is specified
    CHECK(a.native_handle() == nullptr);
    CHECK(b.native_handle() == handle);
    CHECK_EQ(b.access_token(true), access);  // the token moved with the handle: no request
    CHECK_EQ(s.token_requests(), 1LL);

    auto moved = EXPECT_THROW(flexiti::InvalidArgumentError, a.access_token(true));
    CHECK(contains(moved.message, "moved-from"));
    EXPECT_THROW(flexiti::InvalidArgumentError, a.token_json());
    EXPECT_THROW(flexiti::InvalidArgumentError, a.export_session());
    EXPECT_THROW(flexiti::InvalidArgumentError, a.import_session("{}"));
    EXPECT_THROW(flexiti::InvalidArgumentError, a.set_option("max_retries", 1));
    EXPECT_THROW(flexiti::InvalidArgumentError, a.clear());
    CHECK_EQ(s.token_requests(), 1LL);

    // Move assignment: the target's old handle is released, the moved-from one is usable again
    // once assigned to.
    flexiti::Client c = new_client();
    std::string other = c.access_token();
    c = std::move(b);
    CHECK(c.native_handle() == handle);
    CHECK_EQ(c.access_token(true), access);
    a = new_client();
    CHECK(static_cast<bool>(a));
    CHECK(a.access_token(true) != other);
    CHECK_EQ(s.token_requests(), 3LL);

    // Clients in a container survive reallocation (moves).
    std::vector<flexiti::Client> pool;
    for (int i = 0; i < 5; ++i) pool.push_back(new_client());
    std::string first = pool.front().access_token();
    for (int i = 0; i < 20; ++i) pool.push_back(new_client());
    CHECK_EQ(pool.front().access_token(true), first);
}

void test_stats_and_log_callback() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    std::vector<std::pair<std::int32_t, std::string>> lines;
    // Written with Client::LogLine, the same lambda compiles under every standard.
    auto capture = [&lines](std::int32_t level, flexiti::Client::LogLine line) {
        lines.emplace_back(level, std::string(line.data(), line.size()));
    };
    c.set_option("log_level", "debug");
    c.set_log_callback(capture);
    std::string token = c.access_token();
    CHECK(!lines.empty());
    for (const auto& entry : lines) {
        const std::int32_t level = entry.first;
        const std::string& line = entry.second;
        CHECK(level >= FLX_LOG_ERROR && level <= FLX_LOG_DEBUG);
        CHECK(!line.empty());
        CHECK(!contains(line, kSecret));
        CHECK(!contains(line, token));
    }

    // An exception thrown by the callback stays on the C++ side.
    c.set_log_callback([](std::int32_t, flexiti::Client::LogLine) { throw std::runtime_error("callback failure"); });
    std::string second = c.access_token();
    CHECK(second != token);

    // The callback moves with the Client; an empty one stops it.
    c.set_log_callback(capture);
    flexiti::Client d(std::move(c));
    size_t before = lines.size();
    d.access_token();
    CHECK(lines.size() > before);
    d.set_log_callback(nullptr);
    before = lines.size();
    d.access_token();
    CHECK_EQ(lines.size(), before);

    // Moving another Client over one with a callback releases the old handle first.
    flexiti::Client e = new_client();
    e.set_option("log_level", "debug");
    e.set_log_callback(capture);
    e = std::move(d);
    before = lines.size();
    e.access_token();
    CHECK_EQ(lines.size(), before);  // d had no callback any more

    std::string stats = e.stats_json();
    CHECK_EQ(json_num(stats, "client_credentials"), 1LL);
    CHECK_EQ(json_num(stats, "refresh_token"), 4LL);
    CHECK(contains(stats, "\"token_held\":true"));
    CHECK(!contains(stats, kSecret));
    CHECK_EQ(s.token_requests(), 5LL);  // one client_credentials, four refreshes; e asked nothing
    flexiti::Client moved_to(std::move(e));
    EXPECT_THROW(flexiti::InvalidArgumentError, e.stats_json());
    EXPECT_THROW(flexiti::InvalidArgumentError, e.set_log_callback(capture));
}

// Each standard's own spelling of a callback (std::string_view from C++17, const std::string&
// before) gets the same lines; a callback written for C++11 (const std::string&) also compiles
// and works under C++17, and one that throws never crosses the C library.
void test_log_callback_forms() {
    flexiti::Client c = new_client();
    c.set_option("log_level", "debug");
    std::vector<std::string> native, portable;
#if FLEXITI_AUTH_STRING_VIEW
    c.set_log_callback([&native](std::int32_t, std::string_view line) { native.emplace_back(line); });
#else
    c.set_log_callback([&native](std::int32_t, const std::string& line) { native.push_back(line); });
#endif
    c.access_token();
    c.access_token();  // a refresh
    CHECK(!native.empty());

    flexiti::Client d = new_client();
    d.set_option("log_level", "debug");
    int calls = 0;
    // A stateful (mutable) callback taking const std::string&.
    d.set_log_callback([&portable, calls](std::int32_t level, const std::string& line) mutable {
        ++calls;
        portable.push_back(std::to_string(level) + ":" + std::to_string(calls) + ":" + line);
    });
    d.access_token();
    d.access_token();
    CHECK_EQ(portable.size(), native.size());
    for (size_t i = 0; i < portable.size() && i < native.size(); ++i) {
        const std::string tail = ":" + std::to_string(i + 1) + ":";
        CHECK(contains(portable[i], tail));
        // The same kind of line at the same place (token values and timings differ).
        CHECK_EQ(portable[i].substr(portable[i].find(tail) + tail.size(), 12), native[i].substr(0, 12));
    }
    d.set_log_callback([](std::int32_t, const std::string&) { throw std::runtime_error("callback failure"); });
    CHECK(!d.access_token().empty());
    d.set_log_callback(flexiti::Client::LogCallback());  // an empty function stops the callback
    size_t before = portable.size();
    d.access_token();
    CHECK_EQ(portable.size(), before);
}

void test_shared_between_threads() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    s.faults("[{\"delay_ms\":200}]");  // hold the first request a while
    std::vector<std::string> got(8);
    std::vector<std::thread> threads;
    for (size_t i = 0; i < got.size(); ++i) {
        threads.emplace_back([&c, &got, i] {
            try {
                got[i] = c.access_token(true);
            } catch (const flexiti::Error& e) {
                got[i] = std::string("error: ") + e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    for (const auto& g : got) CHECK_EQ(g, got[0]);
    CHECK(contains(s.issued(), "\"" + got[0] + "\""));
    CHECK_EQ(s.token_requests(), 1LL);  // concurrent callers shared one request
}


// ---- flx_request through Client::request (issue 12) -------------------------------------------

size_t api_count(const std::string& reqs) { return count_of(reqs, "\"kind\":\"api\""); }

void test_request_carries_the_current_token() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    flexiti::Response r = c.request("GET", "flexiti/pos-api/v2.5/customers/42");
    CHECK_EQ(r.status, 200);
    const std::string bearer = "Bearer " + c.access_token(true);
    CHECK(contains(r.body, "\"authorization\":\"" + bearer + "\""));
    CHECK(contains(r.body, "\"x-reference-id\":\""));
    CHECK(contains(r.body, "\"accept\":\"application/json\""));
    CHECK(contains(r.header("content-type"), "application/json"));
    CHECK_EQ(r.header("server"), std::string("flexiti-token-server"));
    const std::string reqs = s.requests();
    CHECK_EQ(api_count(reqs), size_t{1});
    CHECK_EQ(s.token_requests(), 1LL);

    // A body and headers go out as given; a 409 and its body come back.
    r = c.request("PUT", "api/echo/orders/7", std::string("{\"qty\":2}"), {{"X-Store", "7"}, {"x-echo-status", "409"}});
    CHECK_EQ(r.status, 409);
    CHECK(contains(r.body, "\"body\":\"{\\\"qty\\\":2}\""));
    CHECK(contains(r.body, "\"content-type\":\"application/json\""));
    CHECK(contains(r.body, "\"x-store\":\"7\""));
    CHECK_EQ(api_count(s.requests()), size_t{2});

    // The body spellings of every standard: a string literal; {} (no body) with headers; and
    // from C++17 std::nullopt, since flexiti::Body is std::optional<std::string> there.
    r = c.request("POST", "api/echo/literal", "{\"n\":1}");
    CHECK_EQ(r.status, 200);
    CHECK(contains(r.body, "\"body\":\"{\\\"n\\\":1}\""));
    r = c.request("GET", "api/echo/none", {}, {{"X-Store", "8"}});
    CHECK(contains(r.body, "\"x-store\":\"8\""));
    CHECK(!contains(r.body, "\"content-type\""));
#if FLEXITI_AUTH_CXX17
    static_assert(std::is_same<flexiti::Body, std::optional<std::string>>::value, "");
    r = c.request("GET", "api/echo/nullopt", std::nullopt, {{"X-Store", "9"}});
    CHECK(contains(r.body, "\"x-store\":\"9\""));
#else
    CHECK(!flexiti::Body().has_value());
    CHECK(!flexiti::Body(static_cast<const char*>(nullptr)));
    CHECK_EQ(*flexiti::Body("x"), std::string("x"));
#endif
    CHECK_EQ(api_count(s.requests()), size_t{FLEXITI_AUTH_CXX17 ? 5 : 4});
}

void test_request_invalid_token_and_retries() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    const std::string old_token = c.access_token(true);
    flexiti::Response r = c.request("PATCH", "api/invalid-token-once/cpp", std::string("{}"));
    CHECK_EQ(r.status, 200);
    const std::string new_token = c.access_token(true);
    CHECK(new_token != old_token);
    CHECK(contains(r.body, "Bearer " + new_token));
    CHECK_EQ(api_count(s.requests()), size_t{2});
    CHECK_EQ(s.token_requests(), 2LL);

    // Revoked by another client's refresh: recovered.
    flexiti::Client other = new_client();
    other.import_session(c.export_session());
    other.access_token(false);
    r = c.request("GET", "api/echo");
    CHECK_EQ(r.status, 200);
    CHECK(!contains(r.body, new_token));
    CHECK_EQ(api_count(s.requests()), size_t{4});

    // GET retried up to max_retries; POST never resent after a 503 or a reset.
    c.set_option("max_retries", 2);
    r = c.request("GET", "api/unavailable/5/cpp-g");
    CHECK_EQ(r.status, 503);
    CHECK(contains(r.body, "\"attempt\":3"));
    CHECK_EQ(api_count(s.requests()), size_t{7});
    r = c.request("POST", "api/unavailable/5/cpp-p?retry_after=0", std::string("{}"));
    CHECK_EQ(r.status, 503);
    CHECK_EQ(api_count(s.requests()), size_t{8});
    s.faults("[{\"api\":true,\"reset_after_bytes\":0}]");
    EXPECT_THROW(flexiti::NetworkError, c.request("POST", "api/echo", std::string("{}")));
    CHECK_EQ(api_count(s.requests()), size_t{9});
}

void test_request_refusals() {
    const auto& s = *g_server;
    flexiti::Client c = new_client();
    EXPECT_THROW(flexiti::InvalidArgumentError, c.request("GET", "api/echo", {}, {{"X-A", "1\r\nX-B: 2"}}));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.request("GET", "api/echo", {}, {{"X-A", "1\nX-B: 2"}}));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.request("GET", "api/echo", {}, {{"Authorization", "Bearer x"}}));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.request("GET", "api/echo", {}, {{"Host", "evil"}}));
    EXPECT_THROW(flexiti::InvalidArgumentError, c.request("CONNECT", "api/echo"));
    CHECK_EQ(count_of(s.requests(), "\"seq\":"), size_t{0});
    Caught big = EXPECT_THROW(flexiti::BadResponseError, c.request("GET", "api/oversize/9000000"));
    CHECK(contains(big.message, "max_response_bytes"));
    c.set_option("max_response_bytes", 9000000);
    CHECK_EQ(c.request("GET", "api/oversize/9000000").body.size(), size_t{9000000});
}

void test_persistent() {
    const auto& s = *g_server;
    std::string access;
    FlxClient* handle = nullptr;
    {
        flexiti::Client a = flexiti::Client::persistent(s.url(), kClientId, kSecret);
        CHECK(a.is_persistent());
        a.clear();  // the handle lives as long as this process
        a.set_option("max_retries", 0);
        access = a.access_token();
        handle = a.native_handle();
        std::vector<std::string> lines;
        a.set_log_callback([&lines](std::int32_t, const std::string& line) { lines.push_back(line); });
        a.set_option("log_level", "info");
        a.access_token(true);
    }  // destroyed: the handle stays, its callback (which captured `lines`) is removed

    flexiti::Client b = flexiti::Client::persistent(s.url(), kClientId, kSecret);
    CHECK(b.native_handle() == handle);
    CHECK_EQ(b.access_token(true), access);  // the token outlived the first Client: no request
    CHECK_EQ(s.token_requests(), 1LL);
    std::string refreshed = b.access_token();  // logs an info line: no callback of a dead Client
    CHECK(refreshed != access);
    std::string reqs = s.requests();
    std::vector<long long> ids;
    for (size_t at = reqs.find("\"connection_id\":"); at != std::string::npos; at = reqs.find("\"connection_id\":", at + 1)) {
        ids.push_back(json_num(reqs.substr(at), "connection_id"));
    }
    CHECK_EQ(ids.size(), size_t{2});
    CHECK(ids.size() == 2 && ids[0] == ids[1]);  // the refresh reused the kept-alive connection
    b.set_option("log_level", "off");

    flexiti::Client other = flexiti::Client::persistent(s.url(), kClientId, "another-secret");
    CHECK(other.native_handle() != handle);
    flexiti::Client plain = new_client();
    CHECK(!plain.is_persistent());
    CHECK(plain.native_handle() != handle);
    flexiti::Client moved(std::move(b));
    CHECK(moved.is_persistent());
    CHECK_EQ(moved.access_token(true), refreshed);
    EXPECT_THROW(flexiti::InvalidArgumentError, flexiti::Client::persistent("ftp://x/", kClientId, kSecret));
}

int run_all() {
    try {
        TokenServer server;
        g_server = &server;
        const std::vector<std::pair<const char*, void (*)()>> tests = {
            {"version and expiry rule", test_version_and_expiry_rule},
            {"new token, then cached", test_new_token_then_cached},
            {"refresh rotates the token", test_refresh_rotates_the_token},
            {"clear forgets the token", test_clear_forgets_the_token},
            {"session export/import", test_session_export_import},
            {"wrong secret: AuthRejectedError", test_wrong_secret_is_auth_rejected},
            {"options: InvalidArgumentError, integer overloads", test_options},
            {"constructor errors", test_constructor_errors},
            {"embedded NUL refused", test_embedded_nul_is_refused},
            {"HTTP status, bad response, network errors", test_http_and_network_errors},
            {"move semantics", test_move_semantics},
            {"stats and log callback", test_stats_and_log_callback},
            {"log callback: each standard's line type, const std::string& everywhere", test_log_callback_forms},
            {"one Client shared between threads", test_shared_between_threads},
            {"request: the current token, body, headers, statuses", test_request_carries_the_current_token},
            {"request: invalid_token resend, revocation, retries", test_request_invalid_token_and_retries},
            {"request: refused arguments, oversized answers", test_request_refusals},
            {"persistent: one handle per account, outlives each Client", test_persistent},
        };
        for (const auto& test : tests) {
            const char* name = test.first;
            void (*fn)() = test.second;
            g_current = name;
            server.reset();
            int before = g_failures;
            try {
                fn();
            } catch (const std::exception& e) {
                fail(std::string("unexpected exception: ") + e.what(), 0);
            }
            std::cout << (g_failures == before ? "ok   - " : "FAIL - ") << name << std::endl;
        }
    } catch (const std::exception& e) {
        std::cerr << "test_wrapper: " << e.what() << "\n";
        return 2;
    }
    if (g_failures) {
        std::cerr << g_failures << " check(s) failed\n";
        return 1;
    }
    std::cout << "test_wrapper: all passed\n";
    return 0;
}

}  // namespace

int main() {
    std::signal(SIGPIPE, SIG_IGN);
    // The suite runs on a thread that ends before exit: per-thread state of Rust's std (e.g. the
    // thread handle, allocated on first use of channels or thread::current) is released when a
    // thread ends but never for the main thread, which valgrind would report as "possibly lost"
    // at exit. This way every leak it reports is real, with no suppression file.
    int rc = 2;
    std::thread suite([&rc] { rc = run_all(); });
    suite.join();
    return rc;
}
