//! Web farm: the token store on a real redis-server, with real processes standing for machines
//! (each with its own persistent handle, flx_client_persistent, and its own connection to Redis)
//! and the local token server.
//! Built only with the `redis` feature (`make test` turns it on).
#![cfg(feature = "redis")]

mod common;
mod redis_support;

use common::*;
use flexiti_auth::{Client, FlxStatus};
use redis_support::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- helpers ---------------------------------------------------------------------------------

fn wall_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flx-farm-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A handle on the token server with the given options (in order), its log lines collected.
fn node(server: &TokenServer, options: &[(&str, String)]) -> (Client, Arc<Mutex<Vec<(String, String)>>>) {
    let c = client(server);
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = lines.clone();
    c.logger.set_callback(Some(Arc::new(move |level, line: &str| sink.lock().unwrap().push((level.name().to_owned(), line.to_owned())))));
    c.set_option("log_level", "debug").unwrap();
    for (k, v) in options {
        c.set_option(k, v).unwrap_or_else(|e| panic!("set_option {k}: {e}"));
    }
    (c, lines)
}

fn stats(c: &Client) -> Value {
    serde_json::from_str(&c.stats_json()).unwrap()
}

fn requests_of(server: &TokenServer) -> Vec<Value> {
    server.requests().into_iter().filter(|r| r["path"].as_str().unwrap_or("").ends_with("/oauth/token")).collect()
}

/// The sealed record's key in Redis (one key per test here).
fn token_keys(redis: &RedisServer) -> Vec<String> {
    redis.cli_text(&["--scan", "--pattern", "*flexiti-auth:*:token"]).lines().map(str::to_owned).filter(|l| !l.is_empty()).collect()
}

// ---- processes standing for machines ----------------------------------------------------------

/// A machine's persistent handle through the C ABI (as a PHP-FPM worker or a POS process
/// holds it): flx_client_persistent, flx_client_set_option, flx_get_access_token.
struct Persistent(*mut flexiti_auth::ffi::FlxClient);

impl Persistent {
    fn new(url: &str) -> Persistent {
        let c = |s: &str| std::ffi::CString::new(s).unwrap();
        let (u, i, k) = (c(url), c(CLIENT_ID), c(CLIENT_SECRET));
        let h = flexiti_auth::ffi::flx_client_persistent(u.as_ptr(), i.as_ptr(), k.as_ptr());
        assert!(!h.is_null(), "flx_client_persistent: {}", last_error());
        // The same triple in the same process: the same handle.
        assert_eq!(flexiti_auth::ffi::flx_client_persistent(u.as_ptr(), i.as_ptr(), k.as_ptr()), h);
        Persistent(h)
    }

    fn set(&self, name: &str, value: &str) {
        let (n, v) = (std::ffi::CString::new(name).unwrap(), std::ffi::CString::new(value).unwrap());
        assert_eq!(flexiti_auth::ffi::flx_client_set_option(self.0, n.as_ptr(), v.as_ptr()), 0, "set_option {name}: {}", last_error());
    }

    fn access_token(&self, use_cache: bool) -> Result<String, String> {
        let p = flexiti_auth::ffi::flx_get_access_token(self.0, use_cache);
        if p.is_null() {
            return Err(last_error());
        }
        let t = unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        flexiti_auth::ffi::flx_string_free(p);
        Ok(t)
    }

    fn stats(&self) -> String {
        let p = flexiti_auth::ffi::flx_client_stats(self.0);
        let s = unsafe { std::ffi::CStr::from_ptr(p) }.to_str().unwrap().to_owned();
        flexiti_auth::ffi::flx_string_free(p);
        s
    }
}

fn last_error() -> String {
    unsafe { std::ffi::CStr::from_ptr(flexiti_auth::ffi::flx_last_error_message()) }.to_string_lossy().into_owned()
}

/// A node process: this test binary again, running as one machine with its own persistent
/// handle, from a JSON config. Per step n it waits for `go-<n>` in the shared directory, reads
/// its orders there (`{"all": step}`, `{"<id>": step, …}`, or `{"exit": true}`; an empty file
/// means the config's `steps[n]` for every node), makes its calls, and writes its stats to
/// `stats-<n>-<id>` and what it got to `done-<n>-<id>` (one JSON line per call). A step:
/// `{"use_cache": bool, "calls": n, "sleep_ms": before the first call, "gap_ms": between calls}`.
fn node_main_if_child() -> bool {
    let Ok(cfg) = std::env::var("FLX_FARM_NODE") else { return false };
    let cfg: Value = serde_json::from_str(&std::fs::read_to_string(cfg).unwrap()).unwrap();
    let dir = PathBuf::from(cfg["dir"].as_str().unwrap());
    let id = cfg["id"].as_u64().unwrap();
    let c = Persistent::new(cfg["url"].as_str().unwrap());
    c.set("proxy", "none");
    if cfg["log"].as_bool().unwrap_or(false) {
        c.set("log_level", "debug");
        c.set("log_file", dir.join(format!("log-{id}")).to_str().unwrap());
    }
    for pair in cfg["options"].as_array().unwrap() {
        c.set(pair[0].as_str().unwrap(), pair[1].as_str().unwrap());
    }
    std::fs::write(dir.join(format!("ready-{id}")), "").unwrap();
    let steps = cfg["steps"].as_array().cloned().unwrap_or_default();
    for n in 0.. {
        let go = dir.join(format!("go-{n}"));
        let deadline = Instant::now() + Duration::from_secs(120);
        while !go.exists() {
            assert!(Instant::now() < deadline, "node {id}: no go-{n}");
            std::thread::sleep(Duration::from_millis(1));
        }
        let text = std::fs::read_to_string(&go).unwrap();
        let orders: Value = match text.trim() {
            "" if n < steps.len() => json!({ "all": steps[n] }),
            "" => json!({"exit": true}),
            t => serde_json::from_str(t).unwrap(),
        };
        if orders["exit"] == true {
            break;
        }
        let mut out = String::new();
        if let Some(step) = orders.get(id.to_string()).or_else(|| orders.get("all")).filter(|s| !s.is_null()) {
            std::thread::sleep(Duration::from_millis(step["sleep_ms"].as_u64().unwrap_or(0)));
            for i in 0..step["calls"].as_u64().unwrap() {
                if i > 0 {
                    std::thread::sleep(Duration::from_millis(step["gap_ms"].as_u64().unwrap_or(0)));
                }
                let start = wall_ms();
                let line = match c.access_token(step["use_cache"].as_bool().unwrap()) {
                    Ok(t) => json!({"token": t, "start": start, "ms": wall_ms()}),
                    Err(e) => json!({"error": e, "code": flexiti_auth::ffi::flx_last_error_code(), "start": start, "ms": wall_ms()}),
                };
                out.push_str(&line.to_string());
                out.push('\n');
            }
        }
        std::fs::write(dir.join(format!("stats-{n}-{id}")), c.stats()).unwrap();
        std::fs::write(dir.join(format!("done-{n}-{id}.tmp")), out).unwrap();
        std::fs::rename(dir.join(format!("done-{n}-{id}.tmp")), dir.join(format!("done-{n}-{id}"))).unwrap();
    }
    std::fs::write(dir.join(format!("stats-{id}")), c.stats()).unwrap();
    true
}

