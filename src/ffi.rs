//! The C surface: thin `extern "C"` functions. Each body runs inside `guard` (no panic crosses
//! the boundary), converts pointers with the helpers below, and calls the safe modules.

// Every function here is called from C, where Rust's `unsafe` cannot be spelled: the pointer
// contracts are written in the header's doc comments instead, and the helpers below check what can
// be checked (NULL, UTF-8, length, a live handle).
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use crate::client::Client;
use crate::error::{Error, FlxStatus, Result};
use crate::expiry;
use crate::persistent;
use crate::handles::{Ref, Table};
use crate::token::HeldToken;
use std::cell::RefCell;
use std::ffi::{c_char, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// An opaque client handle. Create with flx_client_new (release with flx_client_free), or get
/// the process-wide one for an account with flx_client_persistent (never released).
/// The value is not an address: it names an entry in the library's handle table (handles.rs)
/// and is never dereferenced, so a stale or bogus handle is refused, never followed.
pub struct FlxClient {
    _opaque: [u8; 0],
}

/// Every live client, by handle.
/// Every live handle: the client, beside its held token (republished by the client on every
/// change), so the cached path finds both with one lookup.
static CLIENTS: Table<Client, View> = Table::new();
type View = Option<std::sync::Arc<HeldToken>>;

/// Put `client` in the table and have it keep its held token beside its handle.
fn insert_client(client: Client, persistent: bool) -> Result<usize> {
    let handle = if persistent { CLIENTS.insert_persistent(client, None) } else { CLIENTS.insert(client, None) }
        .map_err(|_| too_many_handles())?;
    let entry = CLIENTS.get(handle).ok_or_else(|| Error::internal("a new handle is not in the table"))?;
    entry.set_publisher(Box::new(move |token| {
        CLIENTS.publish(handle, token);
    }));
    Ok(handle)
}

// ---- this thread's last error -------------------------------------------------------------

struct LastError {
    code: i32,
    message: CString,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError { code: 0, message: CString::default() });
}

fn set_ok() {
    // try_with: a call made while the thread is being torn down must still not panic.
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.code = 0;
        }
    });
}

fn set_error(e: &Error) {
    let message = CString::new(e.message.replace('\0', " ")).unwrap_or_default();
    let _ = LAST_ERROR.try_with(|l| {
        if let Ok(mut l) = l.try_borrow_mut() {
            l.code = e.status as i32;
            l.message = message;
        }
    });
}

/// Run one entry point: success clears this thread's error, failure records it, a panic
/// becomes FLX_ERR_INTERNAL. `fallback` is what the caller gets on failure.
fn guard<T>(fallback: T, f: impl FnOnce() -> Result<T>) -> T {
    // A panic in here is caught below; the library's panic hook keeps it off the host's stderr.
    let _inside = crate::quiet::Inside::enter();
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => {
            set_ok();
            v
        }
        Ok(Err(e)) => {
            set_error(&e);
            fallback
        }
        Err(_) => {
            set_error(&Error::internal("internal error in flexiti-auth (a panic was caught; the held token is unchanged)"));
            fallback
        }
    }
}

/// The C boundary's guard, for Rust code (tests, embedders) that wants an entry point's
/// behaviour: a panic in `f` becomes FLX_ERR_INTERNAL in this thread's last error, quietly.
#[doc(hidden)]
pub fn guarded<T>(fallback: T, f: impl FnOnce() -> Result<T>) -> T {
    guard(fallback, f)
}

/// `guard` for functions that return a status code: FLX_OK, or the error's own code.
fn guard_status(f: impl FnOnce() -> Result<()>) -> i32 {
    let mut status = FlxStatus::FLX_ERR_INTERNAL;
    guard((), || {
        f().inspect_err(|e| status = e.status)
        .map(|()| status = FlxStatus::FLX_OK)
    });
    status as i32
}

// ---- pointer helpers ----------------------------------------------------------------------

/// Longest string argument accepted, but for session JSON (1 MiB, checked by the session module).
const MAX_ARG_BYTES: usize = 64 * 1024;

fn str_arg<'a>(p: *const c_char, name: &str, max: usize) -> Result<&'a str> {
    if p.is_null() {
        return Err(Error::invalid(format!("{name} is NULL")));
    }
    // SAFETY: the caller promises a NUL-terminated string that outlives this call.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    if bytes.len() > max {
        return Err(Error::invalid(format!("{name} is {} bytes long, over the {max}-byte limit", bytes.len())));
    }
    std::str::from_utf8(bytes).map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// The client behind a handle from flx_client_new, looked up in the handle table (nothing is
