//! 64 threads share one C handle for tens of thousands of mixed calls (cached, refresh, clear,
//! import, export, stats) against a token server that keeps failing in every way it can. No
//! deadlock (a watchdog), no crash, only documented error codes, every token returned is one the
//! server issued, and concurrent refreshes coalesce into one request.
//!
//! `cargo test --test stress` runs the short version (part of `make test`); `make stress` runs
//! `stress_long` for FLX_STRESS_SECS seconds (default 300).

mod common;
mod reliability_support;
use common::*;
use reliability_support::*;
use serde_json::{json, Value};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

const THREADS: usize = 64;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Tally {
    calls: u64,
    tokens: HashSet<String>,
    errors: HashMap<i32, u64>,
    refresh_calls: u64,
}

/// Wait for every worker, or fail naming how many are stuck.
fn join_all<T: Send + 'static>(handles: Vec<std::thread::JoinHandle<T>>, limit: Duration) -> Vec<T> {
    let (tx, rx) = mpsc::channel();
    let n = handles.len();
    std::thread::spawn(move || {
        for h in handles {
            let _ = tx.send(h.join());
        }
    });
    let deadline = Instant::now() + limit;
    let mut out = Vec::with_capacity(n);
    for done in 0..n {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(p)) => std::panic::resume_unwind(p),
            Err(_) => panic!("deadlock or hang: {} of {n} threads still running after {limit:?}", n - done),
        }
    }
    out
}

/// Every thread calls flx_get_access_token(c, false) at once while the server holds the first
/// request: callers that started before the first one returned share its single request.
fn coalescing_rounds(server: &TokenServer, h: &Arc<Handle>, rounds: usize) {
    for round in 0..rounds {
        server.post_delete_requests();
        server.faults(json!([{"delay_ms": 700}]));
        let barrier = Arc::new(Barrier::new(THREADS));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let (h, b) = (h.clone(), barrier.clone());
                std::thread::spawn(move || {
                    b.wait();
                    let start = Instant::now();
                    let t = h.access_token(false);
                    let code = last_error().0;
                    (start, Instant::now(), t, code)
                })
            })
            .collect();
        let results = join_all(workers, Duration::from_secs(60));
        let first_end = results.iter().map(|r| r.1).min().unwrap();
        let late = results.iter().filter(|r| r.0 >= first_end).count();
        for (_, _, t, code) in &results {
            assert!(t.is_some(), "round {round}: a caller failed with {code}");
        }
        let shared: HashSet<&String> = results.iter().filter(|r| r.0 < first_end).filter_map(|r| r.2.as_ref()).collect();
        let requests = server.requests().len();
        assert!(late < THREADS / 2, "round {round}: {late} callers came too late for the test to mean anything");
        assert_eq!(shared.len(), 1, "round {round}: concurrent callers got different tokens");
        assert!(requests <= 1 + late, "round {round}: {requests} requests for {THREADS} concurrent callers ({late} late): {:?}", server.requests().iter().map(|r| (r["form"]["grant_type"].clone(), r["fault"].clone(), r["status"].clone(), r["received_ms"].clone(), r["connection_id"].clone())).collect::<Vec<_>>());
        let expected = if round == 0 { "client_credentials" } else { "refresh_token" };
        assert_eq!(server.grants()[0], expected, "round {round}");
    }
}

