//! Persistent handles (flx_client_persistent) through the C surface: one handle per account and
//! process, shared token and connection, free is a no-op, fork, and options set to the value
//! they already have keep the kept-alive connection (counted at the token server).
//! The 64-handle limit has its own test binary (persistent_limit.rs): the registry is per process.

mod common;
use common::*;
use flexiti_auth::ffi::*;
use flexiti_auth::FlxStatus;
use std::ffi::{CStr, CString};

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

fn persistent(url: &str, id: &str, secret: &str) -> *mut FlxClient {
    flx_client_persistent(cs(url).as_ptr(), cs(id).as_ptr(), cs(secret).as_ptr())
}

fn set(c: *mut FlxClient, name: &str, value: &str) {
    assert_eq!(flx_client_set_option(c, cs(name).as_ptr(), cs(value).as_ptr()), 0, "{name}={value}: {}", last_message());
}

fn last_message() -> String {
    unsafe { CStr::from_ptr(flx_last_error_message()) }.to_string_lossy().into_owned()
}

fn access(c: *mut FlxClient, use_cache: bool) -> String {
    let p = flx_get_access_token(c, use_cache);
    assert!(!p.is_null(), "token: {}", last_message());
    let s = unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned();
    flx_string_free(p);
    s
}

fn connection_ids(server: &TokenServer) -> Vec<u64> {
    server.requests().iter().map(|r| r["connection_id"].as_u64().unwrap()).collect()
}

/// A server with its own client id, so tests running in parallel never share a handle.
fn server_for(id: &str) -> TokenServer {
    TokenServer::start_with(&["--client-id", id])
}

#[test]
fn the_same_account_gets_the_same_handle_and_shares_its_token() {
    let id = "persist-same";
    let server = server_for(id);
    let a = persistent(&server.url, id, CLIENT_SECRET);
    assert!(!a.is_null(), "{}", last_message());
    set(a, "proxy", "none");
    let token = access(a, false);

    // Same triple, with or without the trailing slash: the same handle, its token, no request.
    let b = persistent(&server.url, id, CLIENT_SECRET);
    let c = persistent(server.url.trim_end_matches('/'), id, CLIENT_SECRET);
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(access(b, true), token);
    assert_eq!(server.requests().len(), 1);

    // Another secret or another client id is another handle (and another account's token).
    let other_secret = persistent(&server.url, id, "another-secret");
    let other_id = persistent(&server.url, "persist-same-2", CLIENT_SECRET);
    assert!(!other_secret.is_null() && !other_id.is_null());
    assert_ne!(other_secret, a);
    assert_ne!(other_id, a);
    assert_ne!(other_secret, other_id);
    assert_eq!(persistent(&server.url, id, "another-secret"), other_secret);
    // A secret that only starts like the first one, or is longer, is another account too.
    let longer = persistent(&server.url, id, &format!("{CLIENT_SECRET}x"));
    let shorter = persistent(&server.url, id, &CLIENT_SECRET[..CLIENT_SECRET.len() - 1]);
    assert!(!longer.is_null() && !shorter.is_null());
    assert!(longer != a && shorter != a && longer != shorter);

    // flx_client_free does nothing: the handle, its token and its options stay.
    flx_client_free(a);
    flx_client_free(a);
    assert_eq!(flx_last_error_code(), 0, "freeing a persistent handle is not an error: {}", last_message());
    assert_eq!(access(a, true), token);
    assert_eq!(persistent(&server.url, id, CLIENT_SECRET), a);
    let refreshed = access(a, false);
    assert_ne!(refreshed, token);
    assert_eq!(server.grants(), ["client_credentials", "refresh_token"]);
    let ids = connection_ids(&server);
    assert_eq!(ids[0], ids[1], "the kept-alive connection survived the free");

    // A plain handle for the same account is not the persistent one, and is freed as usual.
    let plain = flx_client_new(cs(&server.url).as_ptr(), cs(id).as_ptr(), cs(CLIENT_SECRET).as_ptr());
    assert!(!plain.is_null());
    assert_ne!(plain, a);
    flx_client_free(plain);
}