/// read through the pointer). It stays alive while the returned guard is held, even if another
/// thread frees the handle meanwhile.
fn client_arg(c: *const FlxClient) -> Result<Ref<Client, View>> {
    if c.is_null() {
        return Err(Error::invalid("client handle is NULL"));
    }
    CLIENTS
        .get(c as usize)
        .ok_or_else(|| Error::invalid("client handle is not a live FlxClient (already freed, or not from flx_client_new)"))
}

/// A copy of `s` in memory from malloc, released with flx_string_free (or free()).
fn owned_c_string(s: &str) -> Result<*mut c_char> {
    if s.as_bytes().contains(&0) {
        return Err(Error::internal("string with an embedded NUL cannot be returned"));
    }
    copy_to_malloc(s)
}

/// owned_c_string for the held token's strings, which cannot hold a NUL: HeldToken refuses
/// tokens with control characters, and token_json is serde_json output (which escapes them).
/// The cached path skips the scan it would otherwise pay on every call.
fn owned_token_string(s: &str) -> Result<*mut c_char> {
    debug_assert!(!s.as_bytes().contains(&0));
    copy_to_malloc(s)
}

fn copy_to_malloc(s: &str) -> Result<*mut c_char> {
    copy_bytes_to_malloc(s.as_bytes())
}

// ---- the C ABI ----------------------------------------------------------------------------

/// The library version, e.g. "0.1.0". Static storage: never free it.
#[no_mangle]
pub extern "C" fn flx_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// Create a client for one Flexiti account.
///
/// api_url: the API base, e.g. "https://posapi.flexiti.fi/" (trailing slash optional); http://
/// is accepted only for loopback hosts. client_id must be non-empty; client_secret must be at
/// least 4 bytes (a shorter one could not be redacted from messages without redacting ordinary
/// words with it: FLX_ERR_INVALID_ARGUMENT).
/// All three strings are copied; the caller keeps ownership of them.
///
/// Returns a new handle, owned by the caller and released with flx_client_free, or NULL on
/// error (FLX_ERR_INVALID_ARGUMENT; see flx_last_error_message).
/// A handle may be used from several threads at once. It is not a memory address: it names an
/// entry in the library's handle table and is never dereferenced. Once freed, a handle is
/// refused by every function with FLX_ERR_INVALID_ARGUMENT for the rest of the process, whatever
/// has been created since (a handle value is never issued twice), and so is any value that did
/// not come from flx_client_new. A call running on another thread when the handle is freed
/// completes normally; the client is released when the last such call returns.
#[no_mangle]
pub extern "C" fn flx_client_new(api_url: *const c_char, client_id: *const c_char, client_secret: *const c_char) -> *mut FlxClient {
    guard(std::ptr::null_mut(), || {
        let api_url = str_arg(api_url, "api_url", MAX_ARG_BYTES)?;
        let client_id = str_arg(client_id, "client_id", MAX_ARG_BYTES)?;
        let client_secret = str_arg(client_secret, "client_secret", MAX_ARG_BYTES)?;
        let client = Client::new(api_url, client_id, client_secret)?;
        let handle = insert_client(client, false)?;
        Ok(handle as *mut FlxClient)
    })
}

fn too_many_handles() -> Error {
    Error::internal("too many live handles (16777216 on 64-bit platforms, 65536 on 32-bit ones)")
}

