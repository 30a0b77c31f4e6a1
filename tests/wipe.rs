//! Issue 15 item 5: memory the library releases holds no token and no echoed secret. The test
//! binary's global allocator scans every block handed back to it (and, through the default
//! realloc, every block a reallocation leaves) for canaries: a client_secret, and an access and
//! a refresh token the server is made to issue. Plain HTTP over loopback: every byte of the
//! exchange passes through buffers of this library or of ureq (TLS adds rustls' own buffers,
//! which cannot be wiped from outside: see RELIABILITY.md).

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;
use serde_json::{json, Value};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

const SECRET: &str = "wipe-canary-secret-4e1f0c9b7d2a";
const ACCESS: &str = "wipe-canary-access-8b3d61f0a5c2";
const REFRESH: &str = "wipe-canary-refresh-27c9e4d1b6f8";

static ARMED: AtomicBool = AtomicBool::new(false);
static HITS: AtomicUsize = AtomicUsize::new(0);
static SITES: Mutex<Vec<String>> = Mutex::new(Vec::new());
thread_local! {
    static IN_HOOK: Cell<bool> = const { Cell::new(false) };
}

fn canary_in(block: &[u8]) -> Option<&'static str> {
    [SECRET, ACCESS, REFRESH].into_iter().find(|c| {
        let c = c.as_bytes();
        block.len() >= c.len() && block.windows(c.len()).any(|w| w == c)
    })
}

struct Scanning;

unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // Zeroed: a block must not carry what an earlier owner left in it (the test's own copies,
        // or strings the caller released with flx_string_free, which free() does not wipe), or its
        // unused capacity would be taken for a copy the library made.
        System.alloc_zeroed(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Relaxed) && !IN_HOOK.with(|f| f.get()) {
            // SAFETY: the block is still ours until System.dealloc below.
            let block = std::slice::from_raw_parts(ptr, layout.size());
            if let Some(which) = canary_in(block) {
                // Only blocks the library releases count: the test's own copies (the bodies it
                // posts to the server, what it reads back) are its business.
                IN_HOOK.with(|f| f.set(true));
                let trace = std::backtrace::Backtrace::force_capture().to_string();
                if trace.contains("flexiti_auth::") {
                    HITS.fetch_add(1, Ordering::SeqCst);
                    if let Ok(mut s) = SITES.lock() {
                        if s.len() < 12 {
                            s.push(format!("{} bytes holding {which:?} freed at:\n{trace}", layout.size()));
                        }
                    }
                }
                IN_HOOK.with(|f| f.set(false));
            }
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Scanning = Scanning;

fn sites() -> String {
    let sites = std::mem::take(&mut *SITES.lock().unwrap());
    sites
        .iter()
        .map(|s| s.lines().filter(|l| l.contains(": ") || l.contains("freed at")).take(60).collect::<Vec<_>>().join("\n"))
        .collect::<Vec<_>>()
        .join("\n---\n")
}

#[test]
fn released_memory_holds_no_token_and_no_echoed_secret() {
    let server = TokenServer::start_with(&["--client-secret", SECRET]);
    ARMED.store(true, Ordering::SeqCst);
    // The scanner works: a block holding a canary, released by the library, is seen.
    drop(ACCESS.to_owned());
    assert_eq!(HITS.swap(0, Ordering::SeqCst), 0, "a copy the test itself dropped counted");
    flexiti_auth::ffi::guarded(0, || {
        drop(ACCESS.to_owned());
        Ok(0)
    });
    assert_eq!(HITS.swap(0, Ordering::SeqCst), 1, "the scanning allocator did not see a copy released inside the library");
    // A wiped one is not seen.
    flexiti_auth::ffi::guarded(0, || {
        drop(flexiti_auth::secret::SecretString::new(ACCESS.to_owned()));
        Ok(0)
    });
    assert_eq!(HITS.swap(0, Ordering::SeqCst), 0, "a wiped copy counted");
    SITES.lock().unwrap().clear();

    let h = Handle::new(&server.url, CLIENT_ID, SECRET);
    assert_eq!(h.set("proxy", "none"), OK);
    assert_eq!(h.set("max_retries", "0"), OK);
    // A token of the server's, then the canary token (a 200 answer the server is told to give).
    assert!(h.token(false).is_some(), "{:?}", last_error());
    let canary_token = json!({"token_type": "bearer", "access_token": ACCESS, "expires_in": 1200, "refresh_token": REFRESH, "scope": "merchant"});
    server.faults(json!([{"status": 200, "body": canary_token.to_string()}]));
    let t: Value = serde_json::from_str(&h.token(false).expect("the canary token")).unwrap();
    assert_eq!(t["access_token"], ACCESS);
    // Cached reads, a session export and its import into a second handle.
    assert!(h.access_token(true).is_some());
    let session = h.export().unwrap();
    let h2 = Handle::new(&server.url, CLIENT_ID, SECRET);
    assert_eq!(h2.import(&session), OK);
    drop(session);
    // A refresh with the canary refresh token (the server refuses it: a fallback follows), and a
    // server that echoes the request body and the tokens in a 400.
    assert!(h.token(false).is_some(), "{:?}", last_error());
    let echo = format!("client_id={CLIENT_ID}&client_secret={SECRET}&grant_type=refresh_token&refresh_token={REFRESH}");
    server.faults(json!([{"status": 400, "body": json!({"error": "invalid_request", "error_description": echo, "message": ACCESS}).to_string(), "count": 4}]));
    assert!(h.token(false).is_none());
    assert!(h2.token(false).is_none());
    assert_eq!(last_error().0, 3);
    h.free();
    h2.free();
    drop(server);

    // A 40 KiB secret: its request passes the send buffer's 16 KiB capacity, which must be
    // flushed rather than grown (growing would release a block holding part of the secret).
    ARMED.store(false, Ordering::SeqCst);
    let long = SECRET.repeat(40 * 1024 / SECRET.len());
    let server = TokenServer::start_with(&["--client-secret", &long]);
    ARMED.store(true, Ordering::SeqCst);
    let h = Handle::new(&server.url, CLIENT_ID, &long);
    assert_eq!(h.set("proxy", "none"), OK);
    assert!(h.token(false).is_some(), "{:?}", last_error());
    assert!(h.token(false).is_some(), "{:?}", last_error());
    h.free();
    ARMED.store(false, Ordering::SeqCst);
    drop(server);
    let hits = HITS.swap(0, Ordering::SeqCst);
    assert_eq!(hits, 0, "{hits} released block(s) still held a token or the secret:\n{}", sites());
}
