//! Test support: a real redis-server of our own per test, on a free loopback port, in a temporary
//! directory, with no persistence, stopped by PID; optionally with a password (`requirepass`), an
//! ACL user, or TLS only (a local CA and a leaf certificate made with openssl: rustls refuses a
//! self-signed CA certificate used as the server's own).
//!
//! `make test` installs Debian's redis-server (`make deps`); run alone, a missing redis-server is
//! a clear failure, never a silent skip.
//!
//! With `FLX_REDIS_TLS_FRONT=socat` (`make test-valkey`: the only Valkey binary reachable here is
//! built without TLS), a TLS server is the plain server on an inner port behind socat terminating
//! TLS with the same certificates on the outer one, as an operator runs stunnel in front of it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Clone, Default)]
pub struct RedisConfig {
    /// `requirepass`: the default user's password.
    pub requirepass: Option<String>,
    /// An ACL user (name, password) with every right, besides the default user.
    pub acl_user: Option<(String, String)>,
    /// Serve TLS only (no plain port), with a leaf certificate for localhost and 127.0.0.1.
    pub tls: bool,
    /// The ACL user's rules instead of every right (e.g. the README's least-privilege line).
    pub acl_rules: Option<Vec<String>>,
    /// An ACL user created with `nopass` (any password, or none, authenticates it), with every
    /// right, besides the others.
    pub nopass_user: Option<String>,
}

pub struct RedisServer {
    child: Option<Child>,
    /// The TLS terminator in front of a server without TLS (see the module comment).
    front: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub config: RedisConfig,
}