/// The process-wide handle for one account, created on first use: every later call in this
/// process with the same api_url, client_id and client_secret returns the same handle, so its
/// token, its options and its kept-alive connection outlive a PHP request in a PHP-FPM worker
/// (the recommended way under PHP-FPM), and every caller in the process shares one token.
///
/// Arguments as for flx_client_new (validated the same way, copied on first use). The handle is
/// registered under api_url (with or without its trailing slash), client_id and a keyed digest
/// (HMAC-SHA256, per-process key) of the client_secret: the secret is kept once, by the handle,
/// and never used as a key in clear; a later call finds it by comparing its client_secret with
/// that copy in constant time.
///
/// Returns the handle, or NULL on error: FLX_ERR_INVALID_ARGUMENT for a bad argument, or when
/// this process already holds 64 persistent handles (distinct triples): the 65th is refused.
///
/// The handle lives until the process exits: flx_client_free on it does nothing (so bindings
/// may free every handle in their destructors), and flx_client_clear forgets the token for every
/// user of the handle. Options set on it stay set for every later user; setting an option to
/// the value it already has costs nothing (the connection is kept). A log callback set on it
/// stays until replaced: remove it (NULL) before its `user` pointer becomes invalid.
/// After fork() the child's handle is the same value and behaves like any handle after fork:
/// it opens its own connections and never waits on a parent's request.
#[no_mangle]
pub extern "C" fn flx_client_persistent(api_url: *const c_char, client_id: *const c_char, client_secret: *const c_char) -> *mut FlxClient {
    guard(std::ptr::null_mut(), || {
        let api_url = str_arg(api_url, "api_url", MAX_ARG_BYTES)?;
        let client_id = str_arg(client_id, "client_id", MAX_ARG_BYTES)?;
        let client_secret = str_arg(client_secret, "client_secret", MAX_ARG_BYTES)?;
        // The api_url as requests use it (Endpoint::base: trimmed, no trailing slash), without
        // parsing it on every call: only a valid one is ever registered (Client::new checks it).
        let base = api_url.trim().trim_end_matches('/');
        if let Some(h) = persistent::lookup(base, client_id, |h| CLIENTS.get(h).is_some_and(|c| c.is_client_secret(client_secret))) {
            return Ok(h as *mut FlxClient);
        }
        let key = persistent::Key::new(base, client_id, client_secret);
        persistent::check_room()?;
        let client = Client::new(api_url, client_id, client_secret)?;
        let fresh = insert_client(client, true)?;
        let keep = CLIENTS.get(fresh).map(|r| Box::new(r.to_arc()) as persistent::Keep).ok_or_else(|| Error::internal("a new handle is not in the table"))?;
        match persistent::insert(key, fresh, keep) {
            Ok(h) if h == fresh => Ok(fresh as *mut FlxClient),
            other => {
                // Another thread registered this account first, or the registry filled up: this
                // handle was never handed out. Its entry is dropped here, like a freed one.
                drop(CLIENTS.remove(fresh));
                other.map(|h| h as *mut FlxClient)
            }
        }
    })
}

/// Set an option by name, from its string form:
/// expiration_threshold_secs (60, 0..86400), connect_timeout_ms (5000), timeout_ms (15000, whole
/// request; also the longest a call waits for another call's request on the handle), max_retries (2, 0..10), token_path ("flexiti/online-api/oauth/token"; POS API v2.5:
/// "flexiti/pos-api/v2.5/oauth/token"), scope ("merchant" or "customer"; empty: none),
/// proxy (URL; "none": no proxy; empty: https_proxy/HTTPS_PROXY, http_proxy, all_proxy/ALL_PROXY
/// and no_proxy/NO_PROXY from the environment, never HTTP_PROXY), ca_file (PEM file of extra
/// trusted CA certificates: a regular file of at most 4 MiB, read now, before any lock of the
/// handle is taken; a FIFO, device or directory is refused unread), user_agent, log_level ("off", "error", "warn", "info",
/// "debug"; off by default, or FLX_LOG's level when that environment variable is set), log_file
/// (append one line per event to this path; empty: stop), max_response_bytes (8388608, 1..1073741824:
/// the largest answer body flx_request reads), refresh_min_age_secs (0, 0..86400: a
/// use_cache=false call refreshes only a token at least this old; a younger one is returned as
/// is; 60 is the recommended value with a shared token_store), token_store ("file:/abs/dir" or
/// an absolute directory path: processes using the same directory share one token per api_url,
/// client_id and scope, and one flight to the token endpoint; the directory is created 0700 when
/// missing and must be this user's with no group or other permissions; records are encrypted
/// with a key derived from client_secret; or, in a build with the `redis` feature,
/// "redis://[user[:password]@]host[:port][/db][?prefix=...]" or "rediss://...": machines sharing
/// one Redis or Valkey share one token and one flight (a user without a password is an ACL user
/// created with nopass; see README "Web farm"); "" or "none":
/// in-process only), token_store_required ("false"; "true": a call that cannot use the store
/// fails with FLX_ERR_STORE instead of going on per process), store_check_ms (1000, 0..600000:
/// how often the cached path re-reads a Redis store).
/// Strings are copied. Returns FLX_OK, or FLX_ERR_INVALID_ARGUMENT (unknown name, bad value; the
/// message names the option) or FLX_ERR_STORE (a token_store directory that cannot be created,
/// is not a directory, belongs to another user or has broader permissions than 0700), and the
/// option keeps its previous value.
#[no_mangle]
pub extern "C" fn flx_client_set_option(c: *mut FlxClient, name: *const c_char, value: *const c_char) -> i32 {
    guard_status(|| {
        let client = client_arg(c)?;
        let name = str_arg(name, "option name", MAX_ARG_BYTES)?;
        let value = str_arg(value, "option value", MAX_ARG_BYTES).map_err(|e| Error::invalid(format!("option {name}: {}", e.message)))?;
        client.set_option(name, value)
    })
}