/// Processes standing for machines (see node_main_if_child); the test calling `Farm::start`
/// must begin with `if node_main_if_child() { return; }`.
struct Farm {
    dir: PathBuf,
    children: Vec<std::process::Child>,
    /// The next step's number.
    next: std::cell::Cell<usize>,
}

impl Farm {
    /// `n` nodes with the same options, running `steps` (one per `step()`).
    fn start(test: &str, n: usize, url: &str, options: &[(&str, String)], steps: Value) -> Farm {
        let nodes: Vec<Vec<(&str, String)>> = (0..n).map(|_| options.to_vec()).collect();
        Self::spawn(test, url, &nodes, steps, false)
    }

    /// One node per entry of `nodes` (its options), each logging at debug level to its own
    /// file (`log(id)`); their calls are ordered step by step with `run`.
    fn start_nodes(test: &str, url: &str, nodes: &[Vec<(&str, String)>]) -> Farm {
        Self::spawn(test, url, nodes, json!([]), true)
    }

    fn spawn(test: &str, url: &str, nodes: &[Vec<(&str, String)>], steps: Value, log: bool) -> Farm {
        static FARMS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let dir = temp_dir(&format!("{test}-{}", FARMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)));
        let mut children = Vec::new();
        for (id, options) in nodes.iter().enumerate() {
            let cfg = json!({"dir": dir, "id": id, "url": url, "log": log, "options": options.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(), "steps": steps});
            let path = dir.join(format!("cfg-{id}.json"));
            std::fs::write(&path, cfg.to_string()).unwrap();
            let child = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", test, "--nocapture", "--test-threads=1"])
                .env("FLX_FARM_NODE", &path)
                .env_remove("FLX_LOG")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            children.push(child);
        }
        let farm = Farm { dir, children, next: std::cell::Cell::new(0) };
        let n = nodes.len();
        farm.wait_for(|d| (0..n).all(|id| d.join(format!("ready-{id}")).exists()), "nodes ready");
        farm
    }

    fn wait_for(&self, f: impl Fn(&Path) -> bool, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !f(&self.dir) {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Release every node for step `n` (the config's steps) at once; what each call returned,
    /// per node.
    fn step(&self, n: usize) -> Vec<Vec<Value>> {
        assert_eq!(n, self.next.get(), "steps run in order");
        self.run(json!(null))
    }

    /// Give the next step's orders (null: the config's step) and wait until every node is
    /// done; what each call returned, per node (nothing for a node without orders).
    fn run(&self, orders: Value) -> Vec<Vec<Value>> {
        let n = self.next.get();
        self.next.set(n + 1);
        let text = if orders.is_null() { String::new() } else { orders.to_string() };
        std::fs::write(self.dir.join(format!("go-{n}.tmp")), text).unwrap();
        std::fs::rename(self.dir.join(format!("go-{n}.tmp")), self.dir.join(format!("go-{n}"))).unwrap();
        let count = self.children.len();
        self.wait_for(|d| (0..count).all(|id| d.join(format!("done-{n}-{id}")).exists()), &format!("step {n}"));
        (0..count)
            .map(|id| {
                std::fs::read_to_string(self.dir.join(format!("done-{n}-{id}"))).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
            })
            .collect()
    }

    /// One call on node `id` alone (the next step): what it returned.
    fn call(&self, id: usize, use_cache: bool) -> Vec<Value> {
        self.run(json!({ id.to_string(): {"use_cache": use_cache, "calls": 1} })).swap_remove(id)
    }

    /// Node `id`'s stats (flx_client_stats) after the last step.
    fn stats(&self, id: usize) -> Value {
        let n = self.next.get().checked_sub(1).expect("a step ran");
        serde_json::from_str(&std::fs::read_to_string(self.dir.join(format!("stats-{n}-{id}"))).unwrap()).unwrap()
    }

    /// Node `id`'s log lines so far: (level, line).
    fn log(&self, id: usize) -> Vec<(String, String)> {
        let text = std::fs::read_to_string(self.dir.join(format!("log-{id}"))).unwrap_or_default();
        text.lines()
            .map(|l| {
                let level = l.split(' ').nth(1).unwrap_or("").to_owned();
                (level, l.to_owned())
            })
            .collect()
    }

    fn finish(self) -> Vec<Value> {
        let n = self.next.get();
        std::fs::write(self.dir.join(format!("go-{n}.tmp")), json!({"exit": true}).to_string()).unwrap();
        std::fs::rename(self.dir.join(format!("go-{n}.tmp")), self.dir.join(format!("go-{n}"))).unwrap();
        let mut this = self;
        for c in &mut this.children {
            assert!(c.wait().unwrap().success(), "a node process failed");
        }
        (0..this.children.len())
            .map(|id| serde_json::from_str(&std::fs::read_to_string(this.dir.join(format!("stats-{id}"))).unwrap()).unwrap())
            .collect()
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tokens_of(results: &[Vec<Value>]) -> Vec<String> {
    results
        .iter()
        .flatten()
        .map(|r| {
            assert!(r.get("error").is_none(), "a call failed: {r}");
            r["token"].as_str().unwrap().to_owned()
        })
        .collect()
}

// ---- several machines, one Redis ---------------------------------------------------------------

/// 8 processes on one Redis, released together: one client_credentials request for all; a
/// burst of apply/purchase calls (non-cache) shares one refresh; once the token expires, one
/// refresh for all again; cached calls send nothing. No refresh token is sent twice; every
/// token handed out was issued and was the newest one at the time.
#[test]
fn eight_processes_on_one_redis_make_one_request_per_needed_refresh() {
    if node_main_if_child() {
        return;
    }
    // Tokens live 4 s; with a threshold of 1 s each is used for 3 s.
    let server = TokenServer::start_with(&["--expires-in", "4"]);
    let redis = RedisServer::start();
    let store = format!("{}?prefix=farm-test:", redis.url(None));
    let options = [("token_store", store.clone()), ("expiration_threshold_secs", "1".to_owned())];
    let steps = json!([
        {"use_cache": true, "calls": 1},
        {"use_cache": false, "calls": 1},
        {"use_cache": true, "calls": 1},
        {"use_cache": true, "calls": 200},
        {"use_cache": false, "calls": 5},
    ]);
    let farm = Farm::start("eight_processes_on_one_redis_make_one_request_per_needed_refresh", 8, &server.url, &options, steps);

    // 1. Nobody holds a token: one client_credentials request for the 8.
    let first = tokens_of(&farm.step(0));
    let reqs = requests_of(&server);
    assert_eq!(reqs.len(), 1, "{reqs:#?}");
    assert_eq!(reqs[0]["form"]["grant_type"], "client_credentials");
    let issued = server.issued_access_tokens();
    assert!(first.iter().all(|t| *t == issued[0]), "every node got the one token: {first:?}");

    // 2. Apply/purchase on every node at once (the server answers slowly, so all of them
    //    arrive during the first one's flight): one refresh, and they all take its token.
    server.faults(json!([{"delay_ms": 800, "count": 1}]));
    let second = tokens_of(&farm.step(1));
    let reqs = requests_of(&server);
    assert_eq!(reqs.len(), 2, "{reqs:#?}");
    assert_eq!(reqs[1]["form"]["grant_type"], "refresh_token", "{reqs:#?} {second:?}");
    let issued = server.issued_access_tokens();
    assert!(second.iter().all(|t| *t == issued[1]), "{second:?}");

    // 3. Past the token's life (by the guide's rule an expired token is replaced, not
    //    refreshed): cached calls on every node, one request farm-wide.
    std::thread::sleep(Duration::from_millis(3300));
    let third = tokens_of(&farm.step(2));
    let reqs = requests_of(&server);
    assert_eq!(reqs.len(), 3, "{reqs:#?}");
    assert_eq!(reqs[2]["form"]["grant_type"], "client_credentials");
    let issued = server.issued_access_tokens();
    assert!(third.iter().all(|t| *t == issued[2]), "{third:?}");

    // 4. 200 cached calls per node: no request.
    let fourth = tokens_of(&farm.step(3));
    assert_eq!(requests_of(&server).len(), 3);
    assert!(fourth.iter().all(|t| *t == issued[2]));

    // No refresh token sent twice; the refresh used the newest one and was accepted.
    let reqs = requests_of(&server);
    let refresh_tokens = server.get("issued")["refresh_tokens"].as_array().unwrap().clone();
    let sent: Vec<&str> = reqs.iter().filter_map(|r| r["form"]["refresh_token"].as_str()).collect();
    assert_eq!(sent, vec![refresh_tokens[0].as_str().unwrap()]);
    assert!(reqs.iter().all(|r| r["status"] == 200), "{reqs:#?}");

    // 5. Apply/purchase calls on every node, unsynchronised (5 each, as fast as they come):
    //    refreshes rotate the token under the others, yet no refresh token is sent twice, none
    //    is refused (no fallback), and no call returns a token that another node had already
    //    replaced before the call began.
    let fifth = farm.step(4);
    let issued5 = server.issued_access_tokens();
    let rts: Vec<String> = server.get("issued")["refresh_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let reqs = requests_of(&server);
    let later = &reqs[3..];
    assert!(!later.is_empty() && later.len() <= 40, "{}", later.len());
    let mut sent: Vec<&str> = later.iter().map(|r| r["form"]["refresh_token"].as_str().expect("only refreshes")).collect();
    assert!(later.iter().all(|r| r["status"] == 200 && r["form"]["grant_type"] == "refresh_token"), "{later:#?}");
    // Each refresh used the refresh token of the token issued just before it.
    for (i, rt) in sent.iter().enumerate() {
        assert_eq!(*rt, rts[2 + i], "refresh {i} used an old refresh token");
    }
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), later.len(), "a refresh token was sent twice");
    let index = |t: &str| issued5.iter().position(|x| x == t).unwrap_or_else(|| panic!("{t} was never issued"));
    let mut first_returned = vec![u64::MAX; issued5.len()];
    for r in fifth.iter().flatten() {
        assert!(r.get("error").is_none(), "{r}");
        let i = index(r["token"].as_str().unwrap());
        first_returned[i] = first_returned[i].min(r["ms"].as_u64().unwrap());
    }
    for r in fifth.iter().flatten() {
        let i = index(r["token"].as_str().unwrap());
        let replaced_at = first_returned[i + 1..].iter().min().copied().unwrap_or(u64::MAX);
        assert!(replaced_at >= r["start"].as_u64().unwrap(), "a call began after its token was replaced: {r}");
    }

    // The store holds the newest token sealed: neither token in clear, a TTL of its own life.
    let keys = token_keys(&redis);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("farm-test:flexiti-auth:{"), "{keys:?}");
    let value = redis.cli(&["--no-raw", "GET", &keys[0]]);
    let raw = redis.cli(&["GET", &keys[0]]);
    let all_issued = server.get("issued");
    let every: Vec<&str> = ["access_tokens", "refresh_tokens"].iter().flat_map(|k| all_issued[*k].as_array().unwrap().iter().map(|v| v.as_str().unwrap())).collect();
    assert!(every.len() >= 8);
    for secret in every.into_iter().chain([CLIENT_SECRET]) {
        assert!(!String::from_utf8_lossy(&raw).contains(secret) && !String::from_utf8_lossy(&value).contains(secret), "{secret} in clear");
    }
    assert!(raw.len() > 100, "a sealed record: {raw:?}");
    let ttl: i64 = redis.cli_text(&["PTTL", &keys[0]]).parse().unwrap();
    assert!(ttl > 0 && ttl <= 4000, "PTTL {ttl}");

    let stats = farm.finish();
    let total: u64 = stats.iter().map(|s| s["requests"]["client_credentials"].as_u64().unwrap() + s["requests"]["refresh_token"].as_u64().unwrap()).sum();
    assert_eq!(total as usize, requests_of(&server).len(), "{stats:#?}");
    assert!(stats.iter().all(|s| s["store_errors"] == 0), "{stats:#?}");
}

/// An apply/purchase call (use_cache=false) gets a refreshed token, so the flow starts with a
/// full lifetime: a machine that waited on no one sends its own refresh (with the newest refresh
/// token, from the store) even when another machine stored a token a moment ago and this one
/// has not read the store since (store_check_ms); only a call that waited for another
/// machine's flight takes that flight's token instead of sending its own request.
#[test]
fn an_apply_call_refreshes_unless_it_waited_for_another_machines_flight() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start();
    let opts = vec![("token_store", redis.url(None)), ("store_check_ms", "60000".to_owned())];
    let farm = Farm::start_nodes("an_apply_call_refreshes_unless_it_waited_for_another_machines_flight", &server.url, &[opts.clone(), opts]);
    let t1 = tokens_of(&[farm.call(0, true)]);
    assert_eq!(tokens_of(&[farm.call(1, true)]), t1, "machine 1 read machine 0's token (and will not read again for 60 s)");
    let t2 = tokens_of(&[farm.call(0, false)]);
    // Machine 1's apply call, right after machine 0's: its own refresh, with machine 0's newest
    // refresh token (its own was spent).
    let t3 = tokens_of(&[farm.call(1, false)]);
    let issued = server.issued_access_tokens();
    let rts: Vec<String> = server.get("issued")["refresh_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let reqs = requests_of(&server);
    let sent: Vec<(&str, Option<&str>, u64)> =
        reqs.iter().map(|r| (r["form"]["grant_type"].as_str().unwrap(), r["form"]["refresh_token"].as_str(), r["status"].as_u64().unwrap())).collect();
    assert_eq!(
        sent,
        [("client_credentials", None, 200), ("refresh_token", Some(rts[0].as_str()), 200), ("refresh_token", Some(rts[1].as_str()), 200)],
        "{reqs:#?}"
    );
    assert_eq!((t1[0].as_str(), t2[0].as_str(), t3[0].as_str()), (issued[0].as_str(), issued[1].as_str(), issued[2].as_str()));
    assert_eq!(farm.stats(1)["refreshes"], 1);

    // Both at once, machine 1 a moment later while machine 0's refresh is in flight (slow):
    // machine 1 waits for it and takes its token; one request for the two. (On a loaded
    // machine machine 1 may be first: then machine 0 is the one that waits.)
    server.faults(json!([{"delay_ms": 1500, "count": 1}]));
    let both = farm.run(json!({"0": {"use_cache": false, "calls": 1}, "1": {"use_cache": false, "calls": 1, "sleep_ms": 250}}));
    let reqs = requests_of(&server);
    assert_eq!(reqs.len(), 4, "{reqs:#?}");
    let rts: Vec<String> = server.get("issued")["refresh_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    assert_eq!((reqs[3]["form"]["grant_type"].as_str(), reqs[3]["form"]["refresh_token"].as_str()), (Some("refresh_token"), Some(rts[2].as_str())));
    let t4 = server.issued_access_tokens()[3].clone();
    assert_eq!(tokens_of(&both), vec![t4.clone(), t4]);
    let refreshes: Vec<u64> = (0..2).map(|id| farm.stats(id)["refreshes"].as_u64().unwrap()).collect();
    let waiter = match refreshes.as_slice() {
        [2, 1] => 1,
        [1, 2] => 0,
        other => panic!("one refresh for the two: {other:?}"),
    };
    let waited = both[waiter][0]["ms"].as_u64().unwrap() - both[waiter][0]["start"].as_u64().unwrap();
    assert!(waited >= 300, "machine {waiter} waited for the other's flight: {waited} ms");
    farm.finish();
}

// ---- the lock holder dies ----------------------------------------------------------------------

/// The lock holder is killed (SIGKILL) while its request hangs: the others get a token within
/// about 2 x timeout_ms, each on its own with client_credentials (never a refresh); once the
/// dead holder's lock has expired, sharing resumes.
#[test]
fn kill_9_of_the_lock_holder() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start();
    let store = redis.url(None);
    // The other machines, started now (idle until ordered).
    let timeout_ms = 1500u64;
    let opts = vec![("token_store", store.clone()), ("timeout_ms", timeout_ms.to_string()), ("max_retries", "0".to_owned())];
    let others = Farm::start_nodes("kill_9_of_the_lock_holder", &server.url, &[opts.clone(), opts.clone()]);
    let more = Farm::start_nodes("kill_9_of_the_lock_holder", &server.url, &[opts.clone(), opts]);
    // The holder: its request hangs; lock TTL = 3000 x 1 + 1000 ms.
    server.faults(json!([{"hang": true, "hang_ms": 20000, "count": 1}]));
    let holder_opts = [("token_store", store.clone()), ("timeout_ms", "3000".to_owned()), ("max_retries", "0".to_owned())];
    let farm = Farm::start("kill_9_of_the_lock_holder", 1, &server.url, &holder_opts, json!([{"use_cache": true, "calls": 1}]));
    std::fs::write(farm.dir.join("go-0"), "").unwrap();
    let locked_at = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(10);
    let lock_key = loop {
        let keys = redis.cli_text(&["--scan", "--pattern", "*flexiti-auth:*:lock"]);
        if let Some(k) = keys.lines().next().filter(|k| !k.is_empty()) {
            if requests_of(&server).len() == 1 {
                break k.to_owned();
            }
        }
        assert!(Instant::now() < deadline, "the holder never took the lock");
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut farm = farm;
    let mut holder = farm.children.pop().unwrap();
    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();

    // Two other machines (started before, idle), while the dead holder's lock stands.
    let results = others.run(json!({"all": {"use_cache": true, "calls": 1}}));
    for (id, r) in results.iter().enumerate() {
        assert!(r[0].get("token").is_some(), "{r:?}");
        let took = r[0]["ms"].as_u64().unwrap() - r[0]["start"].as_u64().unwrap();
        assert!(took < 2 * timeout_ms + 1000, "took {took} ms");
        assert!(took >= timeout_ms - 100, "it waited for the lock first: {took} ms");
        let s = others.stats(id);
        assert_eq!((s["new_tokens"].as_u64(), s["refreshes"].as_u64(), s["requests"]["client_credentials"].as_u64()), (Some(1), Some(0), Some(1)), "{s}");
    }
    let reqs = requests_of(&server);
    assert_eq!(reqs.len(), 3, "the dead holder's, then one each: {reqs:#?}");
    assert!(reqs.iter().all(|r| r["form"]["grant_type"] == "client_credentials"), "never a refresh: {reqs:#?}");
    let own = tokens_of(&results);
    assert_ne!(own[0], own[1]);
    // Neither could take the lock to store its token.
    assert!(token_keys(&redis).is_empty());

    // Once the dead holder's lock has expired, two more machines released together share one.
    while redis.cli_text(&["EXISTS", &lock_key]) == "1" {
        assert!(locked_at.elapsed() < Duration::from_secs(10), "the dead holder's lock never expired");
        std::thread::sleep(Duration::from_millis(20));
    }
    let before = requests_of(&server).len();
    server.faults(json!([{"delay_ms": 300, "count": 1}]));
    let tokens = tokens_of(&more.run(json!({"all": {"use_cache": true, "calls": 1}})));
    assert_eq!(requests_of(&server).len(), before + 1);
    assert_eq!(tokens[0], tokens[1]);
    assert_eq!(token_keys(&redis).len(), 1);
    others.finish();
    more.finish();
}

// ---- Redis goes away -----------------------------------------------------------------------------

/// Two machines (processes) share a token through Redis; Redis stops: calls on both keep
/// succeeding per process (store errors counted, one warn line each), and once Redis is back
/// sharing resumes: a machine's next flight stores its token and a machine that starts then
/// takes it with no request.
#[test]
fn redis_stopped_mid_run_never_stops_payments_and_sharing_resumes() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let mut redis = RedisServer::start();
    let opts = vec![("token_store", redis.url(None)), ("store_check_ms", "0".to_owned()), ("connect_timeout_ms", "500".to_owned())];
    let farm = Farm::start_nodes("redis_stopped_mid_run_never_stops_payments_and_sharing_resumes", &server.url, &[opts.clone(), opts.clone()]);
    let cached = |calls: u64| json!({"use_cache": true, "calls": calls});
    let t1 = tokens_of(&farm.run(json!({"0": cached(1)})));
    let shared = tokens_of(&farm.run(json!({"1": cached(1)})));
    assert_eq!(shared, t1, "shared through Redis");
    assert_eq!(requests_of(&server).len(), 1);

    redis.stop();
    // Cached and non-cache calls keep succeeding on both machines, per process.
    let t0 = Instant::now();
    let during = farm.run(json!({"all": cached(20)}));
    assert!(tokens_of(&during).iter().all(|t| *t == t1[0]), "each keeps its valid token");
    let a_new = tokens_of(&farm.run(json!({"0": {"use_cache": false, "calls": 2}})));
    let b_new = tokens_of(&farm.run(json!({"1": {"use_cache": false, "calls": 1}})));
    assert!(t0.elapsed() < Duration::from_secs(8), "{:?}", t0.elapsed());
    let mut all: Vec<&String> = t1.iter().chain(&a_new).chain(&b_new).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 4, "each non-cache call got a token of its own: {all:?}");
    // With no store between them, machine 1 still held the refresh token machine 0 had spent:
    // refused once, then client_credentials (no call failed).
    let reqs = requests_of(&server);
    let grants: Vec<(&str, u64)> = reqs.iter().map(|r| (r["form"]["grant_type"].as_str().unwrap(), r["status"].as_u64().unwrap())).collect();
    assert_eq!(
        grants,
        [("client_credentials", 200), ("refresh_token", 200), ("refresh_token", 200), ("refresh_token", 400), ("client_credentials", 200)],
        "{reqs:#?}"
    );
    assert_eq!(farm.stats(1)["fallbacks"], 1, "{}", farm.stats(1));
    for id in 0..2 {
        let s = farm.stats(id);
        assert!(s["store_errors"].as_u64().unwrap() >= 2, "node {id}: {s}");
        assert_eq!(s["last_error_code"], 0, "node {id}: no call failed: {s}");
        // Warned about it, naming Redis, at most once (a minute).
        let warned: Vec<String> = farm.log(id).into_iter().filter(|(l, _)| l == "WARN").map(|(_, m)| m).collect();
        assert_eq!(warned.len(), 1, "node {id}: {warned:#?}");
        assert!(warned[0].contains(&format!("Redis at 127.0.0.1:{}", redis.port)) && warned[0].contains("going on without it"), "{warned:?}");
    }

    // Redis is back (empty): after the reconnect backoff, machine 0's next flight stores its
    // token, and a machine that starts then takes it without a request.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(40);
    while token_keys(&redis).is_empty() {
        assert!(Instant::now() < deadline, "machine 0 never stored a token again");
        tokens_of(&farm.run(json!({"0": {"use_cache": false, "calls": 1, "sleep_ms": 200}})));
    }
    let newest = server.issued_access_tokens().last().unwrap().clone();
    let later = Farm::start_nodes("redis_stopped_mid_run_never_stops_payments_and_sharing_resumes", &server.url, &[opts.clone()]);
    let before = requests_of(&server).len();
    let from_store = tokens_of(&later.run(json!({"0": cached(1)})));
    assert_eq!(requests_of(&server).len(), before, "a new machine takes the stored token: sharing resumed");
    assert_eq!(from_store, vec![newest.clone()]);
    assert_eq!(later.stats(0)["store_errors"], 0);
    // Machine 1 reads the store again before deciding on its next request: it takes machine 0's
    // token (its own was replaced) once its reconnect backoff has passed.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let got = tokens_of(&farm.run(json!({"1": {"use_cache": true, "calls": 1, "sleep_ms": 200}})));
        if got[0] == newest {
            break;
        }
        assert!(Instant::now() < deadline, "machine 1 never took the shared token again");
    }
    assert_eq!(requests_of(&server).len(), before, "{:#?}", requests_of(&server));
    assert_eq!(token_keys(&redis).len(), 1);
    later.finish();
    farm.finish();
}

