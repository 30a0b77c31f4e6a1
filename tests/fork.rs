//! fork(): a child must not reuse the parent's pooled connections, nor wait on a request that
//! one of the parent's threads had in flight. (Its own test binary: fork wants few threads.)

mod common;
use common::*;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn connection_of(r: &serde_json::Value) -> u64 {
    r["connection_id"].as_u64().expect("connection_id")
}

/// Run `f` in a forked child; its exit status is the result (the child never returns).
fn in_child(f: impl FnOnce() -> i32) -> i32 {
    // SAFETY: the child only runs `f` and then _exit()s; glibc's malloc is fork-safe.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        unsafe { libc::alarm(20) }; // a hung child dies instead of hanging the suite
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or(101);
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status), "child died: status {status}");
    libc::WEXITSTATUS(status)
}

#[test]
fn children_use_their_own_connections_and_never_wait_on_the_parents_flight() {
    let server = TokenServer::start();
    let client = Arc::new(client(&server));
    let first = client.get_token(false).unwrap();
    let parent_conn = connection_of(&server.requests()[0]);

    // 1. A child refreshes on a connection of its own while the parent keeps its pooled one.
    let code = in_child(|| match client.get_token(false) {
        Ok(t) if t.access_token != first.access_token => 0,
        Ok(_) => 3,
        Err(_) => 4,
    });
    assert_eq!(code, 0, "child could not get a token");
    let parent_next = client.get_token(true).unwrap();
    assert_eq!(parent_next.access_token, first.access_token, "the child's token stays in the child");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    assert_ne!(connection_of(&reqs[1]), parent_conn, "the child reused the parent's pooled socket");

    // The parent goes on working; its refresh token was rotated by the child, so the parent's
    // refresh is refused and it falls back to client_credentials.
    client.clear();
    client.get_token(false).unwrap();
    client.get_token(false).unwrap();

    // 2. Fork while a parent thread holds a request in flight (the server delays it by 3 s):
    //    the child must not wait for that thread, which does not exist in the child.
    server.faults(json!([{"delay_ms": 3000}]));
    let before = server.requests().len();
    let busy = {
        let c = client.clone();
        std::thread::spawn(move || c.get_token(false).map(|t| t.access_token.clone()))
    };
    // Wait until the delayed request has reached the server.
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.requests().len() == before {
        assert!(Instant::now() < deadline, "the parent's request never arrived: {:?}", server.grants());
        std::thread::sleep(Duration::from_millis(20));
    }
    let code = in_child(|| {
        let t0 = Instant::now();
        let ok = client.get_token(false).is_ok();
        match (ok, t0.elapsed() < Duration::from_millis(2500)) {
            (true, true) => 0,
            (true, false) => 5, // waited for the parent's flight
            (false, _) => 6,
        }
    });
    assert_eq!(code, 0, "child waited on the parent's in-flight request or failed");
    assert!(busy.join().unwrap().is_ok(), "the parent's own request still completes");
}

/// token_store: a child forked while a parent thread holds the store's lock for a request must
/// not keep that lock (a flock belongs to the open file, which the child inherits): the child
/// waits only for the parent's request, then takes the token the parent stored.
#[test]
fn a_child_forked_during_a_store_flight_does_not_keep_the_store_lock() {
    let server = TokenServer::start();
    let dir = std::env::temp_dir().join(format!("flx-fork-store-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let client = Arc::new(client(&server));
    client.set_option("token_store", dir.to_str().unwrap()).unwrap();
    server.faults(json!([{"delay_ms": 1500, "count": 1}]));
    let busy = {
        let c = client.clone();
        std::thread::spawn(move || c.get_token(false).map(|t| t.access_token.clone()))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while server.requests().is_empty() {
        assert!(Instant::now() < deadline, "the parent's request never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    let code = in_child(|| {
        // A new handle in the child, on the same store, with a long timeout: were the lock kept
        // by the child's copy of the parent's lock file, it would wait all of it.
        let c = common::client(&server);
        c.set_option("token_store", dir.to_str().unwrap()).unwrap();
        c.set_option("timeout_ms", "15000").unwrap();
        let t0 = Instant::now();
        let t = match c.get_token(false) {
            Ok(t) => t,
            Err(_) => return 6,
        };
        if t0.elapsed() > Duration::from_secs(8) {
            return 5;
        }
        // It took the parent's token from the store: no request of its own.
        if server.issued_access_tokens() != vec![t.access_token.clone()] {
            return 7;
        }
        0
    });
    assert_eq!(code, 0, "5: waited for the lock the child inherited; 6: failed; 7: sent its own request");
    assert!(busy.join().unwrap().is_ok());
    let _ = std::fs::remove_dir_all(&dir);
}

/// flx_request after fork(): the child's POS-API call goes out on a connection of its own, and
/// the parent's keeps using its pooled one.
#[test]
fn a_childs_pos_api_call_uses_its_own_connection() {
    use flexiti_auth::api::{request, ApiRequest};
    let server = TokenServer::start();
    let client = client(&server);
    let get = ApiRequest::new("GET", "api/echo", None, None).unwrap();
    assert_eq!(request(&client, &get, true).unwrap().status, 200);
    let api = |s: &TokenServer| s.requests().into_iter().filter(|r| r["kind"] == "api").collect::<Vec<_>>();
    let parent_conn = connection_of(&api(&server)[0]);
    let code = in_child(|| match request(&client, &get, true) {
        Ok(r) if r.status == 200 => 0,
        Ok(_) => 3,
        Err(_) => 4,
    });
    assert_eq!(code, 0, "the child's call failed");
    assert_eq!(request(&client, &get, true).unwrap().status, 200);
    let calls = api(&server);
    assert_eq!(calls.len(), 3);
    assert_ne!(connection_of(&calls[1]), parent_conn, "the child reused the parent's pooled socket");
    assert_eq!(connection_of(&calls[2]), parent_conn, "the parent keeps its own connection");
}