/// Release a client: its token and its client_secret (overwritten with zeros) are dropped, at
/// once or, if other threads are inside calls on the handle, when the last of them returns.
/// NULL is a no-op that leaves this thread's last error alone, and a handle from
/// flx_client_persistent is a no-op that succeeds (it lives as long as the process; its token
/// and options stay for the next user). Freeing a handle twice, or a
/// value that is not a live handle, is a no-op that sets FLX_ERR_INVALID_ARGUMENT
/// ("… (double free, or not from flx_client_new)") as this thread's last error.
#[no_mangle]
pub extern "C" fn flx_client_free(c: *mut FlxClient) {
    if c.is_null() {
        return; // a no-op: this thread's last error stays as it was
    }
    guard((), || {
        if CLIENTS.get(c as usize).is_some_and(|r| r.is_persistent()) {
            return Ok(()); // documented: a persistent handle is never released
        }
        let entry = CLIENTS
            .remove(c as usize)
            .ok_or_else(|| Error::invalid("flx_client_free: client handle is not a live FlxClient (double free, or not from flx_client_new)"))?;
        // The client is released here, or by the last thread still inside a call on it.
        drop(entry);
        Ok(())
    })
}

/// Get a valid token as JSON: every field of the server's token response plus "created_at"
/// (unix seconds at which the successful request was sent), e.g.
/// {"token_type":"bearer","access_token":"…","expires_in":1200,"refresh_token":"…","created_at":1764000000}.
///
/// use_cache=true: a still-valid held token is returned with no request (price calculator).
/// use_cache=false: a still-valid token is refreshed (grant_type=refresh_token), so an apply or
/// purchase flow starts with a full lifetime; if the refresh is refused, client_credentials once.
/// No token held, or expired: a new one through grant_type=client_credentials.
/// Concurrent callers share one request: a caller that finds another call's request in flight on
/// the same handle waits for its outcome at most timeout_ms, then fails with FLX_ERR_NETWORK.
/// With the token_store option, processes sharing the store share one request too: one waits
/// for the other's request and takes its token; after waiting timeout_ms for another process it
/// gets a token of its own with client_credentials. A use_cache=false call that found no other
/// process's request in flight refreshes, even if another process stored a token a moment
/// before (it refreshes that token, with the newest refresh token in the store).
///
/// Returns a new string owned by the caller (free with flx_string_free), or NULL on error with
/// FLX_ERR_NETWORK, FLX_ERR_HTTP_STATUS, FLX_ERR_AUTH_REJECTED, FLX_ERR_BAD_RESPONSE,
/// FLX_ERR_INVALID_ARGUMENT, or FLX_ERR_STORE (token_store_required=true and the store cannot be
/// used; a token that was obtained but could not be stored is held all the same); on any other
/// error the held token is unchanged.
#[no_mangle]
pub extern "C" fn flx_get_token(c: *mut FlxClient, use_cache: bool) -> *mut c_char {
    token_string(c, use_cache, |t| &t.token_json)
}

/// The token getters: `out` gets the picked string of a still-valid token published beside the
/// handle (the cached path: one lookup, no lock, no flight), or of the token a request got.
fn with_token<R>(c: *mut FlxClient, use_cache: bool, fallback: R, pick: fn(&HeldToken) -> &str, out: impl Fn(&str) -> Result<R>) -> R {
    guard(fallback, || {
        let client = client_arg(c)?;
        if use_cache {
            if let Some(r) = client.view().as_deref().and_then(|t| client.serve_cached(t, |t| out(pick(t)))) {
                return r;
            }
        }
        let token = client.get_token(use_cache)?;
        out(pick(&token))
    })
}