#[test]
fn token_store_required_fails_closed_when_redis_is_down() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let mut redis = RedisServer::start();
    let opts = vec![("token_store", redis.url(None)), ("token_store_required", "true".to_owned()), ("store_check_ms", "0".to_owned())];
    let plain = vec![("token_store", redis.url(None)), ("store_check_ms", "0".to_owned())];
    // Machine 0 fails closed; machine 1 (the default) goes on without the store.
    let farm = Farm::start_nodes("token_store_required_fails_closed_when_redis_is_down", &server.url, &[opts, plain]);
    let t = tokens_of(&farm.run(json!({"all": {"use_cache": true, "calls": 1}})));
    assert_eq!(t[0], t[1]);
    redis.stop();
    let before = requests_of(&server).len();
    let results = farm.run(json!({"0": {"use_cache": true, "calls": 1}, "1": {"use_cache": true, "calls": 1}}));
    let results2 = farm.run(json!({"0": {"use_cache": false, "calls": 1}}));
    for r in results[0].iter().chain(&results2[0]) {
        assert_eq!(r["code"], FlxStatus::FLX_ERR_STORE as i32, "{r}");
        let e = r["error"].as_str().unwrap();
        assert!(e.contains(&format!("Redis at 127.0.0.1:{}", redis.port)) && e.contains("token_store_required"), "{e}");
        assert!(e.contains("refused") || e.contains("unreachable"), "{e}");
    }
    assert_eq!(tokens_of(&results[1..]), vec![t[1].clone()], "machine 1 goes on");
    assert_eq!(requests_of(&server).len(), before, "no request outside the farm's flight");
    let s = farm.stats(0);
    assert_eq!(s["last_error_name"], "FLX_ERR_STORE");
    assert!(s["store_errors"].as_u64().unwrap() >= 2);
    assert!(farm.log(0).iter().any(|(l, m)| l == "WARN" && m.contains("the call fails")), "{:#?}", farm.log(0));
    // Back: calls succeed again.
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let r = farm.run(json!({"0": {"use_cache": false, "calls": 1, "sleep_ms": 200}}));
        if r[0][0].get("token").is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "calls never succeeded again: {r:?}");
    }
    assert_eq!(token_keys(&redis).len(), 1);
    farm.finish();
}

