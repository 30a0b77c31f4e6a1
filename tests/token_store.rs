//! The token store across real processes: each worker is this test binary run again as a
//! separate process (see `store_worker`), using the library against the real token server.
mod common;

use common::{TokenServer, CLIENT_ID, CLIENT_SECRET};
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The worker: runs only when this binary is started by `Worker::spawn` (FLX_STORE_WORKER set);
/// in a plain test run it returns at once.
#[test]
fn store_worker() {
    let Ok(cfg) = std::env::var("FLX_STORE_WORKER") else { return };
    let cfg: Value = serde_json::from_str(&cfg).unwrap();
    // libtest has written "test store_worker ... " without a newline.
    println!();
    let s = |k: &str| cfg[k].as_str().map(str::to_owned);
    let c = flexiti_auth::Client::new(&s("url").unwrap(), &s("client_id").unwrap_or(CLIENT_ID.into()), &s("secret").unwrap_or(CLIENT_SECRET.into())).unwrap();
    c.set_option("proxy", "none").unwrap();
    for (k, v) in cfg["options"].as_object().unwrap() {
        c.set_option(k, v.as_str().unwrap()).unwrap();
    }
    if let Some(go) = s("go") {
        println!("READY");
        while !Path::new(&go).exists() {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    let use_cache = cfg["use_cache"].as_bool().unwrap_or(false);
    for _ in 0..cfg["calls"].as_u64().unwrap_or(1) {
        match c.get_token_with_decision(use_cache) {
            Ok((t, d)) => println!("TOKEN {} {}", t.access_token, d.name()),
            Err(e) => println!("ERROR {}", e),
        }
        if let Some(ms) = cfg["pause_ms"].as_u64() {
            std::thread::sleep(Duration::from_millis(ms));
        }
    }
    println!("STATS {}", c.stats_json());
}

struct Worker(Child);

struct Output {
    tokens: Vec<String>,
    decisions: Vec<String>,
    errors: Vec<String>,
    stats: Value,
}

impl Worker {
    fn spawn(cfg: Value) -> Worker {
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["store_worker", "--exact", "--nocapture", "--test-threads=1"])
            .env("FLX_STORE_WORKER", cfg.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        Worker(child)
    }

    fn wait_ready(&mut self) {
        use std::io::BufRead;
        let out = self.0.stdout.as_mut().unwrap();
        let mut reader = std::io::BufReader::new(out);
        let mut line = String::new();
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).unwrap() > 0, "worker ended before READY");
            if line.trim() == "READY" {
                return;
            }
        }
    }

    fn finish(self) -> Output {
        let out = self.0.wait_with_output().unwrap();
        assert!(out.status.success(), "worker failed: {:?}", out.status);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut o = Output { tokens: vec![], decisions: vec![], errors: vec![], stats: Value::Null };
        for line in text.lines() {
            if let Some(t) = line.strip_prefix("TOKEN ") {
                let (tok, d) = t.split_once(' ').unwrap();
                o.tokens.push(tok.into());
                o.decisions.push(d.into());
            } else if let Some(e) = line.strip_prefix("ERROR ") {
                o.errors.push(e.into());
            } else if let Some(s) = line.strip_prefix("STATS ") {
                o.stats = serde_json::from_str(s).unwrap();
            }
        }
        o
    }
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let p = std::env::temp_dir().join(format!("flx-store-{name}-{}-{}", std::process::id(), common::unix_now()));
        let _ = std::fs::remove_dir_all(&p);
        Dir(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
    fn files(&self, suffix: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.0).unwrap().map(|e| e.unwrap().path()).filter(|p| p.to_str().unwrap().ends_with(suffix)).collect();
        v.sort();
        v
    }
    fn token_file(&self) -> PathBuf {
        let f = self.files(".token");
        assert_eq!(f.len(), 1, "{f:?}");
        f[0].clone()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cfg(server: &TokenServer, dir: &Dir, extra: Value) -> Value {
    let mut c = json!({"url": server.url, "options": {"token_store": dir.path()}});
    for (k, v) in extra.as_object().unwrap() {
        if k == "options" {
            for (ok, ov) in v.as_object().unwrap() {
                c["options"][ok] = ov.clone();
            }
        } else {
            c[k] = v.clone();
        }
    }
    c
}

/// Start `n` workers, wait until each has its handle ready, then release them together.
fn together(n: usize, server: &TokenServer, dir: &Dir, extra: Value) -> Vec<Output> {
    let go = dir.0.with_extension("go");
    let _ = std::fs::remove_file(&go);
    let mut c = cfg(server, dir, extra);
    c["go"] = json!(go.to_str().unwrap());
    let mut workers: Vec<Worker> = (0..n).map(|_| Worker::spawn(c.clone())).collect();
    for w in &mut workers {
        w.wait_ready();
    }
    std::fs::write(&go, b"go").unwrap();
    let out = workers.into_iter().map(Worker::finish).collect();
    let _ = std::fs::remove_file(&go);
    out
}

fn run(server: &TokenServer, dir: &Dir, extra: Value) -> Output {
    Worker::spawn(cfg(server, dir, extra)).finish()
}

/// No refresh token went out twice, and every request was answered 200.
fn assert_rotation_safe(server: &TokenServer) {
    let forms = server.forms();
    let mut sent: Vec<&str> = forms.iter().filter_map(|f| f["refresh_token"].as_str()).collect();
    let n = sent.len();
    sent.sort();
    sent.dedup();
    assert_eq!(sent.len(), n, "a refresh token was sent twice");
    for r in server.requests() {
        assert_eq!(r["status"], 200, "{r}");
    }
}

#[test]
fn processes_released_together_share_one_request() {
    let server = TokenServer::start();
    let dir = Dir::new("together");
    // The first request takes a while, so every other process is waiting for it.
    server.faults(json!([{"delay_ms": 400, "count": 1}]));
    let outs = together(8, &server, &dir, json!({"use_cache": false}));
    assert_eq!(server.requests().len(), 1, "{:?}", server.grants());
    let issued = server.issued_access_tokens();
    for o in &outs {
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert_eq!(o.tokens, vec![issued[0].clone()]);
    }
    // Modes: the directory was created 0700, the record is 0600, and holds no token in clear.
    assert_eq!(std::fs::metadata(&dir.0).unwrap().permissions().mode() & 0o777, 0o700);
    let file = dir.token_file();
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    let bytes = std::fs::read(&file).unwrap();
    let forms_refresh: Vec<String> = server.get("issued")["refresh_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    for secret in issued.iter().chain(forms_refresh.iter()).map(String::as_str).chain([CLIENT_SECRET]) {
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a secret is in the store file in clear");
    }
}

#[test]
fn refresh_storm_is_one_request_with_refresh_min_age() {
    let server = TokenServer::start();
    let dir = Dir::new("storm");
    let outs = together(8, &server, &dir, json!({"use_cache": false, "calls": 20, "options": {"refresh_min_age_secs": "60"}}));
    assert_eq!(server.requests().len(), 1, "{:?}", server.grants());
    let issued = server.issued_access_tokens();
    for o in &outs {
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert_eq!(o.tokens.len(), 20);
        assert!(o.tokens.iter().all(|t| *t == issued[0]));
    }
}

#[test]
fn non_cache_calls_in_many_processes_never_send_a_refresh_token_twice() {
    let server = TokenServer::start();
    let dir = Dir::new("rotation");
    let outs = together(6, &server, &dir, json!({"use_cache": false, "calls": 5}));
    assert_rotation_safe(&server);
    let grants = server.grants();
    assert_eq!(grants.iter().filter(|g| *g == "client_credentials").count(), 1, "{grants:?}");
    // At most one request per call, and every token handed out was issued by the server.
    assert!(grants.len() <= 30);
    let issued = server.issued_access_tokens();
    for o in &outs {
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert!(o.tokens.iter().all(|t| issued.contains(t)));
    }
    // The last token issued is the one in the store: a new process takes it with no request.
    let before = server.requests().len();
    let o = run(&server, &dir, json!({"use_cache": true}));
    assert_eq!(o.tokens, vec![issued.last().unwrap().clone()]);
    assert_eq!(server.requests().len(), before);
}

#[test]
fn a_restarted_process_reuses_the_stored_token_then_refreshes_with_the_stored_refresh_token() {
    let server = TokenServer::start();
    let dir = Dir::new("restart");
    let first = run(&server, &dir, json!({"use_cache": false}));
    assert_eq!(first.decisions, vec!["new"]);
    let again = run(&server, &dir, json!({"use_cache": true, "calls": 3}));
    assert_eq!(again.tokens, vec![first.tokens[0].clone(); 3]);
    assert_eq!(again.decisions, vec!["cached"; 3]);
    assert_eq!(server.requests().len(), 1);
    // A non-cache call in a new process: the guide's refresh, with the refresh token the store holds.
    let refreshed = run(&server, &dir, json!({"use_cache": false}));
    assert_eq!(refreshed.decisions, vec!["refreshed"]);
    let issued_refresh = server.get("issued")["refresh_tokens"].clone();
    assert_eq!(server.forms()[1]["refresh_token"], issued_refresh[0]);
    assert_rotation_safe(&server);
    // with refresh_min_age_secs a young token is returned as is.
    let young = run(&server, &dir, json!({"use_cache": false, "options": {"refresh_min_age_secs": "60"}}));
    assert_eq!(young.tokens, refreshed.tokens);
    assert_eq!(server.requests().len(), 2);
}

#[test]
fn a_cached_call_never_hands_out_a_token_another_process_replaced() {
    let server = TokenServer::start();
    let dir = Dir::new("replaced");
    let c = common::client(&server);
    c.set_option("token_store", dir.path()).unwrap();
    let t1 = c.get_token(false).unwrap();
    assert_eq!(c.get_token(true).unwrap().access_token, t1.access_token);
    let other = run(&server, &dir, json!({"use_cache": false}));
    assert_ne!(other.tokens[0], t1.access_token);
    // The other process's token is in the store: this process's next cached call takes it.
    assert_eq!(c.get_token(true).unwrap().access_token, other.tokens[0]);
    assert_eq!(server.requests().len(), 2);
    // clear() forgets the handle's copy only: the next call takes the store's again.
    c.clear();
    assert_eq!(c.get_token(true).unwrap().access_token, other.tokens[0]);
    assert_eq!(server.requests().len(), 2);
    assert_rotation_safe(&server);
}

#[test]
fn sigkill_of_the_lock_holder_does_not_block_the_others() {
    let server = TokenServer::start();
    let dir = Dir::new("sigkill");
    // The first process's request hangs for 30 s while it holds the lock; then it is killed.
    server.faults(json!([{"delay_ms": 30000, "count": 1}]));
    let holder = Worker::spawn(cfg(&server, &dir, json!({"use_cache": false, "options": {"timeout_ms": "60000"}})));
    let start = Instant::now();
    while server.requests().is_empty() {
        assert!(start.elapsed() < Duration::from_secs(20), "the first process sent nothing");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut holder = holder.0;
    holder.kill().unwrap();
    holder.wait().unwrap();
    let start = Instant::now();
    let o = run(&server, &dir, json!({"use_cache": true, "options": {"timeout_ms": "5000"}}));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert!(start.elapsed() < Duration::from_secs(10), "{:?}", start.elapsed());
    assert_eq!(o.decisions, vec!["new"]);
    // No torn record: the next process reads it.
    let before = server.requests().len();
    let again = run(&server, &dir, json!({"use_cache": true}));
    assert_eq!(again.tokens, o.tokens);
    assert_eq!(server.requests().len(), before);
    assert!(dir.files(".tmp").is_empty());
}

#[test]
fn a_waiter_stops_after_timeout_ms_and_gets_its_own_token_with_client_credentials() {
    let server = TokenServer::start();
    let dir = Dir::new("waiter");
    // A token in the store, then a holder whose refresh hangs for 20 s.
    run(&server, &dir, json!({"use_cache": false}));
    server.faults(json!([{"delay_ms": 20000, "count": 1}]));
    let holder = Worker::spawn(cfg(&server, &dir, json!({"use_cache": false, "options": {"timeout_ms": "60000"}})));
    let start = Instant::now();
    while server.requests().len() < 2 {
        assert!(start.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(10));
    }
    let start = Instant::now();
    let o = run(&server, &dir, json!({"use_cache": false, "options": {"timeout_ms": "1000"}}));
    let took = start.elapsed();
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert!(took < Duration::from_secs(8), "{took:?}");
    let grants = server.grants();
    assert_eq!(grants, vec!["client_credentials", "refresh_token", "client_credentials"]);
    let mut h = holder.0;
    h.kill().unwrap();
    h.wait().unwrap();
}

#[test]
fn damaged_files_are_no_token_and_are_replaced() {
    let server = TokenServer::start();
    let dir = Dir::new("damaged");
    let other_dir = Dir::new("damaged-other");
    run(&server, &dir, json!({"use_cache": false}));
    let file = dir.token_file();
    let good = std::fs::read(&file).unwrap();
    // A valid record of another key (another client id) copied over this key's file.
    server.config(json!({"extra_clients": {"second-client": "second-secret"}}));
    run(&server, &other_dir, json!({"use_cache": false, "client_id": "second-client", "secret": "second-secret"}));
    let foreign = std::fs::read(other_dir.token_file()).unwrap();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("corrupt", good.iter().map(|b| b ^ 0x5a).collect()),
        ("one bit flipped", {
            let mut g = good.clone();
            let i = g.len() - 3;
            g[i] ^= 1;
            g
        }),
        ("foreign key", foreign),
        ("garbage", b"not a record at all\n".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&file, &bytes).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let before = server.requests().len();
        let o = run(&server, &dir, json!({"use_cache": true}));
        assert!(o.errors.is_empty(), "{what}: {:?}", o.errors);
        assert_eq!(o.decisions, vec!["new"], "{what}");
        assert_eq!(server.requests().len(), before + 1, "{what}");
        // Replaced: the next process takes it with no request.
        let again = run(&server, &dir, json!({"use_cache": true}));
        assert_eq!(again.tokens, o.tokens, "{what}");
        assert_eq!(server.requests().len(), before + 1, "{what}");
    }
}

#[test]
fn two_client_ids_get_two_tokens_in_one_directory() {
    let server = TokenServer::start();
    server.config(json!({"extra_clients": {"second-client": "second-secret"}}));
    let dir = Dir::new("two-ids");
    let a = run(&server, &dir, json!({"use_cache": true}));
    let b = run(&server, &dir, json!({"use_cache": true, "client_id": "second-client", "secret": "second-secret"}));
    assert_ne!(a.tokens, b.tokens);
    assert_eq!(dir.files(".token").len(), 2);
    // One file per key in the directory (the lock files are in .locks/).
    let regular = std::fs::read_dir(&dir.0).unwrap().filter(|e| e.as_ref().unwrap().path().is_file()).count();
    assert_eq!(regular, 2);
    // Each finds its own again.
    assert_eq!(run(&server, &dir, json!({"use_cache": true})).tokens, a.tokens);
    assert_eq!(run(&server, &dir, json!({"use_cache": true, "client_id": "second-client", "secret": "second-secret"})).tokens, b.tokens);
    // Another scope is another key too.
    let s = run(&server, &dir, json!({"use_cache": true, "options": {"scope": "merchant"}}));
    assert_ne!(s.tokens, a.tokens);
    assert_eq!(server.requests().len(), 3);
    // The same client id with another secret cannot open the record: a token of its own.
    server.config(json!({"extra_clients": {CLIENT_ID: "rotated-secret"}}));
    let rotated = run(&server, &dir, json!({"use_cache": true, "secret": "rotated-secret"}));
    assert_ne!(rotated.tokens, a.tokens);
    assert_eq!(server.requests().len(), 4);
}

#[test]
fn a_directory_open_to_others_or_owned_by_another_user_is_refused() {
    let server = TokenServer::start();
    let c = common::client(&server);
    let dir = Dir::new("modes");
    std::fs::create_dir(&dir.0).unwrap();
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = c.set_option("token_store", dir.path()).unwrap_err();
    assert_eq!(e.status, flexiti_auth::FlxStatus::FLX_ERR_STORE);
    assert!(e.message.contains("0755") && e.message.contains(dir.path()), "{}", e.message);
    let e = c.set_option("token_store", &format!("file:{}", dir.path())).unwrap_err();
    assert_eq!(e.status, flexiti_auth::FlxStatus::FLX_ERR_STORE);
    assert_eq!(c.options().token_store_spec, "");
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    c.set_option("token_store", &format!("file:{}", dir.path())).unwrap();
    // Not absolute, not a directory, an unknown scheme.
    assert_eq!(c.set_option("token_store", "relative/dir").unwrap_err().status, flexiti_auth::FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    assert_eq!(c.set_option("token_store", "memcached://127.0.0.1:1").unwrap_err().status, flexiti_auth::FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    // redis:// is the web farm's store (issue 11): a build without the `redis` feature refuses it.
    if !cfg!(feature = "redis") {
        assert_eq!(c.set_option("token_store", "redis://127.0.0.1:1").unwrap_err().status, flexiti_auth::FlxStatus::FLX_ERR_INVALID_ARGUMENT);
    }
    let file = dir.0.join("plain-file");
    std::fs::write(&file, b"x").unwrap();
    assert_eq!(c.set_option("token_store", file.to_str().unwrap()).unwrap_err().status, flexiti_auth::FlxStatus::FLX_ERR_STORE);
    // The option kept its previous value; none turns it off.
    assert_eq!(c.options().token_store_spec, format!("file:{}", dir.path()));
    c.set_option("token_store", "none").unwrap();
    assert!(c.options().token_store.is_none());
    // Owned by another user (needs root to arrange).
    if unsafe { libc::geteuid() } == 0 {
        let foreign = Dir::new("foreign-owner");
        std::fs::create_dir(&foreign.0).unwrap();
        std::fs::set_permissions(&foreign.0, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&foreign.0, Some(65534), Some(65534)).unwrap();
        let e = c.set_option("token_store", foreign.path()).unwrap_err();
        assert_eq!(e.status, flexiti_auth::FlxStatus::FLX_ERR_STORE);
        assert!(e.message.contains("owned by uid 65534"), "{}", e.message);
    }
}

#[test]
fn a_store_file_open_to_others_is_never_trusted() {
    let server = TokenServer::start();
    let dir = Dir::new("file-mode");
    let first = run(&server, &dir, json!({"use_cache": false}));
    let file = dir.token_file();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let o = run(&server, &dir, json!({"use_cache": true, "options": {"log_level": "warn"}}));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_eq!(o.decisions, vec!["new"]);
    assert_ne!(o.tokens, first.tokens);
    assert!(o.stats["store_errors"].as_u64().unwrap() >= 1, "{}", o.stats);
    // Not read, and not replaced either: it stays as found.
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o644);
    // A record owned by another user (needs root to arrange), even 0600: the same.
    if unsafe { libc::geteuid() } == 0 {
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&file, Some(65534), Some(65534)).unwrap();
        let o = run(&server, &dir, json!({"use_cache": true}));
        assert!(o.errors.is_empty(), "{:?}", o.errors);
        assert_eq!(o.decisions, vec!["new"]);
        assert!(o.stats["store_errors"].as_u64().unwrap() >= 1, "{}", o.stats);
        use std::os::unix::fs::MetadataExt;
        assert_eq!(std::fs::metadata(&file).unwrap().uid(), 65534);
        assert_eq!(server.requests().len(), 3);
    }
}

#[test]
fn a_store_that_fails_at_run_time_costs_no_call_its_token() {
    let server = TokenServer::start();
    let dir = Dir::new("runtime");
    let c = common::client(&server);
    c.set_option("token_store", dir.path()).unwrap();
    let log = std::env::temp_dir().join(format!("flx-store-runtime-{}.log", std::process::id()));
    c.set_option("log_level", "warn").unwrap();
    c.set_option("log_file", log.to_str().unwrap()).unwrap();
    c.get_token(false).unwrap();
    let stats = |c: &flexiti_auth::Client| -> Value { serde_json::from_str(&c.stats_json()).unwrap() };
    assert_eq!(stats(&c)["store_errors"], 0);
    // Read-only directory: refreshes still succeed, the writes are counted as errors.
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o500)).unwrap();
    let t = c.get_token(false).unwrap();
    assert_eq!(c.get_token(true).unwrap().access_token, t.access_token);
    assert!(stats(&c)["store_errors"].as_u64().unwrap() >= 1);
    std::fs::set_permissions(&dir.0, std::fs::Permissions::from_mode(0o700)).unwrap();
    // Removed directory: the same.
    std::fs::remove_dir_all(&dir.0).unwrap();
    let before = stats(&c)["store_errors"].as_u64().unwrap();
    let t = c.get_token(false).unwrap();
    assert_eq!(c.get_token(true).unwrap().access_token, t.access_token);
    assert!(stats(&c)["store_errors"].as_u64().unwrap() > before);
    assert_eq!(server.requests().len(), 3);
    assert_eq!(stats(&c)["failures"]["FLX_ERR_STORE"], 0);
    // Each failure is a warn line naming the store, with no secret in it.
    c.set_option("log_file", "").unwrap();
    let lines = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_file(&log);
    let warns: Vec<&str> = lines.lines().filter(|l| l.contains("WARN") && l.contains("token store")).collect();
    assert!(warns.len() as u64 >= stats(&c)["store_errors"].as_u64().unwrap(), "{lines}");
    assert!(warns.iter().any(|l| l.contains("read-only")), "{lines}");
    let issued = server.issued_access_tokens();
    for secret in issued.iter().map(String::as_str).chain([CLIENT_SECRET]) {
        assert!(!lines.contains(secret), "a secret in the log: {lines}");
    }
}