fn token_string(c: *mut FlxClient, use_cache: bool, pick: fn(&HeldToken) -> &str) -> *mut c_char {
    with_token(c, use_cache, std::ptr::null_mut(), pick, owned_token_string)
}

/// Like flx_get_token, but returns only the access_token, ready for an
/// "Authorization: Bearer …" header. Caller frees with flx_string_free; NULL on error.
#[no_mangle]
pub extern "C" fn flx_get_access_token(c: *mut FlxClient, use_cache: bool) -> *mut c_char {
    token_string(c, use_cache, |t| &t.access_token)
}

/// The `_into` getters: snprintf's contract on the caller's buffer.
fn token_into(c: *mut FlxClient, use_cache: bool, buf: *mut c_char, cap: usize, pick: fn(&HeldToken) -> &str) -> i64 {
    if buf.is_null() && cap != 0 {
        // Refused before anything is sent.
        return guard(-1, || Err(Error::invalid("buf is NULL with a non-zero cap")));
    }
    with_token(c, use_cache, -1, pick, |s| {
        if s.len() < cap {
            // SAFETY: the caller gives cap writable bytes at buf, and s.len() + 1 <= cap.
            unsafe {
                std::ptr::copy_nonoverlapping(s.as_ptr(), buf as *mut u8, s.len());
                *buf.add(s.len()) = 0;
            }
        } else if cap != 0 {
            // SAFETY: cap >= 1 writable bytes at buf.
            unsafe { *buf = 0 };
        }
        i64::try_from(s.len()).map_err(|_| Error::internal("token longer than i64::MAX bytes"))
    })
}

/// Like flx_get_token, but into the caller's buffer: no allocation and nothing to free (the
/// fastest way to call the cached path from PHP FFI or ctypes, where a returned pointer costs
/// an object).
///
/// buf: cap writable bytes (buf may be NULL when cap is 0: a length query).
/// Returns the token JSON's length n in bytes (without the NUL), or -1 on error (the status and
/// message as for flx_get_token; on error the held token is unchanged and buf is not written).
/// When n < cap, buf holds the JSON and a NUL. Otherwise (like snprintf) it did not fit: buf
/// holds "" (when cap > 0) and the token is held all the same, so call again with use_cache=true
/// and a buffer of more than n bytes (a use_cache=false call would refresh it again).
/// The buffer then holds a secret: the caller overwrites it when done, if that matters.
#[no_mangle]
pub extern "C" fn flx_get_token_into(c: *mut FlxClient, use_cache: bool, buf: *mut c_char, cap: usize) -> i64 {
    token_into(c, use_cache, buf, cap, |t| &t.token_json)
}

/// Like flx_get_access_token, but into the caller's buffer, exactly as flx_get_token_into.
#[no_mangle]
pub extern "C" fn flx_get_access_token_into(c: *mut FlxClient, use_cache: bool, buf: *mut c_char, cap: usize) -> i64 {
    token_into(c, use_cache, buf, cap, |t| &t.access_token)
}

/// Export the held token state as session JSON:
/// {"token":{…the token response…},"created_at":N,"expires_in":N}.
/// Returns a new string owned by the caller (free with flx_string_free), or NULL with
/// FLX_ERR_SESSION when no token is held. The JSON holds secrets: store it like a password.
#[no_mangle]
pub extern "C" fn flx_session_export(c: *mut FlxClient) -> *mut c_char {
    guard(std::ptr::null_mut(), || {
        let mut json = client_arg(c)?.export_session()?;
        let copy = owned_c_string(&json);
        crate::secret::wipe_string(&mut json);
        copy
    })
}

/// Replace the held token with the one in session JSON (as produced by flx_session_export; the
/// "token" field may also be the token JSON as a string). The string is copied.
/// Returns FLX_OK; FLX_ERR_INVALID_ARGUMENT for NULL or invalid UTF-8; FLX_ERR_SESSION for JSON
/// that is malformed, of the wrong shape, over 1 MiB, holding more than 10000 JSON values (it is
/// refused before it is parsed), or created more than 300 s in the future.
/// On error the held token is unchanged.
#[no_mangle]
pub extern "C" fn flx_session_import(c: *mut FlxClient, session_json: *const c_char) -> i32 {
    guard_status(|| {
        let client = client_arg(c)?;
        let json = str_arg(session_json, "session_json", usize::MAX)?;
        client.import_session(json)
    })
}