// ---- credentials -------------------------------------------------------------------------------

#[test]
fn passwords_and_acl_users_right_and_wrong() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start_with(RedisConfig {
        requirepass: Some("Default-Pass-9d1".into()),
        acl_user: Some(("shop1".into(), "Shop-Pass-77e".into())),
        ..Default::default()
    });
    let port = redis.port;
    let secrets = ["Default-Pass-9d1", "Shop-Pass-77e", "Wrong-Pass-3c0", "Wrong-User-Pass-5a"];
    let right = [":Default-Pass-9d1", "shop1:Shop-Pass-77e"];
    let wrong = [Some(":Wrong-Pass-3c0"), Some("shop1:Wrong-User-Pass-5a"), None];
    // Two machines per right credential; per wrong one a machine going on without the store
    // and one with token_store_required.
    let mut nodes = Vec::new();
    for userinfo in right {
        let opts = vec![("token_store", redis.url(Some(userinfo)) + "?prefix=" + &userinfo.len().to_string())];
        nodes.push(opts.clone());
        nodes.push(opts);
    }
    for userinfo in wrong {
        let url = redis.url(userinfo);
        nodes.push(vec![("token_store", url.clone())]);
        nodes.push(vec![("token_store", url), ("token_store_required", "true".to_owned())]);
    }
    let farm = Farm::start_nodes("passwords_and_acl_users_right_and_wrong", &server.url, &nodes);

    // Right: the default user's password, and the ACL user: shared through Redis.
    for (i, userinfo) in right.iter().enumerate() {
        let before = requests_of(&server).len();
        let t = tokens_of(&[farm.call(2 * i, true)]);
        assert_eq!(tokens_of(&[farm.call(2 * i + 1, true)]), t, "{userinfo}");
        assert_eq!(requests_of(&server).len(), before + 1, "{userinfo}");
        assert_eq!(farm.stats(2 * i)["store_errors"], 0);
        assert_eq!(farm.stats(2 * i + 1)["store_errors"], 0);
    }

    // Wrong: calls succeed per process, with an error-level line naming Redis and the
    // authentication failure; with token_store_required they fail with FLX_ERR_STORE.
    for (i, userinfo) in wrong.iter().enumerate() {
        let (a, r) = (4 + 2 * i, 5 + 2 * i);
        let t = tokens_of(&[farm.call(a, true)]);
        assert!(!t[0].is_empty());
        tokens_of(&[farm.call(a, false)]);
        let s = farm.stats(a);
        assert!(s["store_errors"].as_u64().unwrap() >= 1, "{userinfo:?}: {s}");
        let lines = farm.log(a);
        let errors: Vec<&String> = lines.iter().filter(|(l, _)| l == "ERROR").map(|(_, m)| m).collect();
        assert_eq!(errors.len(), 1, "one error line (at most once a minute): {lines:#?}");
        assert!(errors[0].contains(&format!("Redis at 127.0.0.1:{port}")) && errors[0].contains("authentication failed"), "{errors:?}");

        let before = requests_of(&server).len();
        let failed = farm.call(r, true);
        assert_eq!(failed[0]["code"], FlxStatus::FLX_ERR_STORE as i32, "{failed:?}");
        let e = failed[0]["error"].as_str().unwrap().to_owned();
        assert!(e.contains("Redis") && e.contains("authentication failed"), "{e}");
        assert_eq!(requests_of(&server).len(), before);

        // No password anywhere: messages, log lines (the log files), stats.
        let mut texts: Vec<String> = lines.iter().chain(farm.log(r).iter()).map(|(_, m)| m.clone()).collect();
        texts.push(e);
        texts.push(farm.stats(a).to_string());
        texts.push(farm.stats(r).to_string());
        for t in &texts {
            for s in secrets {
                assert!(!t.contains(s), "{s} in {t}");
            }
        }
    }
    farm.finish();
    // A wrong URL is refused at set_option, without the password either.
    let c = client(&server);
    let e = c.set_option("token_store", "redis://shop1:Shop-Pass-77e@localhost:notaport").unwrap_err();
    assert_eq!(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    assert!(!e.message.contains("Shop-Pass-77e"), "{e}");
}

