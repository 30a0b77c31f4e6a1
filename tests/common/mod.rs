//! Test support: the local token server as a real process on an ephemeral loopback port, and a
//! small client for its control API.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const CLIENT_ID: &str = "flexiti-test-client";
pub const CLIENT_SECRET: &str = "flexiti-test-secret";

pub fn server_binary() -> PathBuf {
    if let Ok(p) = std::env::var("FLX_TOKEN_SERVER") {
        return PathBuf::from(p);
    }
    // Integration tests live in target/<profile>/deps; the server is built next door.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let p = profile_dir.join("flexiti-token-server");
    assert!(p.exists(), "{} is missing: run `cargo build --workspace` (or `make build`) first", p.display());
    p
}

pub struct TokenServer {
    child: Child,
    pub url: String,
    control: ureq::Agent,
}

impl TokenServer {
    pub fn start() -> TokenServer {
        Self::start_with(&[])
    }

    pub fn start_with(args: &[&str]) -> TokenServer {
        let mut child = Command::new(server_binary())
            .args(["--port", "0", "--watch-stdin"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start flexiti-token-server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("read server URL");
        let url = line.trim().to_owned();
        assert!(url.starts_with("http"), "server printed {url:?}");
        let control = ureq::Agent::config_builder()
            .proxy(None)
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            // ureq is built without a crypto provider of its own (the library passes rustls + ring).
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .disable_verification(true)
                    .unversioned_rustls_crypto_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                    .build(),
            )
            .build()
            .into();
        TokenServer { child, url, control }
    }

    fn control_url(&self, path: &str) -> String {
        format!("{}_control/{path}", self.url)
    }

    pub fn get(&self, path: &str) -> Value {
        let mut r = self.control.get(&self.control_url(path)).call().expect("control GET");
        serde_json::from_slice(&r.body_mut().read_to_vec().unwrap()).expect("control JSON")
    }

    pub fn post(&self, path: &str, body: Value) {
        let r = self.control.post(&self.control_url(path)).content_type("application/json").send(body.to_string()).expect("control POST");
        assert!(r.status().is_success(), "control POST {path}: {}", r.status());
    }

    pub fn requests(&self) -> Vec<Value> {
        self.get("requests").as_array().cloned().expect("requests array")
    }

    /// The form fields of every recorded token request.
    pub fn forms(&self) -> Vec<Value> {
        self.requests().into_iter().map(|r| r["form"].clone()).collect()
    }

    pub fn grants(&self) -> Vec<String> {
        self.forms().iter().map(|f| f["grant_type"].as_str().unwrap_or("").to_owned()).collect()
    }

    pub fn faults(&self, faults: Value) {
        self.post("faults", faults);
    }

    pub fn config(&self, config: Value) {
        self.post("config", config);
    }

    pub fn expire_all(&self) {
        self.post("expire", json!({}));
    }

    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.get("issued")["access_tokens"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    }

    pub fn stats(&self) -> Value {
        self.get("stats")
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client(server: &TokenServer) -> flexiti_auth::Client {
    let c = flexiti_auth::Client::new(&server.url, CLIENT_ID, CLIENT_SECRET).expect("client");
    // A proxy from the developer's environment would otherwise apply to loopback too.
    c.set_option("proxy", "none").unwrap();
    c
}

pub fn unix_now() -> i64 {
    flexiti_auth::clock::unix_now()
}

/// A port nothing listens on (bound, then released).
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub fn token_json(t: &flexiti_auth::HeldToken) -> Value {
    serde_json::from_str(&t.token_json).unwrap()
}