/// Forget the held token (the next flx_get_token asks for a new one). Returns FLX_OK, or
/// FLX_ERR_INVALID_ARGUMENT for a NULL handle.
#[no_mangle]
pub extern "C" fn flx_client_clear(c: *mut FlxClient) -> i32 {
    guard_status(|| {
        client_arg(c)?.clear();
        Ok(())
    })
}

/// Release a string returned by this library. NULL is a no-op. Freeing twice is undefined.
/// The string's bytes are released as they are (not overwritten): a caller that must not leave
/// a token in released memory overwrites it first.
#[no_mangle]
pub extern "C" fn flx_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: every string this library hands out comes from malloc (owned_c_string).
        unsafe { libc::free(s as *mut libc::c_void) }
    }
}

/// The status code of this thread's last call into the library (FLX_OK after a success).
#[no_mangle]
pub extern "C" fn flx_last_error_code() -> i32 {
    LAST_ERROR.try_with(|l| l.try_borrow().map(|l| l.code).unwrap_or(0)).unwrap_or(0)
}

/// The message of this thread's last failed call ("" after a success). The pointer stays valid
/// until this thread's next call into the library; do not free it. Messages never contain the
/// client_secret, an access token or a refresh token, in any spelling a server may echo back
/// (raw, form-encoded, JSON-escaped) nor any run of 12 bytes of one: "[redacted]" stands there.
#[no_mangle]
pub extern "C" fn flx_last_error_message() -> *const c_char {
    const EMPTY: &CStr = c"";
    LAST_ERROR
        .try_with(|l| match l.try_borrow() {
            Ok(l) if l.code != 0 => l.message.as_ptr(),
            _ => EMPTY.as_ptr(),
        })
        .unwrap_or(EMPTY.as_ptr())
}

/// A static "NAME: description" of a status code ("FLX_UNKNOWN: …" for unknown codes).
/// Never free it.
#[no_mangle]
pub extern "C" fn flx_status_str(code: i32) -> *const c_char {
    match FlxStatus::from_code(code) {
        Some(s) => s.describe_cstr().as_ptr() as *const c_char,
        None => c"FLX_UNKNOWN: unknown status code".as_ptr(),
    }
}

/// Log levels, for flx_client_set_option(c, "log_level", …) ("off", "error", "warn", "info",
/// "debug") and the level argument of a FlxLogCallback.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlxLogLevel {
    FLX_LOG_OFF = 0,
    FLX_LOG_ERROR = 1,
    FLX_LOG_WARN = 2,
    FLX_LOG_INFO = 3,
    FLX_LOG_DEBUG = 4,
}

/// Receives one log line (NUL-terminated, valid only during the call; copy it to keep it) with
/// its level (FlxLogLevel) and the `user` pointer given to flx_client_set_log_callback. Called on
/// the thread making the library call, with no lock of the library held: the lines of a token
/// request are delivered once it has completed and its token is published (each line stamped with
/// the time of its event). So it may call into the library again, on any handle, and other
/// threads' calls never wait for it. On its own handle, from inside the callback, a token call
/// returns a still-valid cached token (use_cache=true) and never makes a request or waits: a call
/// that would need one fails at once with FLX_ERR_INVALID_ARGUMENT; lines produced by calls made
/// from inside the callback are not passed to it again (no recursion; the file and stderr sinks
/// still get them).
pub type FlxLogCallback = Option<extern "C" fn(level: i32, line: *const c_char, user: *mut c_void)>;

struct UserPtr(*mut c_void);
// SAFETY: the pointer is only handed back to the caller's own callback, which the caller
// promised (by installing it on a handle shared between threads) is safe to call from any thread.
unsafe impl Send for UserPtr {}
unsafe impl Sync for UserPtr {}

impl UserPtr {
    // A method (not `.0`) so closures capture the Send wrapper, not the bare pointer.
    fn get(&self) -> *mut c_void {
        self.0
    }
}