/// `redis://user@host`: an ACL user created with `nopass` authenticates as itself (the default
/// user here needs a password, so a connection that skipped AUTH could do nothing), and the
/// machines share through it; an unknown user without a password is an authentication failure
/// like a wrong password (calls go on per process, one error line).
#[test]
fn an_acl_user_without_a_password() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start_with(RedisConfig { requirepass: Some("Default-Pass-0b7".into()), nopass_user: Some("farm".into()), ..Default::default() });
    let port = redis.port;
    let ok = vec![("token_store", format!("redis://farm@127.0.0.1:{port}/1?prefix=np:"))];
    let unknown = vec![("token_store", format!("redis://nosuch@127.0.0.1:{port}"))];
    let farm = Farm::start_nodes("an_acl_user_without_a_password", &server.url, &[ok.clone(), ok, unknown]);
    let t = tokens_of(&farm.run(json!({"0": {"use_cache": true, "calls": 1}})));
    let shared = tokens_of(&farm.run(json!({"1": {"use_cache": true, "calls": 1}})));
    assert_eq!(shared, t, "shared through Redis as user farm");
    assert_eq!(requests_of(&server).len(), 1);
    for id in 0..2 {
        assert_eq!(farm.stats(id)["store_errors"], 0, "{}", farm.stats(id));
        assert!(farm.log(id).iter().all(|(l, _)| l != "WARN" && l != "ERROR"), "{:#?}", farm.log(id));
    }
    let clients = redis.cli_text(&["CLIENT", "LIST"]);
    let as_farm: Vec<&str> = clients.lines().filter(|l| l.contains(" user=farm ") && l.contains(" db=1 ")).collect();
    assert_eq!(as_farm.len(), 2, "each machine's connection is user farm's: {clients}");
    let keys = redis.cli_text(&["-n", "1", "--scan", "--pattern", "np:flexiti-auth:*:token"]);
    assert_eq!(keys.lines().count(), 1, "{keys}");

    let own = tokens_of(&farm.run(json!({"2": {"use_cache": true, "calls": 1}})));
    assert_ne!(own, t, "an unknown user: a token of its own");
    let s = farm.stats(2);
    assert!(s["store_errors"].as_u64().unwrap() >= 1, "{s}");
    let errors: Vec<String> = farm.log(2).into_iter().filter(|(l, _)| l == "ERROR").map(|(_, m)| m).collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].contains(&format!("Redis at 127.0.0.1:{port} (user \"nosuch\")")) && errors[0].contains("authentication failed"), "{errors:?}");
    farm.finish();
}

