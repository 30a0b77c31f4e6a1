/* flexiti-auth C++ wrapper: header-only, C++11 or later, over the C header flexiti_auth.h.
 *
 *   flexiti::Client client(api_url, client_id, client_secret);
 *   std::string bearer = client.access_token();      // purchase / apply: full lifetime
 *   std::string cached = client.access_token(true);  // price calculator: no request if valid
 *
 * Every failure throws a subclass of flexiti::Error (itself a std::runtime_error) that carries
 * the library's status code (status()) and message (what()); messages never contain the
 * client_secret, an access token or a refresh token. Strings come back as std::string; the
 * library's char * copies are released with flx_string_free before the call returns.
 *
 * flexiti::Client is move-only. A moved-from Client holds no handle: its methods throw
 * InvalidArgumentError, destroying or assigning to it is fine. One Client may be used from
 * several threads at once (the C handle is thread-safe); moving or destroying it while another
 * thread uses it is undefined behaviour.
 *
 * The API is the same from C++11 up, with the differences the language forces: the log callback
 * receives its line as std::string_view from C++17 (as const std::string& before; a callback
 * taking const std::string& is accepted from C++17 too): Client::LogLine names that type and
 * FLEXITI_AUTH_STRING_VIEW is 1 when it is std::string_view. Client::request's body is a
 * flexiti::Body: std::optional<std::string> from C++17, a small class with the same use before
 * ({} or nothing: no body; a std::string or string literal: that body); Response::header takes
 * a std::string_view from C++17, a const std::string& before.
 *
 * Link with the C library: pkg-config --cflags --libs flexiti_auth  (or -lflexiti_auth). */

#ifndef FLEXITI_AUTH_HPP
#define FLEXITI_AUTH_HPP

/* MSVC reports __cplusplus as 199711L unless /Zc:__cplusplus: its _MSVC_LANG (VS 2015 Update 3
 * and later) tells the language, and Visual Studio 2015 (_MSC_VER 1900) is C++14 anyway. */
#if !(__cplusplus >= 201103L || (defined(_MSC_VER) && _MSC_VER >= 1900))
#error "flexiti_auth.hpp needs C++11 or later (e.g. -std=c++11); C code and older C++ use flexiti_auth.h"
#endif

#if __cplusplus >= 201703L || (defined(_MSVC_LANG) && _MSVC_LANG >= 201703L)
#define FLEXITI_AUTH_CXX17 1
#else
#define FLEXITI_AUTH_CXX17 0
#endif
/* 1 when log lines (and Response::header's argument) are std::string_view. */
#define FLEXITI_AUTH_STRING_VIEW FLEXITI_AUTH_CXX17

#include "flexiti_auth.h"

#include <cstdint>
#include <functional>
#include <memory>
#if FLEXITI_AUTH_CXX17
#include <optional>
#endif
#include <stdexcept>
#include <string>
#if FLEXITI_AUTH_CXX17
#include <string_view>
#endif
#include <type_traits>
#include <utility>
#include <vector>