#[test]
fn a_fifo_or_a_symlink_in_place_of_the_record_never_blocks_and_is_not_read() {
    let server = TokenServer::start();
    let dir = Dir::new("fifo");
    let first = run(&server, &dir, json!({"use_cache": false}));
    let file = dir.token_file();
    let target = dir.0.join("elsewhere");
    std::fs::copy(&file, &target).unwrap();
    // A FIFO nobody writes to: opening or reading it would block a reader forever.
    std::fs::remove_file(&file).unwrap();
    let status = Command::new("mkfifo").arg(&file).status().unwrap();
    assert!(status.success());
    let start = Instant::now();
    let o = run(&server, &dir, json!({"use_cache": true}));
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_ne!(o.tokens, first.tokens);
    assert!(o.stats["store_errors"].as_u64().unwrap() >= 1, "{}", o.stats);
    // A symbolic link to a valid record: not followed.
    std::fs::remove_file(&file).unwrap();
    std::os::unix::fs::symlink(&target, &file).unwrap();
    let o = run(&server, &dir, json!({"use_cache": true}));
    assert!(o.errors.is_empty(), "{:?}", o.errors);
    assert_ne!(o.tokens, first.tokens);
    assert!(o.stats["store_errors"].as_u64().unwrap() >= 1, "{}", o.stats);
    assert_eq!(server.requests().len(), 3);
}