// ---- TLS ---------------------------------------------------------------------------------------

#[test]
fn rediss_with_a_local_ca_and_a_leaf_certificate() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start_with(RedisConfig { tls: true, ..Default::default() });
    let ca = redis.ca_file().to_str().unwrap().to_owned();
    // Machine 0 has no ca_file; machines 1 and 2 set it before and after token_store.
    let nodes = [
        vec![("token_store", redis.url(None))],
        vec![("ca_file", ca.clone()), ("token_store", redis.url(None))],
        vec![("token_store", redis.url(None)), ("ca_file", ca)],
    ];
    let farm = Farm::start_nodes("rediss_with_a_local_ca_and_a_leaf_certificate", &server.url, &nodes);
    let call = |id: usize| tokens_of(&[farm.call(id, true)]);
    // Without ca_file the local CA is not trusted: calls still succeed, store errors counted.
    call(0);
    assert!(farm.stats(0)["store_errors"].as_u64().unwrap() >= 1);
    assert!(farm.log(0).iter().any(|(l, m)| l == "WARN" && m.contains("TLS")), "{:?}", farm.log(0));

    // With it (set before or after token_store), shared over TLS.
    let before = requests_of(&server).len();
    let t = call(1);
    assert_eq!(call(2), t);
    assert_eq!(requests_of(&server).len(), before + 1);
    assert_eq!(farm.stats(1)["store_errors"], 0);
    assert_eq!(farm.stats(2)["store_errors"], 0);
    let keys = token_keys(&redis);
    assert_eq!(keys.len(), 1);
    let raw = redis.cli(&["GET", &keys[0]]);
    assert!(!String::from_utf8_lossy(&raw).contains(&t[0]));
    farm.finish();
}

