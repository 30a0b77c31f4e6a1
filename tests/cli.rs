//! The flexiti-token command-line tool, run as a process against the real token server.

mod common;
use common::*;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

const BIN: &str = env!("CARGO_BIN_EXE_flexiti-token");

/// Every option the tool accepts; --help must document each one.
const OPTIONS: &[&str] = &[
    "--api-url",
    "--client-id",
    "--client-secret-file",
    "--client-secret",
    "--allow-secret-in-argv",
    "--token-path",
    "--scope",
    "--ca-file",
    "--proxy",
    "--timeout-ms",
    "--connect-timeout-ms",
    "--max-retries",
    "--threshold",
    "--option",
    "--session",
    "--use-cache",
    "--json",
    "--verbose",
    "--log-level",
    "--help",
    "--version",
];

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("flexiti-cli-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
    fn file(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, content).unwrap();
        p.to_str().unwrap().to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The tool with a clean environment: no proxies (they would apply to loopback), no FLEXITI_*
/// or FLX_LOG from the developer's shell.
fn tool() -> Command {
    let mut c = Command::new(BIN);
    for var in [
        "http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY",
        "FLEXITI_API_URL", "FLEXITI_CLIENT_ID", "FLEXITI_CLIENT_SECRET", "FLX_LOG",
    ] {
        c.env_remove(var);
    }
    c.stdin(Stdio::null());
    c
}

fn run(mut c: Command) -> Output {
    c.output().expect("run flexiti-token")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited normally")
}

/// A failure's stderr: exactly one `flexiti-token: error: …` line.
fn one_error_line(o: &Output) -> String {
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "not one line: {err:?}");
    assert!(err.starts_with("flexiti-token: error: ") && err.ends_with('\n'), "{err:?}");
    err
}

/// A server, a scratch dir holding the secret file, and the tool pointed at both.
struct Setup {
    server: TokenServer,
    dir: Scratch,
    secret_file: String,
}

impl Setup {
    fn new() -> Setup {
        let server = TokenServer::start();
        let dir = Scratch::new();
        // As `echo secret > file` writes it: the trailing newline is not part of the secret.
        let secret_file = dir.file("secret", &format!("{CLIENT_SECRET}\n"));
        Setup { server, dir, secret_file }
    }

    /// `flexiti-token <args> --api-url … --client-id … --client-secret-file …`
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = tool();
        c.args(args).args(["--api-url", &self.server.url, "--client-id", CLIENT_ID, "--client-secret-file", &self.secret_file]);
        c
    }

    fn run(&self, args: &[&str]) -> Output {
        run(self.cmd(args))
    }

    fn session(&self) -> String {
        self.dir.path("session.json").to_str().unwrap().to_owned()
    }
}