fn mixed(server: &TokenServer, h: &Arc<Handle>, calls_per_thread: Option<u64>, run_for: Duration) -> Vec<Tally> {
    let stop = Arc::new(AtomicBool::new(false));
    // The server fails now and then, in every way it can.
    let injector = {
        let (stop, url) = (stop.clone(), server.url.clone());
        std::thread::spawn(move || {
            let faults = [
                json!({"status": 503, "body": "{\"error\":\"unavailable\"}"}),
                json!({"status": 500, "body": "oops"}),
                json!({"status": 429, "retry_after": "0", "body": "{}"}),
                json!({"reset_after_bytes": 8}),
                json!({"close": true}),
                json!({"status": 200, "body": "<html>maintenance</html>"}),
                json!({"status": 200, "body": "{\"access_token\":\"\"}"}),
                json!({"grant_type": "refresh_token", "status": 400, "body": "{\"error\":\"invalid_grant\"}"}),
                json!({"status": 401, "body": "{\"error\":\"invalid_client\"}"}),
                json!({"delay_ms": 150}),
                json!({"hang": true}),
                json!({"trickle_ms": 5}),
            ];
            let agent: ureq::Agent = ureq::Agent::config_builder().proxy(None).http_status_as_error(false).build().into();
            let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
            while !stop.load(Ordering::Relaxed) {
                // At most one fault waits at a time: some requests fail, most succeed.
                let queued = agent
                    .get(&format!("{url}_control/faults"))
                    .call()
                    .ok()
                    .and_then(|mut r| r.body_mut().read_to_vec().ok())
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .and_then(|v| v.as_array().map(|a| a.len()))
                    .unwrap_or(1);
                if queued == 0 {
                    let f = &faults[rng.below(faults.len() as u64) as usize];
                    let _ = agent.post(&format!("{url}_control/faults")).content_type("application/json").send(f.to_string());
                }
                std::thread::sleep(Duration::from_millis(10 + rng.below(20)));
            }
        })
    };
    let deadline = Instant::now() + run_for;
    let workers: Vec<_> = (0..THREADS)
        .map(|i| {
            let h = h.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x1234_5678_9abc_def1 ^ ((i as u64 + 1) * 0x9e37_79b9));
                let mut t = Tally::default();
                let mut session: Option<String> = None;
                let allowed_error = |t: &mut Tally, what: &str| {
                    let (code, msg) = last_error();
                    assert!(
                        matches!(code, NETWORK | HTTP_STATUS | AUTH_REJECTED | BAD_RESPONSE),
                        "{what}: unexpected status {code}: {msg}"
                    );
                    assert!(!msg.is_empty(), "{what}: failure without a message");
                    *t.errors.entry(code).or_default() += 1;
                };
                loop {
                    match calls_per_thread {
                        Some(n) if t.calls >= n => break,
                        None if Instant::now() >= deadline => break,
                        _ => {}
                    }
                    t.calls += 1;
                    match rng.below(100) {
                        0..=54 => match h.access_token(true) {
                            Some(tok) => {
                                t.tokens.insert(tok);
                            }
                            None => allowed_error(&mut t, "cached access token"),
                        },
                        55..=69 => match h.token(true) {
                            Some(json) => {
                                let v: Value = serde_json::from_str(&json).expect("token JSON");
                                assert!(v["created_at"].is_i64() && v["expires_in"].is_i64(), "{json}");
                                t.tokens.insert(v["access_token"].as_str().expect("access_token").to_owned());
                            }
                            None => allowed_error(&mut t, "cached token JSON"),
                        },
                        70..=81 => {
                            t.refresh_calls += 1;
                            match h.access_token(false) {
                                Some(tok) => {
                                    t.tokens.insert(tok);
                                }
                                None => allowed_error(&mut t, "refresh"),
                            }
                        }
                        82..=87 => match h.export() {
                            Some(s) => session = Some(s),
                            None => {
                                let (code, _) = last_error();
                                assert_eq!(code, SESSION, "export failed with {code}");
                            }
                        },
                        88..=91 => {
                            if let Some(s) = &session {
                                assert_eq!(h.import(s), OK, "import of an exported session: {:?}", last_error());
                            }
                        }
                        92..=93 => assert_eq!(h.clear(), OK),
                        94..=95 => {
                            assert_eq!(h.import("{\"token\":{\"access_token\":"), SESSION);
                        }
                        96..=97 => {
                            let stats = take(flexiti_auth::ffi::flx_client_stats(h.0)).expect("stats");
                            let v: Value = serde_json::from_str(&stats).expect("stats JSON");
                            assert!(v["token_held"].is_boolean(), "{stats}");
                        }
                        _ => assert_eq!(h.set("expiration_threshold_secs", if rng.below(2) == 0 { "60" } else { "120" }), OK),
                    }
                }
                t
            })
        })
        .collect();
    let limit = run_for + Duration::from_secs(120);
    let tallies = join_all(workers, limit);
    stop.store(true, Ordering::Relaxed);
    injector.join().unwrap();
    tallies
}

fn check(server: &TokenServer, tallies: &[Tally]) {
    let issued: HashSet<String> = server.issued_access_tokens().into_iter().collect();
    let issued_refresh: HashSet<String> = server.issued_refresh_tokens().into_iter().collect();
    let calls: u64 = tallies.iter().map(|t| t.calls).sum();
    let refresh_calls: u64 = tallies.iter().map(|t| t.refresh_calls).sum();
    let mut errors: HashMap<i32, u64> = HashMap::new();
    let mut returned = 0;
    for t in tallies {
        for tok in &t.tokens {
            assert!(issued.contains(tok), "token {}… was not issued by the server", &tok[..tok.len().min(6)]);
            returned += 1;
        }
        for (k, v) in &t.errors {
            *errors.entry(*k).or_default() += v;
        }
    }
    let forms = server.forms();
    for f in &forms {
        if let Some(r) = f["refresh_token"].as_str() {
            assert!(issued_refresh.contains(r), "a refresh token the server never issued was sent");
        }
    }
    let stats = server.stats();
    eprintln!(
        "stress: {calls} calls ({refresh_calls} refresh) by {THREADS} threads, {} token requests, {} distinct tokens returned, errors {errors:?}, server {stats}",
        forms.len(),
        returned
    );
    assert!(calls >= 10_000, "only {calls} calls");
    assert!(returned > 1, "the run returned {returned} distinct tokens");
    assert!(errors.values().sum::<u64>() > 0, "the faults never reached a caller: the run proved nothing about failures");
}

fn stress(calls_per_thread: Option<u64>, run_for: Duration) {
    let server = TokenServer::start();
    let h = Arc::new(Handle::new(&server.url, CLIENT_ID, CLIENT_SECRET));
    coalescing_rounds(&server, &h, 3);
    assert_eq!(h.set("max_retries", "1"), OK);
    assert_eq!(h.set("timeout_ms", "400"), OK);
    server.post_delete_requests();
    let tallies = mixed(&server, &h, calls_per_thread, run_for);
    server.delete("faults");
    check(&server, &tallies);
    // The handle still works after all that.
    assert!(h.access_token(false).is_some(), "{:?}", last_error());
    Arc::try_unwrap(h).ok().expect("every worker released the handle").free();
}

#[test]
fn stress_64_threads_one_handle() {
    let per_thread = std::env::var("FLX_STRESS_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(250);
    stress(Some(per_thread), Duration::from_secs(60));
}

#[test]
#[ignore = "long: make stress (FLX_STRESS_SECS, default 300)"]
fn stress_long() {
    let secs = std::env::var("FLX_STRESS_SECS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    stress(None, Duration::from_secs(secs));
}