namespace flexiti {

/** Any failure of the library: status() is the C status code (FLX_ERR_*), what() its message. */
class Error : public std::runtime_error {
public:
    Error(std::int32_t status, const std::string& message) : std::runtime_error(message), status_(status) {}
    /** The C status code: FLX_ERR_INVALID_ARGUMENT (1) … FLX_ERR_STORE (8). */
    std::int32_t status() const noexcept { return status_; }

private:
    std::int32_t status_;
};

/** FLX_ERR_INVALID_ARGUMENT: a bad argument or option (or a string with an embedded NUL),
 *  an unknown option name, or a call on a moved-from Client. */
class InvalidArgumentError : public Error {
public:
    explicit InvalidArgumentError(const std::string& message) : Error(FLX_ERR_INVALID_ARGUMENT, message) {}
};

/** FLX_ERR_NETWORK: the token endpoint could not be reached (DNS, connect, TLS, timeout, reset). */
class NetworkError : public Error {
public:
    explicit NetworkError(const std::string& message) : Error(FLX_ERR_NETWORK, message) {}
};

/** FLX_ERR_HTTP_STATUS: the token endpoint answered with a non-2xx status (5xx, 429, …). */
class HttpStatusError : public Error {
public:
    explicit HttpStatusError(const std::string& message) : Error(FLX_ERR_HTTP_STATUS, message) {}
};

/** FLX_ERR_AUTH_REJECTED: the credentials were refused (invalid_client, invalid_grant, invalid_role). */
class AuthRejectedError : public Error {
public:
    explicit AuthRejectedError(const std::string& message) : Error(FLX_ERR_AUTH_REJECTED, message) {}
};

/** FLX_ERR_BAD_RESPONSE: a 2xx answer that is not a usable token. */
class BadResponseError : public Error {
public:
    explicit BadResponseError(const std::string& message) : Error(FLX_ERR_BAD_RESPONSE, message) {}
};

/** FLX_ERR_SESSION: export with no token held, or session JSON that cannot be imported. */
class SessionError : public Error {
public:
    explicit SessionError(const std::string& message) : Error(FLX_ERR_SESSION, message) {}
};

/** FLX_ERR_INTERNAL: a bug inside the library (the held token is unchanged). */
class InternalError : public Error {
public:
    explicit InternalError(const std::string& message) : Error(FLX_ERR_INTERNAL, message) {}
};

/** FLX_ERR_STORE: the token_store cannot be used (a directory that is not this user's alone
 *  (0700), not a directory, or cannot be created); run-time store failures are only counted. */
class StoreError : public Error {
public:
    explicit StoreError(const std::string& message) : Error(FLX_ERR_STORE, message) {}
};

namespace detail {

struct StringFree {
    void operator()(char* s) const noexcept { flx_string_free(s); }
};
struct ClientFree {
    void operator()(FlxClient* c) const noexcept { flx_client_free(c); }
};

/** A char * owned by the library's allocator. */
using OwnedString = std::unique_ptr<char, StringFree>;

/** Throw the exception class of a status code. */
[[noreturn]] inline void throw_status(std::int32_t code, const std::string& message) {
    switch (code) {
    case FLX_ERR_INVALID_ARGUMENT: throw InvalidArgumentError(message);
    case FLX_ERR_NETWORK: throw NetworkError(message);
    case FLX_ERR_HTTP_STATUS: throw HttpStatusError(message);
    case FLX_ERR_AUTH_REJECTED: throw AuthRejectedError(message);
    case FLX_ERR_BAD_RESPONSE: throw BadResponseError(message);
    case FLX_ERR_SESSION: throw SessionError(message);
    case FLX_ERR_INTERNAL: throw InternalError(message);
    case FLX_ERR_STORE: throw StoreError(message);
    default: throw Error(code, message);
    }
}

/** Throw what this thread's last library call reported. Call it right after the failed call:
 *  the code and message are thread-local and replaced by the next call into the library. */
[[noreturn]] inline void throw_last_error(const char* function) {
    const std::int32_t code = flx_last_error_code();
    const char* raw = flx_last_error_message();
    std::string message = raw ? raw : "";
    if (code == FLX_OK) {
        throw InternalError(std::string(function) + " failed without reporting an error");
    }
    if (message.empty()) {
        const char* described = flx_status_str(code);
        message = described ? described : "unknown error";
    }
    throw_status(code, message);
}

/** Take ownership of a returned string: copy it into a std::string, free the original. */
inline std::string take_string(char* raw, const char* function) {
    if (raw == nullptr) {
        throw_last_error(function);
    }
    OwnedString owned(raw);  // freed even if the copy below throws std::bad_alloc
    return std::string(owned.get());
}

inline void check_status(std::int32_t status, const char* function) {
    if (status != FLX_OK) {
        throw_last_error(function);
    }
}

/** The C layer reads strings up to their first NUL: a std::string holding '\0' would be cut
 *  short silently, so it is refused. `what` names the argument, never its value. */
inline const char* c_arg(const std::string& s, const char* what) {
    if (s.find('\0') != std::string::npos) {
        throw InvalidArgumentError(std::string(what) + " contains an embedded NUL byte");
    }
    return s.c_str();
}

/** The integer types set_option takes as numbers (not bool, not the character types). */
template <class T>
struct is_option_integer
    : std::integral_constant<bool, std::is_integral<T>::value && !std::is_same<T, bool>::value &&
                                       !std::is_same<T, char>::value && !std::is_same<T, signed char>::value &&
                                       !std::is_same<T, unsigned char>::value && !std::is_same<T, wchar_t>::value &&
                                       !std::is_same<T, char16_t>::value && !std::is_same<T, char32_t>::value> {};

}  // namespace detail

#if FLEXITI_AUTH_CXX17
/** The body argument of Client::request: none (std::nullopt, {}) or the JSON text to send. */
using Body = std::optional<std::string>;
#else
/** The body argument of Client::request before C++17, where it is std::optional<std::string>:
 *  none when default-constructed ({}) or from a null const char *, else the text given. */
class Body {
public:
    Body() : has_(false) {}
    Body(std::string text) : has_(true), text_(std::move(text)) {}          // implicit, like std::optional
    Body(const char* text) : has_(text != nullptr), text_(text ? text : "") {}  // implicit, like std::optional
    bool has_value() const noexcept { return has_; }
    explicit operator bool() const noexcept { return has_; }
    /** The text ("" when there is none). */
    const std::string& operator*() const noexcept { return text_; }

private:
    bool has_;
    std::string text_;
};
#endif

/** What Client::request got back, whatever the HTTP status. */
struct Response {
    /** The HTTP status (4xx and 5xx included). */
    std::int32_t status = 0;
    /** Every response header, in the order received, names lower-case. */
    std::vector<std::pair<std::string, std::string>> headers;
    /** The body as received ("" when there is none). */
    std::string body;