// ---- freshness, syntax-only set_option, fork ----------------------------------------------------

/// A token replaced on machine A stops being handed out by machine B within store_check_ms
/// (plus one call); in between, B's cached path reads no Redis.
#[test]
fn a_replaced_token_stops_being_handed_out_within_store_check_ms() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let redis = RedisServer::start();
    let opts = vec![("token_store", redis.url(None)), ("store_check_ms", "400".to_owned())];
    let farm = Farm::start_nodes("a_replaced_token_stops_being_handed_out_within_store_check_ms", &server.url, &[opts.clone(), opts]);
    let cached = |calls: u64, gap_ms: u64| json!({"use_cache": true, "calls": calls, "gap_ms": gap_ms});
    let t1 = tokens_of(&farm.run(json!({"0": cached(1, 0)})));
    assert_eq!(tokens_of(&farm.run(json!({"1": cached(1, 0)}))), t1);
    let calls_before: u64 = redis_calls(&redis);
    let many = tokens_of(&farm.run(json!({"1": cached(1000, 0)})));
    assert!(many.iter().all(|t| *t == t1[0]));
    assert!(redis_calls(&redis) - calls_before <= 3, "the cached path stays a memory read");
    let replaced = farm.run(json!({"0": {"use_cache": false, "calls": 1}}));
    let t2 = tokens_of(&replaced);
    assert_ne!(t1, t2);
    let replaced_at = replaced[0][0]["ms"].as_u64().unwrap();
    // Machine B's cached calls, one every 5 ms for over a second: the replaced token until at
    // most store_check_ms (plus one call, plus slack for a busy machine) after the replacement,
    // then the new one, never the old one again.
    let calls = farm.run(json!({"1": cached(200, 5)}));
    let mut seen_new = false;
    for r in &calls[1] {
        let token = r["token"].as_str().unwrap_or_else(|| panic!("{r}"));
        if token == t2[0] {
            seen_new = true;
            continue;
        }
        assert_eq!(token, t1[0], "{r}");
        assert!(!seen_new, "the replaced token again after the new one: {r}");
        let late = r["start"].as_u64().unwrap().saturating_sub(replaced_at);
        assert!(late < 400 + 300, "still the replaced token {late} ms after the replacement");
    }
    assert!(seen_new, "never the new token");
    assert_eq!(requests_of(&server).len(), 2, "b took a's refresh from Redis");
    farm.finish();
}