/// Send this client's log lines to `callback` (NULL: stop). Lines are produced only at or above
/// the "log_level" option (off by default) and never contain a secret. The callback and `user`
/// must stay valid until replaced or until flx_client_free; this call returns only once no call of
/// the previous callback is still running, so its `user` may be freed right after. A callback
/// must not call flx_client_set_log_callback itself, and must return normally: no longjmp, no
/// C++ exception, no pthread_exit out of it (unwinding through the library aborts the process). Returns FLX_OK or
/// FLX_ERR_INVALID_ARGUMENT (NULL handle).
#[no_mangle]
pub extern "C" fn flx_client_set_log_callback(c: *mut FlxClient, callback: FlxLogCallback, user: *mut c_void) -> i32 {
    guard_status(|| {
        let client = client_arg(c)?;
        let cb: Option<crate::log::Callback> = callback.map(|f| {
            let user = UserPtr(user);
            std::sync::Arc::new(move |level: crate::log::Level, line: &str| {
                if let Ok(line) = CString::new(line) {
                    f(level as i32, line.as_ptr(), user.get());
                }
            }) as crate::log::Callback
        });
        client.logger.set_callback(cb);
        Ok(())
    })
}

/// Counters as JSON, cheap enough for every health check:
/// {"requests":{"client_credentials":N,"refresh_token":N},"cache_hits":N,"new_tokens":N,
///  "refreshes":N,"fallbacks":N,"retries":N,"store_errors":N,
///  "api":{"requests":N,"invalid_token_resends":N,"retries":N,"failures":N},"failures":{"FLX_ERR_NETWORK":N,…},
///  "last_error_time":N|null,"last_error_code":N,"last_error_name":"…","token_held":bool,
///  "token_age_secs":N|null,"token_expires_in":N|null,"token_time_left_secs":N|null,
///  "token_valid_for_secs":N|null}. Requests count every HTTP attempt; failures count failed
/// token calls by status; store_errors counts token_store reads and writes that failed at run time
/// (each such call went on without the store and still returned its token); "api" counts
/// flx_request's HTTP sends, its resends after invalid_token, its transient retries, and the calls
/// that failed after their arguments were accepted. Caller frees with flx_string_free; NULL on error (NULL handle).
#[no_mangle]
pub extern "C" fn flx_client_stats(c: *mut FlxClient) -> *mut c_char {
    guard(std::ptr::null_mut(), || owned_c_string(&client_arg(c)?.stats_json()))
}

/// The guide's isAccessTokenExpired: now - created_at >= expires_in - threshold, computed
/// exactly for every int64 input; expires_in at or below threshold is always expired.
#[no_mangle]
pub extern "C" fn flx_is_access_token_expired(created_at: i64, expires_in: i64, now: i64, threshold: i64) -> bool {
    expiry::is_access_token_expired(created_at, expires_in, now, threshold)
}

// ---- POS-API calls ------------------------------------------------------------------------

/// Largest request body flx_request accepts.
const MAX_REQUEST_BODY_BYTES: usize = 16 * 1024 * 1024;