    /** The first value of header `name` (give it lower-case), or "" when absent. */
#if FLEXITI_AUTH_CXX17
    std::string header(std::string_view name) const {
#else
    std::string header(const std::string& name) const {
#endif
        for (const auto& h : headers) {
            if (h.first == name) {
                return h.second;
            }
        }
        return std::string();
    }
};

/** One Flexiti account's token keeper (an owned FlxClient handle). */
class Client {
public:
    /** api_url: e.g. "https://posapi.flexiti.fi/" (http:// only for loopback hosts).
     *  Throws InvalidArgumentError for an empty or malformed argument. The strings are copied. */
    Client(const std::string& api_url, const std::string& client_id, const std::string& client_secret)
        : handle_(flx_client_new(detail::c_arg(api_url, "api_url"), detail::c_arg(client_id, "client_id"),
                                 detail::c_arg(client_secret, "client_secret"))) {
        if (!handle_) {
            detail::throw_last_error("flx_client_new");
        }
    }

    /** The process-wide client of one account (flx_client_persistent): every call in this
     *  process with the same api_url, client_id and client_secret wraps the same handle, so its
     *  token, options and kept-alive connection are shared by every Client made this way and
     *  outlive each of them (destroying one releases nothing). Options set through any of them
     *  stay set for all; a value the handle already has costs nothing (the connection stays).
     *  A log callback set through one is removed when that Client is destroyed (the handle
     *  outlives it); while it lives it is the handle's callback for every caller.
     *  Throws InvalidArgumentError for a bad argument, or when the process already holds 64
     *  persistent handles (the 65th account is refused). */
    static Client persistent(const std::string& api_url, const std::string& client_id, const std::string& client_secret) {
        FlxClient* handle = flx_client_persistent(detail::c_arg(api_url, "api_url"), detail::c_arg(client_id, "client_id"),
                                                  detail::c_arg(client_secret, "client_secret"));
        if (!handle) {
            detail::throw_last_error("flx_client_persistent");
        }
        return Client(handle, true);
    }

    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;
    /** The moved-from Client holds no handle afterwards. */
    Client(Client&& other) noexcept
        : persistent_(other.persistent_), log_(std::move(other.log_)), handle_(std::move(other.handle_)) {}
    /** Frees this Client's handle, then takes the other's (and its log callback). */
    Client& operator=(Client&& other) noexcept {
        if (this != &other) {
            release();  // the old handle goes before the callback it may still call
            persistent_ = other.persistent_;
            log_ = std::move(other.log_);
            handle_ = std::move(other.handle_);
        }
        return *this;
    }
    ~Client() { release(); }  // the handle is released (or its callback removed) before log_ goes

    /** True for a Client from persistent(): its handle is the process's. */
    bool is_persistent() const noexcept { return persistent_; }

    /** Set an option from its string form (see flx_client_set_option): expiration_threshold_secs,
     *  connect_timeout_ms, timeout_ms, max_retries, token_path, scope, proxy, ca_file, user_agent,
     *  log_level, log_file, max_response_bytes.
     *  Throws InvalidArgumentError for an unknown name or a bad value (the option keeps its value). */
    void set_option(const std::string& name, const std::string& value) {
        detail::check_status(flx_client_set_option(live("set_option"), detail::c_arg(name, "option name"),
                                                   detail::c_arg(value, "option value")),
                             "flx_client_set_option");
    }