fn redis_calls(redis: &RedisServer) -> u64 {
    let info = redis.cli_text(&["INFO", "commandstats"]);
    // Every command but INFO itself.
    info.lines()
        .filter(|l| l.starts_with("cmdstat_") && !l.starts_with("cmdstat_info"))
        .map(|l| l.split("calls=").nth(1).unwrap().split(',').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

#[test]
fn set_option_checks_the_url_only_and_one_connection_serves_many_calls() {
    let server = TokenServer::start();
    // Nothing listens there: setting the option does not connect.
    let c = client(&server);
    let t = Instant::now();
    c.set_option("token_store", &format!("redis://127.0.0.1:{}/3?prefix=x:", closed_port())).unwrap();
    assert!(t.elapsed() < Duration::from_millis(200));
    for bad in ["redis://host:0", "redis://host/abc", "rediss://", "redis://h?prefx=a"] {
        let e = c.set_option("token_store", bad).unwrap_err();
        assert_eq!(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT, "{bad}");
        assert!(e.message.contains("token_store"), "{e}");
    }

    let redis = RedisServer::start();
    let (a, _) = node(&server, &[("token_store", redis.url(None)), ("store_check_ms", "0".to_owned())]);
    for i in 0..30 {
        a.get_token(i % 3 == 0).unwrap();
    }
    let info = redis.cli_text(&["INFO", "stats"]);
    let connections: u64 = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse().unwrap();
    assert_eq!(connections, 2, "one kept-alive connection for the handle, one for this redis-cli: {info}");
    // Setting an option to the value it has keeps the connection.
    a.set_option("timeout_ms", "15000").unwrap();
    a.set_option("token_store", &redis.url(None)).unwrap();
    a.get_token(false).unwrap();
    let info = redis.cli_text(&["INFO", "stats"]);
    let connections: u64 = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse().unwrap();
    assert_eq!(connections, 3, "{info}");
}

/// After fork() the child never uses the parent's connection: it opens its own, and the
/// parent's keeps working.
#[test]
fn a_forked_child_opens_its_own_connection() {
    let server = TokenServer::start();
    let redis = RedisServer::start();
    let (a, _) = node(&server, &[("token_store", redis.url(None)), ("store_check_ms", "0".to_owned())]);
    let t = a.get_token(true).unwrap();
    let clients_before = redis.cli_text(&["CLIENT", "LIST"]).lines().count();
    assert_eq!(clients_before, 2, "a's connection and this redis-cli");
    // SAFETY: the child only calls into the library (whose fork handlers ran) and _exits.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        let ok = a.get_token(true).map(|c| c.access_token == t.access_token).unwrap_or(false);
        let s: Value = serde_json::from_str(&a.stats_json()).unwrap();
        let code = if ok && s["store_errors"] == 0 { 0 } else { 1 };
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child's call failed");
    let info = redis.cli_text(&["INFO", "stats"]);
    let connections: u64 = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap().trim().parse().unwrap();
    // a's, the CLIENT LIST and INFO redis-cli runs, and the child's own.
    assert_eq!(connections, 4, "{info}");
    a.get_token(true).unwrap();
    assert_eq!(stats(&a)["store_errors"], 0, "the parent's connection still works");
}

/// The README's least-privilege ACL user (its keys only, the commands the store uses) is
/// enough; one without the script commands is refused with an error line naming the missing
/// permission, and calls go on per process.
#[test]
fn the_readme_least_privilege_acl_user_is_enough() {
    if node_main_if_child() {
        return;
    }
    let server = TokenServer::start();
    let rules = |cmds: &str| -> Vec<String> {
        let mut r: Vec<String> = ["resetkeys", "~shop1:flexiti-auth:*", "resetchannels", "-@all"].iter().map(|s| s.to_string()).collect();
        r.extend(cmds.split(' ').map(str::to_owned));
        r
    };
    let redis = RedisServer::start_with(RedisConfig {
        acl_user: Some(("flexiti".into(), "Acl-Pass-41b".into())),
        acl_rules: Some(rules("+get +getrange +set +del +evalsha +script|load +select")),
        ..Default::default()
    });
    let narrow = RedisServer::start_with(RedisConfig {
        acl_user: Some(("flexiti".into(), "Acl-Pass-41b".into())),
        acl_rules: Some(rules("+get +getrange +set +del +select")), // no scripts
        ..Default::default()
    });
    let url = redis.url(Some("flexiti:Acl-Pass-41b")) + "/2?prefix=shop1:";
    let narrow_url = narrow.url(Some("flexiti:Acl-Pass-41b")) + "/2?prefix=shop1:";
    let (wide, thin) = (vec![("token_store", url)], vec![("token_store", narrow_url)]);
    let farm = Farm::start_nodes("the_readme_least_privilege_acl_user_is_enough", &server.url, &[wide.clone(), wide, thin.clone(), thin]);

    let t = tokens_of(&[farm.call(0, true)]);
    assert_eq!(tokens_of(&[farm.call(1, true)]), t, "{:#?}", farm.log(0));
    tokens_of(&[farm.call(0, false)]);
    assert_eq!(requests_of(&server).len(), 2);
    assert_eq!(farm.stats(0)["store_errors"], 0);
    assert_eq!(farm.stats(1)["store_errors"], 0);

    tokens_of(&[farm.call(2, true)]);
    tokens_of(&[farm.call(2, false)]);
    // Machine 2 took no lock it could not release: machine 3 does not wait for one.
    let d = farm.call(3, false);
    tokens_of(&[d.clone()]);
    let took = d[0]["ms"].as_u64().unwrap() - d[0]["start"].as_u64().unwrap();
    assert!(took < 3000, "{took} ms");
    assert_eq!(narrow.cli_text(&["--user", "default", "--pass", "", "-n", "2", "--scan"]), "", "no key left behind");
    assert!(farm.stats(2)["store_errors"].as_u64().unwrap() >= 1);
    let lines = farm.log(2);
    assert!(lines.iter().any(|(l, m)| l == "ERROR" && m.contains("Redis") && m.contains("permission")), "{lines:#?}");
    assert!(lines.iter().all(|(_, m)| !m.contains("Acl-Pass-41b")));
    farm.finish();
}