thread_local! {
    /// The answer headers of this thread's last successful flx_request ("" otherwise).
    static LAST_RESPONSE_HEADERS: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_response_headers(headers: &[(String, String)]) {
    let mut text = String::new();
    for (n, v) in headers {
        text.push_str(n);
        text.push_str(": ");
        text.push_str(v);
        text.push('\n');
    }
    // Header names and values cannot hold a NUL (the http crate refuses them).
    let text = CString::new(text).unwrap_or_default();
    let _ = LAST_RESPONSE_HEADERS.try_with(|h| {
        if let Ok(mut h) = h.try_borrow_mut() {
            *h = text;
        }
    });
}

/// Make an authenticated POS-API call: `method` (GET, POST, PUT, PATCH, DELETE or HEAD) to
/// `path` joined to api_url exactly as the token path is (e.g. "flexiti/pos-api/v2.5/…", a query
/// string allowed), with `Authorization: Bearer <token>` from the same decision as
/// flx_get_token(c, use_cache), a fresh `x-reference-id` (a UUID per request sent),
/// `Accept: application/json`, and `Content-Type: application/json` when there is a body. It goes
/// over the handle's kept-alive connection, the one token requests use.
///
/// body: the request body (UTF-8, up to 16 MiB), or NULL for none. headers: extra request
/// headers, one "Name: value" per line, lines separated by LF (a final LF is allowed), or NULL;
/// they replace the defaults above of the same name (x-reference-id included). A CR anywhere, a
/// malformed line, or Authorization, Host, Content-Length, Transfer-Encoding, Connection or
/// Upgrade gives FLX_ERR_INVALID_ARGUMENT, and so does a method not in the list: every argument
/// is checked before anything is sent (no API request, no token request).
///
/// Every HTTP status is returned as is, with FLX_OK, except a 401 whose WWW-Authenticate or
/// body says invalid_token: the held token is then dropped, a new one obtained, and the request
/// sent once more, exactly once, whatever the method. Transient failures (connect errors,
/// resets, timeouts, 502/503/504, 429 with Retry-After) are retried up to max_retries, with the
/// token requests' backoff, only for GET, HEAD, PUT and DELETE; a POST or PATCH is never resent
/// after one. When retries run out, the last answer is returned with FLX_OK like any other.
/// Redirects are not followed (3xx is returned as is). Timeouts are the token requests'.
///
/// On FLX_OK, *http_status holds the HTTP status and *response_body a new NUL-terminated string
/// with the answer's body ("" when it has none), owned by the caller: free it with
/// flx_string_free. flx_last_response_headers() then gives the answer's headers.
/// On any error, *http_status is 0 and *response_body NULL: FLX_ERR_INVALID_ARGUMENT (above, or
/// NULL http_status/response_body), FLX_ERR_NETWORK (no answer, after the retries allowed),
/// FLX_ERR_BAD_RESPONSE (an answer over the max_response_bytes option, 8 MiB by default, refused
/// without reading past the cap; a body holding a NUL byte), or the token request's error
/// (FLX_ERR_AUTH_REJECTED, …). Messages and log lines never hold the bearer token or the
/// client_secret.
#[no_mangle]
pub extern "C" fn flx_request(
    c: *mut FlxClient,
    method: *const c_char,
    path: *const c_char,
    body: *const c_char,
    headers: *const c_char,
    use_cache: bool,
    http_status: *mut i32,
    response_body: *mut *mut c_char,
) -> i32 {
    // SAFETY (both writes): non-NULL out-pointers point to writable storage (caller's promise).
    if !http_status.is_null() {
        unsafe { *http_status = 0 };
    }
    if !response_body.is_null() {
        unsafe { *response_body = std::ptr::null_mut() };
    }
    set_last_response_headers(&[]);
    guard_status(|| {
        let client = client_arg(c)?;
        if http_status.is_null() {
            return Err(Error::invalid("http_status is NULL"));
        }
        if response_body.is_null() {
            return Err(Error::invalid("response_body is NULL"));
        }
        let method = str_arg(method, "method", MAX_ARG_BYTES)?;
        let path = str_arg(path, "path", MAX_ARG_BYTES)?;
        let body = if body.is_null() { None } else { Some(str_arg(body, "body", MAX_REQUEST_BODY_BYTES)?) };
        let headers = if headers.is_null() { None } else { Some(str_arg(headers, "headers", MAX_ARG_BYTES)?) };
        let req = crate::api::ApiRequest::new(method, path, body.map(str::as_bytes), headers)?;
        let resp = crate::api::request(&client, &req, use_cache)?;
        if resp.body.0.contains(&0) {
            return Err(Error::bad_response(format!(
                "API response body holds a NUL byte: it cannot be returned as a C string (HTTP {}, {} {})",
                resp.status,
                req.method(),
                quote_path(path)
            )));
        }
        let p = copy_bytes_to_malloc(&resp.body.0)?;
        set_last_response_headers(&resp.headers);
        // SAFETY: checked non-NULL above.
        unsafe {
            *http_status = i32::from(resp.status);
            *response_body = p;
        }
        Ok(())
    })
}

fn quote_path(path: &str) -> String {
    crate::error::quote(path)
}

fn copy_bytes_to_malloc(bytes: &[u8]) -> Result<*mut c_char> {
    // SAFETY: malloc of len+1 bytes; the copy stays in bounds and the result is NUL-terminated.
    unsafe {
        let p = libc::malloc(bytes.len() + 1) as *mut u8;
        if p.is_null() {
            return Err(Error::internal("out of memory"));
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, bytes.len());
        *p.add(bytes.len()) = 0;
        Ok(p as *mut c_char)
    }
}

/// The headers of the answer to this thread's last successful flx_request, one "name: value"
/// per line (names lower-case, each line ending in LF, in the order received), or "" when that
/// call failed or none was made. Valid until this thread's next flx_request; never free it.
#[no_mangle]
pub extern "C" fn flx_last_response_headers() -> *const c_char {
    const EMPTY: &CStr = c"";
    LAST_RESPONSE_HEADERS.try_with(|h| h.try_borrow().map(|h| h.as_ptr()).unwrap_or(EMPTY.as_ptr())).unwrap_or(EMPTY.as_ptr())
}