    /** Numeric options: set_option("timeout_ms", 10000). */
    template <class Integer, typename std::enable_if<detail::is_option_integer<Integer>::value, int>::type = 0>
    void set_option(const std::string& name, Integer value) {
        set_option(name, std::to_string(value));
    }

    /** The token as JSON: the server's token response fields plus "created_at" (unix seconds).
     *  use_cache=true returns a still-valid held token without a request (price calculator);
     *  use_cache=false refreshes it so the flow starts with a full lifetime (purchase, apply).
     *  Throws NetworkError, HttpStatusError, AuthRejectedError or BadResponseError; on failure
     *  the held token is unchanged. */
    std::string token_json(bool use_cache = false) {
        return detail::take_string(flx_get_token(live("token_json"), use_cache), "flx_get_token");
    }

    /** Only the access_token, for an "Authorization: Bearer …" header. Same rules as token_json. */
    std::string access_token(bool use_cache = false) {
        return detail::take_string(flx_get_access_token(live("access_token"), use_cache), "flx_get_access_token");
    }

    /** The held token as session JSON {"token":{…},"created_at":N,"expires_in":N}; it holds
     *  secrets, store it like a password. Throws SessionError when no token is held. */
    std::string export_session() {
        return detail::take_string(flx_session_export(live("export_session")), "flx_session_export");
    }

    /** Replace the held token with one from export_session(). Throws SessionError for JSON that
     *  cannot be imported (the held token is then unchanged). */
    void import_session(const std::string& session_json) {
        detail::check_status(flx_session_import(live("import_session"), detail::c_arg(session_json, "session JSON")),
                             "flx_session_import");
    }

    /** An authenticated POS-API call made by the library (flx_request): `method` (GET, POST, PUT,
     *  PATCH, DELETE, HEAD) to `path` joined to api_url, with the bearer token access_token(use_cache)
     *  would give, a fresh x-reference-id, Accept (and with a body Content-Type) application/json,
     *  over the kept-alive connection of the token requests. `body`: the JSON to send (none:
     *  {}, or std::nullopt from C++17). `headers`: extra request headers as (name, value) pairs; Authorization,
     *  Host and line breaks are refused (InvalidArgumentError, nothing sent).
     *  The library resends once with a new token after a 401 invalid_token and retries transient
     *  failures of GET/HEAD/PUT/DELETE; this adds no retry of its own. Every HTTP status comes
     *  back in the Response. Throws NetworkError (no answer), BadResponseError (an answer over
     *  the max_response_bytes option), the token request's errors, or InvalidArgumentError. */
    Response request(const std::string& method, const std::string& path,
                     const Body& body = Body(),
                     const std::vector<std::pair<std::string, std::string>>& headers = {}, bool use_cache = true) {
        FlxClient* handle = live("request");
        const char* method_c = detail::c_arg(method, "method");
        const char* path_c = detail::c_arg(path, "path");
        const char* body_c = body ? detail::c_arg(*body, "body") : nullptr;
        std::string header_text;
        for (const auto& h : headers) {
            if (h.first.find_first_of("\r\n") != std::string::npos || h.second.find_first_of("\r\n") != std::string::npos) {
                throw InvalidArgumentError("header " + h.first.substr(0, 64) + " holds a line break");
            }
            header_text += h.first;
            header_text += ": ";
            header_text += h.second;
            header_text += '\n';
        }
        const char* headers_c = headers.empty() ? nullptr : detail::c_arg(header_text, "headers");
        std::int32_t status = 0;
        char* raw = nullptr;
        detail::check_status(flx_request(handle, method_c, path_c, body_c, headers_c, use_cache, &status, &raw),
                             "flx_request");
        Response response;
        response.status = status;
        response.body = detail::take_string(raw, "flx_request");
        const char* text = flx_last_response_headers();
        const std::string all = text ? text : "";
        for (std::size_t at = 0; at < all.size();) {  // "name: value" lines
            std::size_t end = all.find('\n', at);
            if (end == std::string::npos) {
                end = all.size();
            }
            const std::size_t colon = all.find(": ", at);
            if (colon != std::string::npos && colon < end) {
                response.headers.emplace_back(all.substr(at, colon - at), all.substr(colon + 2, end - colon - 2));
            }
            at = end + 1;
        }
        return response;
    }