/// "OK decision=new latency_ms=3 …" → the value of each key.
fn fields(line: &str) -> std::collections::HashMap<String, String> {
    line.split_whitespace().filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

fn read_json(path: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn session_doc(created_at: i64, expires_in: i64) -> String {
    json!({
        "token": {"access_token": "a1b2c3d4e5f6a7b8c9d0", "refresh_token": "r1r2r3r4r5r6r7r8r9r0", "token_type": "bearer", "expires_in": expires_in},
        "created_at": created_at,
        "expires_in": expires_in,
    })
    .to_string()
}

#[test]
fn check_gets_a_new_token_and_reports_decision_latency_and_expiry() {
    let s = Setup::new();
    let o = s.run(&["check"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(out.starts_with("OK decision=new "), "{out}");
    let f = fields(&out);
    let latency: u64 = f["latency_ms"].parse().unwrap();
    assert!(latency < 10_000);
    assert_eq!(f["expires_in"], "1200");
    assert!(["1139s", "1140s"].contains(&f["valid_for"].as_str()), "{out}");
    assert_eq!(f["refresh_token"], "yes");

    // What went on the wire: one client_credentials request with the secret from the file,
    // its trailing newline stripped.
    let forms = s.server.forms();
    assert_eq!(forms.len(), 1);
    assert_eq!(forms[0]["grant_type"], "client_credentials");
    assert_eq!(forms[0]["client_id"], CLIENT_ID);
    assert_eq!(forms[0]["client_secret"], CLIENT_SECRET);

    // A 4-character hint of the issued token, never the token.
    let issued = s.server.issued_access_tokens();
    assert_eq!(f["token"], format!("{}…", &issued[0][..4]));
    assert!(!out.contains(&issued[0]));
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
}

#[test]
fn session_file_carries_the_token_between_runs_new_cached_refreshed_fallback() {
    let s = Setup::new();
    let session = s.session();

    let o = s.run(&["check", "--session", &session]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK decision=new "), "{}", stdout(&o));
    let doc = read_json(&session);
    let issued = s.server.get("issued");
    assert_eq!(doc["token"]["access_token"], issued["access_tokens"][0]);
    assert_eq!(doc["token"]["refresh_token"], issued["refresh_tokens"][0]);
    assert!((doc["created_at"].as_i64().unwrap() - unix_now()).abs() <= 5);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&session).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "the session holds tokens: owner-only");
    }

    // --use-cache: the stored, still-valid token, no request.
    let o = s.run(&["check", "--session", &session, "--use-cache"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK decision=cached "), "{}", stdout(&o));
    assert_eq!(s.server.requests().len(), 1, "a cached check sends nothing");

    // Without it: the stored refresh token is used, and the rotated one is stored.
    let o = s.run(&["check", "--session", &session]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK decision=refreshed "), "{}", stdout(&o));
    let forms = s.server.forms();
    assert_eq!(forms.len(), 2);
    assert_eq!(forms[1]["grant_type"], "refresh_token");
    assert_eq!(forms[1]["refresh_token"], issued["refresh_tokens"][0]);
    let issued = s.server.get("issued");
    let doc = read_json(&session);
    assert_eq!(doc["token"]["access_token"], issued["access_tokens"][1]);
    assert_eq!(doc["token"]["refresh_token"], issued["refresh_tokens"][1]);

    // The server forgets its tokens: the refresh is refused, a new token replaces it.
    s.server.expire_all();
    let o = s.run(&["check", "--session", &session]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK decision=fallback "), "{}", stdout(&o));
    assert_eq!(s.server.grants(), ["client_credentials", "refresh_token", "refresh_token", "client_credentials"]);
    let issued = s.server.issued_access_tokens();
    assert_eq!(read_json(&session)["token"]["access_token"], issued[2].as_str());
    // No temporary file is left next to the session.
    let names: Vec<String> = std::fs::read_dir(&s.dir.0).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
}

#[test]
fn an_expired_session_gets_a_new_token_and_an_empty_file_counts_as_none() {
    let s = Setup::new();
    let expired = s.dir.file("expired.json", &session_doc(unix_now() - 1150, 1200));
    let o = s.run(&["token", "--session", &expired, "--use-cache"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.server.grants(), ["client_credentials"]);
    assert_eq!(stdout(&o), format!("{}\n", s.server.issued_access_tokens()[0]));

    let empty = s.dir.file("empty.json", "");
    let o = s.run(&["check", "--session", &empty]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(stdout(&o).starts_with("OK decision=new "));
    assert_eq!(read_json(&empty)["token"]["access_token"], s.server.issued_access_tokens()[1].as_str());
}

#[test]
fn token_prints_exactly_the_access_token() {
    let s = Setup::new();
    let o = s.run(&["token"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let issued = s.server.issued_access_tokens();
    assert_eq!(stdout(&o), format!("{}\n", issued[0]));
    assert!(o.stderr.is_empty());

    // Shared through a session with --use-cache: the same token, no second request.
    let session = s.session();
    let first = s.run(&["token", "--session", &session, "--use-cache"]);
    let second = s.run(&["token", "--session", &session, "--use-cache"]);
    assert_eq!(code(&second), 0, "{}", stderr(&second));
    assert_eq!(stdout(&first), stdout(&second));
    assert_eq!(s.server.requests().len(), 2);

    // Logging goes to stderr; stdout still holds the token alone.
    let o = s.run(&["token", "--verbose"]);
    assert_eq!(code(&o), 0);
    let token = s.server.issued_access_tokens()[2].clone();
    assert_eq!(stdout(&o), format!("{token}\n"));
    let err = stderr(&o);
    assert!(err.contains("grant_type=client_credentials attempt 1/3: HTTP 200"), "{err}");
    assert!(err.contains("decision=new"), "{err}");
    assert!(!err.contains(&token) && !err.contains(CLIENT_SECRET), "{err}");
}

#[test]
fn token_json_is_the_token_document() {
    let s = Setup::new();
    let o = s.run(&["token", "--json"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let issued = s.server.get("issued");
    assert_eq!(v["access_token"], issued["access_tokens"][0]);
    assert_eq!(v["refresh_token"], issued["refresh_tokens"][0]);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["expires_in"], 1200);
    assert!((v["created_at"].as_i64().unwrap() - unix_now()).abs() <= 5);
}

#[test]
fn check_json_shapes_success_and_failure() {
    let s = Setup::new();
    let session = s.session();
    let o = s.run(&["check", "--json", "--session", &session]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o).lines().count(), 1);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["decision"], "new");
    assert!(v["latency_ms"].is_u64());
    assert_eq!(v["expires_in"], 1200);
    assert!((v["created_at"].as_i64().unwrap() - unix_now()).abs() <= 5);
    let valid_for = v["valid_for_secs"].as_i64().unwrap();
    assert!((1139..=1140).contains(&valid_for), "{v}");
    assert_eq!(v["threshold_secs"], 60);
    assert_eq!(v["refresh_token"], true);
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["session"], json!({"path": session, "loaded": false, "saved": true}));
    assert_eq!(v["stats"]["requests"]["client_credentials"], 1);
    assert_eq!(v["stats"]["new_tokens"], 1);
    assert_eq!(v["stats"]["token_held"], true);
    let token = &s.server.issued_access_tokens()[0];
    assert_eq!(v["token_hint"], format!("{}…", &token[..4]));
    assert!(!stdout(&o).contains(token.as_str()));

    let o = s.run(&["check", "--json", "--session", &session, "--use-cache", "--threshold", "100"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["decision"], "cached");
    assert_eq!(v["threshold_secs"], 100);
    assert!((1099..=1100).contains(&v["valid_for_secs"].as_i64().unwrap()), "{v}");
    assert_eq!(v["session"]["loaded"], true);
    assert_eq!(v["session"]["saved"], false);
    assert_eq!(v["stats"]["cache_hits"], 1);

    // A failure: JSON on stdout, one line on stderr, the exit status of the failure.
    s.server.faults(json!([{"status": 503, "body": "{\"error\":\"unavailable\"}"}]));
    let o = s.run(&["check", "--json", "--max-retries", "0"]);
    assert_eq!(code(&o), 76);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["status"], "FLX_ERR_HTTP_STATUS");
    assert_eq!(v["status_code"], 3);
    assert_eq!(v["exit_code"], 76);
    assert!(v["message"].as_str().unwrap().contains("HTTP 503"), "{v}");
    assert_eq!(v["stats"]["failures"]["FLX_ERR_HTTP_STATUS"], 1);
    assert!(one_error_line(&o).contains("FLX_ERR_HTTP_STATUS"));
}

#[test]
fn wrong_secret_exits_77_with_one_line_and_no_secret() {
    let s = Setup::new();
    let wrong = "wrong-secret-0123456789";
    let file = s.dir.file("wrong", &format!("{wrong}\n"));
    for extra in [&[][..], &["--json"][..], &["--verbose"][..]] {
        let mut c = tool();
        c.arg("check").args(extra).args(["--api-url", &s.server.url, "--client-id", CLIENT_ID, "--client-secret-file", &file]);
        let o = run(c);
        assert_eq!(code(&o), 77, "{extra:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(!err.contains(wrong) && !stdout(&o).contains(wrong), "the secret leaked: {err}");
        let last = err.lines().last().unwrap();
        assert!(last.starts_with("flexiti-token: error: FLX_ERR_AUTH_REJECTED: "), "{err}");
        assert!(last.contains("invalid_client"), "{err}");
        if extra.is_empty() {
            one_error_line(&o);
            assert!(o.stdout.is_empty());
        }
    }
    assert_eq!(s.server.forms()[0]["client_secret"], wrong, "the file's secret was sent");

    // `token` fails the same way and prints nothing on stdout.
    let mut c = tool();
    c.args(["token", "--api-url", &s.server.url, "--client-id", CLIENT_ID, "--client-secret-file", &file]);
    let o = run(c);
    assert_eq!(code(&o), 77);
    assert!(o.stdout.is_empty());
    one_error_line(&o);
}

#[test]
fn each_failure_kind_has_its_exit_status() {
    let s = Setup::new();
    // Network: nothing listens.
    let mut c = tool();
    c.args(["check", "--api-url", &format!("http://127.0.0.1:{}/", closed_port()), "--client-id", CLIENT_ID]);
    c.args(["--client-secret-file", &s.secret_file, "--max-retries", "0"]);
    let o = run(c);
    assert_eq!(code(&o), 69, "{}", stderr(&o));
    assert!(one_error_line(&o).contains("FLX_ERR_NETWORK"));

    // Bad response: a 200 that is not a token.
    s.server.faults(json!([{"status": 200, "body": "<html>maintenance</html>"}]));
    let o = s.run(&["check"]);
    assert_eq!(code(&o), 65, "{}", stderr(&o));
    assert!(one_error_line(&o).contains("FLX_ERR_BAD_RESPONSE"));

    // Every option value is checked: a bad one is a usage error naming the flag.
    let o = s.run(&["check", "--timeout-ms", "abc"]);
    assert_eq!(code(&o), 64);
    assert!(one_error_line(&o).contains("--timeout-ms"));
    let o = s.run(&["check", "--option", "colour=blue"]);
    assert_eq!(code(&o), 64);
    assert!(one_error_line(&o).contains("colour"));

    // A session file that is not a session: 66, and it is left alone.
    let bad = s.dir.file("bad.json", "{\"token\": 5}");
    let o = s.run(&["token", "--session", &bad]);
    assert_eq!(code(&o), 66, "{}", stderr(&o));
    assert!(one_error_line(&o).contains("bad.json"));
    assert_eq!(std::fs::read_to_string(&bad).unwrap(), "{\"token\": 5}");

    // The session cannot be written: 73, and the token is not printed.
    let unwritable = s.dir.path("no-such-dir/session.json");
    let o = s.run(&["token", "--session", unwritable.to_str().unwrap()]);
    assert_eq!(code(&o), 73, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    one_error_line(&o);

    // The server saw: the bad-response request and the one whose session could not be saved.
    assert_eq!(s.server.requests().len(), 2);
}

#[test]
fn status_reports_expiry_without_tokens() {
    let s = Setup::new();
    let session = s.session();
    assert_eq!(code(&s.run(&["check", "--session", &session])), 0);
    let doc = read_json(&session);

    // No credentials or server needed.
    let o = run({
        let mut c = tool();
        c.args(["status", "--session", &session]);
        c
    });
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("VALID "), "{out}");
    let f = fields(&out);
    assert_eq!(f["expired"], "no");
    assert_eq!(f["expires_in"], "1200");
    assert_eq!(f["threshold"], "60");
    assert!(["0s", "1s"].contains(&f["age"].as_str()), "{out}");
    assert!(["1139", "1140"].contains(&f["seconds_left"].as_str()), "{out}");
    assert_eq!(f["refresh_token"], "yes");
    for secret in [doc["token"]["access_token"].as_str().unwrap(), doc["token"]["refresh_token"].as_str().unwrap()] {
        assert!(!out.contains(secret), "status printed a token: {out}");
    }
    assert_eq!(s.server.requests().len(), 1, "status sends nothing");

    // 1150 s old: past the 60 s threshold (exit 1), but not past a 0 s one.
    let old = s.dir.file("old.json", &session_doc(unix_now() - 1150, 1200));
    let o = run({
        let mut c = tool();
        c.args(["status", "--session", &old]);
        c
    });
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let f = fields(&stdout(&o));
    assert!(stdout(&o).starts_with("EXPIRED "));
    assert_eq!(f["expired"], "yes");
    let left: i64 = f["seconds_left"].parse().unwrap();
    assert!((-12..=-10).contains(&left), "{left}");
    assert!(!stdout(&o).contains("a1b2c3d4e5f6a7b8c9d0") && !stdout(&o).contains("r1r2r3r4r5r6r7r8r9r0"));
    let o = run({
        let mut c = tool();
        c.args(["status", "--session", &old, "--threshold", "0", "--json"]);
        c
    });
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["expired"], false);
    assert_eq!(v["threshold_secs"], 0);
    assert_eq!(v["expires_in"], 1200);
    assert!((1150..=1152).contains(&v["age_secs"].as_i64().unwrap()), "{v}");
    assert!((48..=50).contains(&v["seconds_left"].as_i64().unwrap()), "{v}");
    assert_eq!(v["refresh_token"], true);
    assert_eq!(v["token_hint"], "a1b2…");
    assert!(!stdout(&o).contains("a1b2c3d4e5f6a7b8c9d0") && !stdout(&o).contains("r1r2r3r4r5r6r7r8r9r0"));

    // Bad, missing and empty files: 66. No --session: 64.
    let garbage = s.dir.file("garbage.json", "not json at all");
    let missing = s.dir.path("missing.json").to_str().unwrap().to_owned();
    let empty = s.dir.file("empty.json", "\n");
    for file in [&garbage, &missing, &empty] {
        let o = run({
            let mut c = tool();
            c.args(["status", "--session", file]);
            c
        });
        assert_eq!(code(&o), 66, "{file}: {}", stderr(&o));
        assert!(one_error_line(&o).contains(file.as_str()));
        assert!(o.stdout.is_empty());
    }
    let o = run({
        let mut c = tool();
        c.arg("status");
        c
    });
    assert_eq!(code(&o), 64);
    assert!(one_error_line(&o).contains("--session"));
}

#[test]
fn secret_on_the_command_line_is_refused_unless_allowed() {
    let s = Setup::new();
    let mut c = tool();
    c.args(["check", "--api-url", &s.server.url, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET]);
    let o = run(c);
    assert_eq!(code(&o), 64);
    let err = one_error_line(&o);
    assert!(err.contains("--allow-secret-in-argv") && err.contains("ps"), "{err}");
    assert!(!err.contains(CLIENT_SECRET));
    assert!(s.server.requests().is_empty(), "nothing is sent");

    let mut c = tool();
    c.args(["check", "--api-url", &s.server.url, "--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, "--allow-secret-in-argv"]);
    let o = run(c);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.server.forms()[0]["client_secret"], CLIENT_SECRET);
}

#[test]
fn environment_supplies_url_id_and_secret() {
    let s = Setup::new();
    let mut c = tool();
    c.arg("token").env("FLEXITI_API_URL", &s.server.url).env("FLEXITI_CLIENT_ID", CLIENT_ID).env("FLEXITI_CLIENT_SECRET", CLIENT_SECRET);
    let o = run(c);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{}\n", s.server.issued_access_tokens()[0]));
    let form = &s.server.forms()[0];
    assert_eq!(form["client_id"], CLIENT_ID);
    assert_eq!(form["client_secret"], CLIENT_SECRET);

    // Options reach the request: scope and token path.
    let o = s.run(&["check", "--scope", "merchant", "--token-path", "/flexiti/pos-api/v2.5/oauth/token"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let req = &s.server.requests()[1];
    assert_eq!(req["path"], "/flexiti/pos-api/v2.5/oauth/token");
    assert_eq!(req["form"]["scope"], "merchant");
}

#[test]
fn missing_or_bad_arguments_exit_64_with_a_usage_hint() {
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["check"],
        &["check", "--api-url", "http://127.0.0.1:9/"],
        &["check", "--api-url", "http://127.0.0.1:9/", "--client-id", "x"],
        &["check", "--no-such-option"],
        &["check", "--session"],
        &["check", "token"],
        &["check", "--json=yes"],
        &["check", "--log-level", "chatty"],
        &["check", "--option", "novalue"],
    ];
    for args in cases {
        let o = run({
            let mut c = tool();
            c.args(*args);
            c
        });
        assert_eq!(code(&o), 64, "{args:?}: {}", stderr(&o));
        let err = one_error_line(&o);
        assert!(err.contains("--help"), "{args:?}: {err}");
        assert!(o.stdout.is_empty());
    }
    let o = run({
        let mut c = tool();
        c.arg("check");
        c
    });
    assert!(stderr(&o).contains("--api-url"));

    // An api_url the library refuses (plain http to a non-loopback host) is a usage error too.
    let dir = Scratch::new();
    let secret = dir.file("s", "x-secret-value\n");
    let o = run({
        let mut c = tool();
        c.args(["check", "--api-url", "http://example.com/", "--client-id", "x", "--client-secret-file", &secret]);
        c
    });
    assert_eq!(code(&o), 64, "{}", stderr(&o));
    assert!(one_error_line(&o).contains("https://"));

    // A stray positional that could be a secret is not echoed.
    let o = run({
        let mut c = tool();
        c.args(["status", "Zm9vYmFyOnNlY3JldC12YWx1ZS0xMjM0NTY3ODk="]);
        c
    });
    assert_eq!(code(&o), 64);
    assert!(!stderr(&o).contains("Zm9vYmFy"), "{}", stderr(&o));
}

#[test]
fn help_documents_every_option_and_exit_status() {
    let o = run({
        let mut c = tool();
        c.arg("--help");
        c
    });
    assert_eq!(code(&o), 0);
    let help = stdout(&o);
    for opt in OPTIONS {
        assert!(help.contains(opt), "--help does not mention {opt}");
    }
    for status in ["64", "65", "66", "69", "70", "73", "74", "76", "77", "78"] {
        assert!(help.lines().any(|l| l.trim_start().starts_with(&format!("{status} "))), "exit status {status} undocumented");
    }
    for word in ["FLEXITI_API_URL", "FLEXITI_CLIENT_ID", "FLEXITI_CLIENT_SECRET", "FLX_LOG"] {
        assert!(help.contains(word), "{word}");
    }
    // And what it documents is what the parser accepts: no option in the help is unknown.
    let mentioned: std::collections::BTreeSet<&str> = help
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .filter(|w| w.starts_with("--") && w.len() > 2)
        .collect();
    assert!(mentioned.len() >= OPTIONS.len());
    for opt in mentioned {
        let o = run({
            let mut c = tool();
            c.arg(opt);
            c
        });
        assert!(!stderr(&o).contains("unknown option"), "{opt} is in --help but refused: {}", stderr(&o));
    }
    // -h is the same help.
    let short = run({
        let mut c = tool();
        c.arg("-h");
        c
    });
    assert_eq!(stdout(&short), help);
}

#[test]
fn client_secret_file_from_stdin_and_a_missing_file() {
    let s = Setup::new();
    let mut c = s.cmd(&["token"]);
    // Replace the file with stdin: `--client-secret-file -` given last wins.
    c.args(["--client-secret-file", "-"]).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(format!("{CLIENT_SECRET}\r\n").as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(s.server.forms()[0]["client_secret"], CLIENT_SECRET);

    let missing = s.dir.path("nope");
    let mut c = tool();
    c.args(["token", "--api-url", &s.server.url, "--client-id", CLIENT_ID, "--client-secret-file", missing.to_str().unwrap()]);
    let o = run(c);
    assert_eq!(code(&o), 66, "{}", stderr(&o));
    assert!(one_error_line(&o).contains("nope"));
    assert_eq!(s.server.requests().len(), 1, "nothing is sent without a secret");
}

#[test]
fn options_apply_in_command_line_order_with_equals_and_double_dash() {
    let dir = Scratch::new();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let session = dir.file("s.json", &session_doc(now - 100, 1200));
    let threshold = |args: &[&str]| {
        let o = run({
            let mut c = tool();
            c.args(args);
            c
        });
        assert_eq!(code(&o), 0, "{args:?}: {}", stderr(&o));
        serde_json::from_str::<Value>(&stdout(&o)).unwrap()["threshold_secs"].as_i64().unwrap()
    };
    // The later of a shorthand and --option wins, in either order; `--opt=value` is one argument.
    let later_option = ["--threshold", "10", "--option", "expiration_threshold_secs=30", "status", "--json"];
    assert_eq!(threshold(&[&["--session", &session][..], &later_option[..]].concat()), 30);
    assert_eq!(threshold(&["--option=expiration_threshold_secs=30", "status", "--threshold=10", "--json", "--session", &session]), 10);
    // After `--` every argument is positional: the command may come there, an option may not.
    assert_eq!(threshold(&["--json", "--session", &session, "--", "status"]), 60);
    let o = run({
        let mut c = tool();
        c.args(["--json", "--", "status", "--session", &session]);
        c
    });
    assert_eq!(code(&o), 64);
    one_error_line(&o);
    // A value option repeated: the last one counts.
    assert_eq!(threshold(&["status", "--json", "--session", "/nonexistent/x", "--session", &session]), 60);
}