#[test]
fn truncating_or_removing_every_store_file_under_a_running_client_is_recovered_from() {
    let server = TokenServer::start();
    let dir = Dir::new("truncate-all");
    let c = common::client(&server);
    c.set_option("token_store", dir.path()).unwrap();
    let first = c.get_token(false).unwrap();
    let regular: Vec<PathBuf> = std::fs::read_dir(&dir.0).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    assert_eq!(regular.len(), 1, "{regular:?}"); // one file per key: <key>.token
    for p in &regular {
        std::fs::OpenOptions::new().write(true).open(p).unwrap().set_len(0).unwrap();
    }
    // The running client neither crashes nor loses its token; the next flight replaces the record.
    assert_eq!(c.get_token(true).unwrap().access_token, first.access_token);
    let second = c.get_token(false).unwrap();
    assert_ne!(second.access_token, first.access_token);
    let other = run(&server, &dir, json!({"use_cache": true}));
    assert_eq!(other.tokens, vec![second.access_token.clone()]);
    // Every file removed, the lock files too: the same.
    for e in std::fs::read_dir(&dir.0).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() { std::fs::remove_dir_all(&p).unwrap() } else { std::fs::remove_file(&p).unwrap() }
    }
    assert_eq!(c.get_token(true).unwrap().access_token, second.access_token);
    let third = c.get_token(false).unwrap();
    let other = run(&server, &dir, json!({"use_cache": false}));
    assert_ne!(other.tokens[0], third.access_token);
    // The running client sees the other process's token on its next cached call.
    assert_eq!(c.get_token(true).unwrap().access_token, other.tokens[0]);
    assert_rotation_safe(&server);
}