    /** Forget the held token: the next call asks for a new one. */
    void clear() { detail::check_status(flx_client_clear(live("clear")), "flx_client_clear"); }

    /** Counters as JSON (see flx_client_stats): requests by grant type, cache hits, refreshes,
     *  fallbacks, retries, failures by status, the held token's age and time left. */
    std::string stats_json() {
        return detail::take_string(flx_client_stats(live("stats_json")), "flx_client_stats");
    }

    /** The line argument of a log callback: std::string_view from C++17, const std::string&
     *  before (a lambda written with LogLine compiles under every standard). */
#if FLEXITI_AUTH_STRING_VIEW
    using LogLine = std::string_view;
#else
    using LogLine = const std::string&;
#endif
    using LogCallback = std::function<void(std::int32_t level, LogLine line)>;

    /** Log lines of this client (at or above the "log_level" option, off by default; never a
     *  secret) go to `callback(level, line)`, called on the thread making the library call; the
     *  line is valid during the call only. An exception thrown by the callback is swallowed
     *  (it must not cross the C library). An empty function stops the callback.
     *  Set or replace it before sharing the Client between threads: a call in progress on
     *  another thread may still be running the previous callback, which this frees. */
    void set_log_callback(LogCallback callback) {
        FlxClient* handle = live("set_log_callback");
        if (!callback) {
            detail::check_status(flx_client_set_log_callback(handle, nullptr, nullptr), "flx_client_set_log_callback");
            log_.reset();
            return;
        }
        std::unique_ptr<LogCallback> next(new LogCallback(std::move(callback)));
        detail::check_status(flx_client_set_log_callback(handle, &Client::log_trampoline, next.get()),
                             "flx_client_set_log_callback");
        log_ = std::move(next);  // the previous callback is no longer referenced by the handle
    }

#if FLEXITI_AUTH_STRING_VIEW
    /** From C++17, a callback written for C++11/14 (taking const std::string&) still works: it
     *  gets a copy of the line. */
    template <class F,
              typename std::enable_if<!std::is_convertible<F, LogCallback>::value &&
                                          std::is_invocable<F&, std::int32_t, const std::string&>::value,
                                      int>::type = 0>
    void set_log_callback(F callback) {
        set_log_callback(LogCallback([callback](std::int32_t level, std::string_view line) mutable {
            callback(level, std::string(line));
        }));
    }
#endif

    /** The guide's isAccessTokenExpired: now - created_at >= expires_in - threshold. */
    static bool is_access_token_expired(std::int64_t created_at, std::int64_t expires_in, std::int64_t now,
                                        std::int64_t threshold = 60) noexcept {
        return flx_is_access_token_expired(created_at, expires_in, now, threshold);
    }

    /** The C library's version, e.g. "0.1.0". */
    static std::string version() { return flx_version(); }

    /** False for a moved-from Client. */
    explicit operator bool() const noexcept { return static_cast<bool>(handle_); }

    /** The underlying handle, still owned by this Client (nullptr when moved from). */
    FlxClient* native_handle() const noexcept { return handle_.get(); }

private:
    Client(FlxClient* handle, bool persistent) : persistent_(persistent), handle_(handle) {}

    /** flx_client_free (a no-op for a persistent handle, whose log callback is removed instead:
     *  the handle outlives this Client and its callback). */
    void release() noexcept {
        if (handle_ && persistent_ && log_) {
            flx_client_set_log_callback(handle_.get(), nullptr, nullptr);
        }
        handle_.reset();
    }

    FlxClient* live(const char* method) const {
        if (!handle_) {
            throw InvalidArgumentError(std::string("flexiti::Client::") + method + " on a moved-from Client");
        }
        return handle_.get();
    }

    static void log_trampoline(std::int32_t level, const char* line, void* user) noexcept {
        try {
#if FLEXITI_AUTH_STRING_VIEW
            (*static_cast<LogCallback*>(user))(level, line ? std::string_view(line) : std::string_view());
#else
            (*static_cast<LogCallback*>(user))(level, line ? std::string(line) : std::string());
#endif
        } catch (...) {
        }
    }

    bool persistent_ = false;
    // On the heap: the handle keeps its address as the callback's `user` pointer across moves.
    std::unique_ptr<LogCallback> log_;
    std::unique_ptr<FlxClient, detail::ClientFree> handle_;
};

}  // namespace flexiti

#endif /* FLEXITI_AUTH_HPP */