pub fn redis_server_binary() -> String {
    let bin = std::env::var("FLX_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let found = Command::new(&bin).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().map(|s| s.success()).unwrap_or(false);
    assert!(found, "{bin} is not installed: run `make deps` (installs Debian's redis-server) or set FLX_REDIS_SERVER");
    bin
}

/// Whether TLS servers are a plain server behind socat (see the module comment).
fn tls_front() -> bool {
    std::env::var("FLX_REDIS_TLS_FRONT").is_ok_and(|v| v == "socat")
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// A local CA (ca.pem) and a leaf certificate for localhost / 127.0.0.1 (leaf.pem, leaf.key).
pub fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl (make deps installs it)");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=flexiti-auth redis test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    run(&["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr", "-subj", "/CN=localhost"]);
    run(&["x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext"]);
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_with(RedisConfig::default())
    }

    pub fn start_with(config: RedisConfig) -> RedisServer {
        let dir = std::env::temp_dir().join(format!("flx-redis-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).unwrap();
        if config.tls {
            make_certs(&dir);
        }
        let mut server = RedisServer { child: None, front: None, port: 0, dir, config };
        // The port was free a moment ago; another process may take it first: try a few.
        for _ in 0..5 {
            server.port = free_port();
            if server.launch() {
                return server;
            }
        }
        panic!("redis-server would not start; its log:\n{}", server.log());
    }

    /// Start (again) on `self.port`; true once it accepts connections.
    fn launch(&mut self) -> bool {
        let _ = std::fs::remove_file(self.dir.join("redis.log"));
        let port = self.port.to_string();
        let mut args: Vec<String> = vec![
            "--bind".into(), "127.0.0.1".into(),
            "--save".into(), "".into(),
            "--appendonly".into(), "no".into(),
            "--dir".into(), self.dir.to_str().unwrap().into(),
            "--logfile".into(), self.dir.join("redis.log").to_str().unwrap().into(),
            "--daemonize".into(), "no".into(),
            "--databases".into(), "16".into(),
        ];
        let front = self.config.tls && tls_front();
        if front {
            args.extend(["--port".into(), free_port().to_string()]);
        } else if self.config.tls {
            let p = |f: &str| self.dir.join(f).to_str().unwrap().to_owned();
            args.extend(["--port".into(), "0".into(), "--tls-port".into(), port.clone(), "--tls-cert-file".into(), p("leaf.pem"),
                "--tls-key-file".into(), p("leaf.key"), "--tls-ca-cert-file".into(), p("ca.pem"), "--tls-auth-clients".into(), "no".into()]);
        } else {
            args.extend(["--port".into(), port.clone()]);
        }
        if let Some(pw) = &self.config.requirepass {
            args.extend(["--requirepass".into(), pw.clone()]);
        }
        if let Some((user, pw)) = &self.config.acl_user {
            args.extend(["--user".into(), user.clone(), "on".into(), format!(">{pw}")]);
            match &self.config.acl_rules {
                Some(rules) => args.extend(rules.iter().cloned()),
                None => args.extend(["~*".into(), "&*".into(), "+@all".into()]),
            }
        }
        if let Some(user) = &self.config.nopass_user {
            args.extend(["--user".into(), user.clone(), "on".into(), "nopass".into(), "~*".into(), "&*".into(), "+@all".into()]);
        }
        let child = Command::new(redis_server_binary()).args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("start redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                self.child = None;
                return false; // exited: the port was taken, most likely
            }
            if self.log().contains("Ready to accept connections") {
                return !front || self.launch_front(&args);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    /// socat terminating TLS on `self.port` for the plain server started with `args` (its
    /// `--port` is the inner one); true once it accepts connections.
    fn launch_front(&mut self, args: &[String]) -> bool {
        let inner = args.iter().position(|a| a == "--port").map(|i| args[i + 1].clone()).unwrap();
        let p = |f: &str| self.dir.join(f).to_str().unwrap().to_owned();
        let listen = format!("OPENSSL-LISTEN:{},bind=127.0.0.1,reuseaddr,fork,cert={},key={},verify=0", self.port, p("leaf.pem"), p("leaf.key"));
        let front = Command::new("socat").args([listen, format!("TCP:127.0.0.1:{inner}")]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn();
        self.front = Some(front.expect("socat (make test-valkey installs it)"));
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.front.as_mut().map(|c| c.try_wait()) {
                self.front = None;
                self.stop();
                return false; // the outer port was taken, most likely
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.stop();
        false
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default()
    }

    /// `redis://127.0.0.1:PORT` or `rediss://localhost:PORT`, with credentials when given.
    pub fn url(&self, userinfo: Option<&str>) -> String {
        let (scheme, host) = if self.config.tls { ("rediss", "localhost") } else { ("redis", "127.0.0.1") };
        match userinfo {
            Some(u) => format!("{scheme}://{u}@{host}:{}", self.port),
            None => format!("{scheme}://{host}:{}", self.port),
        }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// Stop it by PID (SIGTERM, then SIGKILL if it lingers) and reap it. Its data goes with it:
    /// there is no persistence.
    pub fn stop(&mut self) {
        for mut child in [self.front.take(), self.child.take()].into_iter().flatten() {
            unsafe { libc_kill(child.id() as i32, 15) };
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    /// Start again on the same port (after `stop`): an empty Redis, as after a restart.
    pub fn restart(&mut self) {
        self.stop();
        for _ in 0..50 {
            if self.launch() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("redis-server would not start again on port {}; its log:\n{}", self.port, self.log());
    }

    /// Run redis-cli against this server (as the ACL user or with the password when configured);
    /// its stdout. Used to read what the library stored, as an operator would.
    pub fn cli(&self, args: &[&str]) -> Vec<u8> {
        let mut cmd = Command::new("redis-cli");
        cmd.args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "--no-auth-warning"]);
        if self.config.tls {
            cmd.args(["--tls", "--cacert", self.ca_file().to_str().unwrap()]);
        }
        if let Some((user, pw)) = &self.config.acl_user {
            cmd.args(["--user", user, "--pass", pw]);
        } else if let Some(pw) = &self.config.requirepass {
            cmd.args(["-a", pw]);
        }
        let out = cmd.args(args).output().expect("redis-cli (installed with redis-server)");
        assert!(out.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    pub fn cli_text(&self, args: &[&str]) -> String {
        String::from_utf8_lossy(&self.cli(args)).trim_end().to_owned()
    }

    /// One command over a plain socket (no TLS, no auth), e.g. to check the server answers.
    pub fn raw(&self, command: &str) -> String {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(format!("{command}\r\n").as_bytes()).unwrap();
        let mut buf = [0u8; 4096];
        let n = s.read(&mut buf).unwrap_or(0);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}