#[test]
fn bad_arguments_are_refused_like_flx_client_new_and_never_echo_the_secret() {
    let secret = "Zx9+Qw3/persistent-secret";
    for (url, id, s) in [("ftp://x/", "id", secret), ("http://example.com/", "id", secret), ("https://x/", "", secret), ("https://x/", "id", "")] {
        assert!(persistent(url, id, s).is_null());
        assert_eq!(flx_last_error_code(), FlxStatus::FLX_ERR_INVALID_ARGUMENT as i32);
        assert!(!last_message().contains(secret));
    }
    assert!(flx_client_persistent(std::ptr::null(), cs("id").as_ptr(), cs(secret).as_ptr()).is_null());
    assert!(flx_client_persistent(cs("https://x/").as_ptr(), cs("id").as_ptr(), std::ptr::null()).is_null());
    assert_eq!(flx_last_error_code(), FlxStatus::FLX_ERR_INVALID_ARGUMENT as i32);
}

#[test]
fn threads_asking_at_once_get_one_handle() {
    let id = "persist-race";
    let server = server_for(id);
    let url = server.url.clone();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(16));
    let handles: Vec<usize> = (0..16)
        .map(|_| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                persistent(&url, id, CLIENT_SECRET) as usize
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    assert!(handles[0] != 0);
    assert!(handles.iter().all(|h| *h == handles[0]), "{handles:?}");
}

#[test]
fn setting_an_option_to_its_current_value_keeps_the_connection() {
    let id = "persist-options";
    let server = server_for(id);
    let c = persistent(&server.url, id, CLIENT_SECRET);
    // What a PHP request does on every request: set its options, then ask for a token.
    let options = [("proxy", "none"), ("timeout_ms", "15000"), ("connect_timeout_ms", "5000"), ("max_retries", "2"), ("user_agent", "")];
    let mut tokens = vec![];
    for _ in 0..4 {
        for (name, value) in options {
            set(c, name, value);
        }
        tokens.push(access(c, false));
    }
    let ids = connection_ids(&server);
    assert_eq!(ids.len(), 4);
    assert!(ids.iter().all(|i| *i == ids[0]), "every refresh on the first connection: {ids:?}");
    assert_eq!(server.stats()["token_connections"], 1);

    // A real change still takes effect: a new transport, so a new connection.
    set(c, "timeout_ms", "14000");
    access(c, false);
    set(c, "timeout_ms", "14000");
    access(c, false);
    let ids = connection_ids(&server);
    assert_ne!(ids[4], ids[3], "a changed timeout_ms builds a new transport");
    assert_eq!(ids[5], ids[4], "setting it again to the same value keeps it");
}

#[test]
fn the_rust_api_keeps_the_connection_too() {
    let server = TokenServer::start();
    let c = client(&server);
    c.get_token(false).unwrap();
    c.set_option("timeout_ms", "15000").unwrap();
    c.set_option("proxy", "none").unwrap();
    c.get_token(false).unwrap();
    let ids = connection_ids(&server);
    assert_eq!(ids[0], ids[1], "{ids:?}");
}

#[test]
fn after_fork_the_child_gets_the_same_handle_with_connections_of_its_own() {
    let id = "persist-fork";
    let server = server_for(id);
    let c = persistent(&server.url, id, CLIENT_SECRET);
    set(c, "proxy", "none");
    let token = access(c, false);
    // SAFETY: the child only calls the library, then _exit()s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        unsafe { libc::alarm(20) };
        let code = std::panic::catch_unwind(|| {
            let again = persistent(&server.url, id, CLIENT_SECRET);
            if again != c {
                return 2;
            }
            if access(again, true) != token {
                return 3;
            }
            if access(again, false) == token {
                return 4;
            }
            0
        })
        .unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child status {status}");
    let ids = connection_ids(&server);
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[1], ids[0], "the child opened its own connection");
    assert_eq!(access(c, true), token, "the parent keeps its token");
}
