//! The token store on Redis (or Valkey): `token_store=redis://…` / `rediss://…`, so several
//! machines are one client of Flexiti. Talks to Redis through redis-rs's blocking client (no
//! async runtime), TLS through the rustls already in the tree.
//!
//! What lives in Redis, per key (api_url + client_id + scope, hashed):
//! - `<prefix>flexiti-auth:{<hash>}:token`: the sealed token (AEAD, key derived from the client
//!   secret: Redis, its backups and `MONITOR` see no token), with a TTL of the token's own life;
//! - `<prefix>flexiti-auth:{<hash>}:lock`: the farm-wide flight, `SET NX PX` with a random owner
//!   token, released by a compare-and-delete script. A new token is written only by the lock's
//!   owner while it still holds it (compared in the same script), so a holder whose lock expired
//!   never overwrites a newer token.
//!
//! The braces make both keys one hash slot (a Redis Cluster proxy keeps them together).
//!
//! Failures: every operation returns a [`RedisFailure`] saying what went wrong (unreachable,
//! refused credentials, TLS, server error) in words that never carry the password. After a
//! failure the connection is dropped and no new one is tried before a backoff has passed
//! (250 ms doubling to 30 s), so a Redis that is down costs a caller nothing but the first
//! timeout.
//!
//! Fork: the connection belongs to the process that made it; a child never writes to it (it
//! starts its own, and forgets the parent's without closing it).

use super::{error, steady_ms, Loaded, LockWait, Polled, Slot, SlotLock, StoreSettings, TokenStore};
use crate::clock::Coarse;
use crate::error::{quote, Error, Result};
use crate::log::Level;
use std::sync::atomic::{AtomicU64, Ordering};
use crate::fork::{fork_generation, ForkLock};
use crate::secret::SecretString;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the store is: parsed from the option's value, with the syntax checked only (no network).
#[derive(Clone)]
pub struct RedisTarget {
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub db: i64,
    pub username: Option<String>,
    password: Option<Arc<SecretString>>,
    /// Prepended to every key (`?prefix=shop1:`).
    pub prefix: String,
}

impl std::fmt::Debug for RedisTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl PartialEq for RedisTarget {
    fn eq(&self, o: &Self) -> bool {
        self.tls == o.tls
            && self.host == o.host
            && self.port == o.port
            && self.db == o.db
            && self.username == o.username
            && self.password.as_ref().map(|p| p.as_str()) == o.password.as_ref().map(|p| p.as_str())
            && self.prefix == o.prefix
    }
}

const DEFAULT_PORT: u16 = 6379;
const MAX_PREFIX_BYTES: usize = 256;

impl RedisTarget {
    /// Is this option value meant for Redis?
    pub fn is_redis_url(value: &str) -> bool {
        let v = value.trim_start().as_bytes();
        let starts = |p: &str| v.len() >= p.len() && v[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        starts("redis://") || starts("rediss://")
    }

    /// `redis://[user[:password]@]host[:port][/db][?prefix=…]` or `rediss://…`. A user without
    /// a password (`redis://user@host`) is an ACL user created with `nopass`; a password without
    /// a user (`redis://:password@host`) is the default user's (`requirepass`). Messages name
    /// what is wrong and never repeat the URL (it may carry a password).
    pub fn parse(url: &str) -> Result<RedisTarget> {
        let bad = |what: &str| Error::invalid(format!("option token_store: {what} (expected redis://[user[:password]@]host[:port][/db][?prefix=...] or rediss://...)"));
        if url.chars().any(char::is_control) {
            return Err(bad("the Redis URL contains control characters"));
        }
        let url = url.trim();
        let (tls, rest) = match url.find("://") {
            Some(i) if url[..i].eq_ignore_ascii_case("redis") => (false, &url[i + 3..]),
            Some(i) if url[..i].eq_ignore_ascii_case("rediss") => (true, &url[i + 3..]),
            _ => return Err(bad("not a Redis URL")),
        };
        if rest.contains('#') {
            return Err(bad("the Redis URL must not carry a fragment (#); percent-encode a '#' in the password as %23"));
        }
        let (before_query, query) = match rest.find('?') {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        // The authority ends at the first '/' after the userinfo (a password may hold a '/'
        // only percent-encoded, as in any URL).
        let (authority, path) = match before_query.rfind('@') {
            Some(at) => match before_query[at..].find('/') {
                Some(i) => (&before_query[..at + i], &before_query[at + i..]),
                None => (before_query, ""),
            },
            None => match before_query.find('/') {
                Some(i) => (&before_query[..i], &before_query[i..]),
                None => (before_query, ""),
            },
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (mut username, mut password) = (None, None);
        if let Some(ui) = userinfo {
            let (u, p) = match ui.find(':') {
                Some(i) => (&ui[..i], Some(&ui[i + 1..])),
                None => (ui, None),
            };
            let u = decode(u).ok_or_else(|| bad("the Redis user name is not valid percent-encoded UTF-8"))?;
            if u.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(bad("the Redis user name must not contain spaces or control characters"));
            }
            username = (!u.is_empty()).then_some(u);
            if let Some(p) = p {
                let p = decode(p).ok_or_else(|| bad("the Redis password is not valid percent-encoded UTF-8"))?;
                if p.chars().any(char::is_control) {
                    return Err(bad("the Redis password must not contain control characters"));
                }
                password = (!p.is_empty()).then(|| Arc::new(SecretString::new(p)));
            }
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let end = v6.find(']').ok_or_else(|| bad("an IPv6 Redis host must be written [address]"))?;
            let host = &v6[..end];
            host.parse::<std::net::Ipv6Addr>().map_err(|_| bad("the Redis host is not a valid IPv6 address"))?;
            let after = &v6[end + 1..];
            let port = match after.strip_prefix(':') {
                Some(p) => Some(p),
                None if after.is_empty() => None,
                None => return Err(bad("unexpected characters after the IPv6 Redis host")),
            };
            (host.to_owned(), port)
        } else {
            match hostport.rfind(':') {
                Some(i) => (hostport[..i].to_owned(), Some(&hostport[i + 1..])),
                None => (hostport.to_owned(), None),
            }
        };
        if host.is_empty() {
            return Err(bad("the Redis URL has no host"));
        }
        if !host.contains(':') && !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_') {
            return Err(bad(&format!("the Redis host {} is not a host name or IP address", quote(&host))));
        }
        let port = match port {
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
                _ => return Err(bad("the Redis port must be a number from 1 to 65535")),
            },
        };
        let db = match path.trim_start_matches('/') {
            "" if path.len() <= 1 => 0,
            d if d.bytes().all(|b| b.is_ascii_digit()) && d.len() <= 6 => d.parse::<i64>().map_err(|_| bad("the Redis database must be a number"))?,
            _ => return Err(bad("the Redis database (the URL's path) must be a number, e.g. redis://host:6379/2")),
        };
        let mut prefix = String::new();
        if let Some(q) = query {
            for pair in q.split('&').filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                match k {
                    "prefix" => {
                        prefix = decode(v).ok_or_else(|| bad("the key prefix is not valid percent-encoded UTF-8"))?;
                        if prefix.chars().any(|c| c.is_control() || c.is_whitespace()) || prefix.len() > MAX_PREFIX_BYTES {
                            return Err(bad(&format!("the key prefix must be at most {MAX_PREFIX_BYTES} bytes without spaces or control characters")));
                        }
                    }
                    _ => return Err(bad(&format!("unknown Redis URL parameter {}; known: prefix", quote(&decode(k).unwrap_or_default())))),
                }
            }
        }
        Ok(RedisTarget { tls, host: host.to_ascii_lowercase(), port, db, username, password, prefix })
    }

    /// For messages and logs: where, never the password. "Redis at host:port (db 2, TLS, user u)".
    pub fn describe(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        let mut extra = Vec::new();
        if self.db != 0 {
            extra.push(format!("db {}", self.db));
        }
        if self.tls {
            extra.push("TLS".to_owned());
        }
        if let Some(u) = &self.username {
            extra.push(format!("user {}", quote(u)));
        }
        if extra.is_empty() {
            format!("Redis at {host}:{}", self.port)
        } else {
            format!("Redis at {host}:{} ({})", self.port, extra.join(", "))
        }
    }

    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.as_str())
    }

    pub fn token_key(&self, hash: &str) -> String {
        format!("{}flexiti-auth:{{{hash}}}:token", self.prefix)
    }

    pub fn lock_key(&self, hash: &str) -> String {
        format!("{}flexiti-auth:{{{hash}}}:lock", self.prefix)
    }
}

fn decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned())
}

/// How connections are made: from the client's options (connect_timeout_ms, timeout_ms,
/// ca_file) as they are at the time of the call.
#[derive(Clone, Debug)]
pub struct ConnectSettings {
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    /// `ca_file`'s certificates (DER), added to the public roots for `rediss://`.
    pub extra_roots: Option<Arc<Vec<Vec<u8>>>>,
}

impl PartialEq for ConnectSettings {
    fn eq(&self, o: &Self) -> bool {
        let same_roots = match (&self.extra_roots, &o.extra_roots) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        };
        self.connect_timeout == o.connect_timeout && self.command_timeout == o.command_timeout && same_roots
    }
}

/// What went wrong talking to Redis, in words that never carry the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisFailure {
    pub kind: FailureKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureKind {
    /// Connection refused, timed out, reset, name not found; also a reconnect held back by the
    /// backoff after such a failure.
    Unreachable,
    /// Redis refused the password or the ACL user (or the user lacks a permission): an
    /// operator's mistake, logged at error level.
    Auth,
    /// The TLS handshake failed (certificate not trusted, wrong name, not a TLS port).
    Tls,
    /// Redis answered with an error (out of memory, read-only replica, loading).
    Server,
}

impl RedisFailure {
    pub fn is_auth(&self) -> bool {
        self.kind == FailureKind::Auth
    }
}

impl std::fmt::Display for RedisFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

pub type RResult<T> = std::result::Result<T, RedisFailure>;

/// One kept-alive connection and what is known about the server's health.
struct Conn {
    con: Option<redis::Connection>,
    settings: Option<ConnectSettings>,
    /// No new connection is tried before this (after a failure).
    retry_at: Option<Instant>,
    backoff: Duration,
    last_failure: Option<RedisFailure>,
}

const BACKOFF_FIRST: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// The first attempt at a lock: taken, or held by another (with the record as it was then).
pub enum LockTry {
    Taken,
    Held(Option<Vec<u8>>),
}

/// The process's view of the connection: replaced (never reused) in a child after fork.
struct ProcessConn {
    generation: u64,
    pid: u32,
    conn: Arc<parking_lot::Mutex<Conn>>,
}

type ProcessConnLock = std::sync::Mutex<ProcessConn>;

impl ForkLock for ProcessConnLock {
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()> {
        let guard = self.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: as in client.rs: the Arc moved into the closure outlives the guard, dropped first.
        let guard: std::sync::MutexGuard<'static, ProcessConn> = unsafe { std::mem::transmute(guard) };
        Box::new(move || {
            drop(guard);
            drop(self);
        })
    }
}

fn new_conn() -> Arc<parking_lot::Mutex<Conn>> {
    Arc::new(parking_lot::Mutex::new(Conn { con: None, settings: None, retry_at: None, backoff: BACKOFF_FIRST, last_failure: None }))
}

/// A Redis server as this library uses it: its target, one kept-alive connection per process
/// (per handle: each handle's store has its own), and the few commands the store needs.
pub struct RedisClient {
    pub target: RedisTarget,
    slot: Arc<ProcessConnLock>,
}

/// Take the lock: `SET NX PX` through a script, so that a user without the right to run scripts
/// never takes a lock it could not release (it goes on per process instead).
const LOCK: &str = "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])";
/// A call's first attempt: take the lock, or (held by another) read the record as it is at that
/// moment, in the same step, so that what the holder stores after it counts as stored during
/// this call's wait and nothing stored before does.
const LOCK_OR_PEEK: &str = "if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return {redis.call('GETRANGE', KEYS[2], 0, ARGV[3])}";
/// Compare-and-delete: release the lock only if this owner still holds it.
const RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
/// Write the token only while this owner still holds the lock (same script: no race).
const WRITE_IF_OWNER: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) return 1 else return 0 end";

/// The flight's last step in one round trip: write the token and release the lock, only if
/// this owner still holds it.
const WRITE_AND_RELEASE: &str = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) redis.call('DEL', KEYS[1]) return 1 else return 0 end";

static LOCK_SCRIPT: once_cell::sync::Lazy<redis::Script> = once_cell::sync::Lazy::new(|| redis::Script::new(LOCK));
static LOCK_OR_PEEK_SCRIPT: once_cell::sync::Lazy<redis::Script> = once_cell::sync::Lazy::new(|| redis::Script::new(LOCK_OR_PEEK));
static RELEASE_SCRIPT: once_cell::sync::Lazy<redis::Script> = once_cell::sync::Lazy::new(|| redis::Script::new(RELEASE));
static WRITE_SCRIPT: once_cell::sync::Lazy<redis::Script> = once_cell::sync::Lazy::new(|| redis::Script::new(WRITE_IF_OWNER));
static WRITE_RELEASE_SCRIPT: once_cell::sync::Lazy<redis::Script> = once_cell::sync::Lazy::new(|| redis::Script::new(WRITE_AND_RELEASE));

impl RedisClient {
    pub fn new(target: RedisTarget) -> RedisClient {
        let slot = Arc::new(std::sync::Mutex::new(ProcessConn { generation: fork_generation(), pid: std::process::id(), conn: new_conn() }));
        let lock: Arc<dyn ForkLock> = slot.clone();
        crate::fork::register(&lock);
        RedisClient { target, slot }
    }

    /// This process's connection cell (a child gets a new one; the parent's is forgotten, not
    /// closed or written to: its socket is the parent's).
    fn conn(&self) -> Arc<parking_lot::Mutex<Conn>> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let generation = fork_generation();
        let pid = std::process::id();
        if slot.generation != generation || slot.pid != pid {
            let parents = std::mem::replace(&mut slot.conn, new_conn());
            std::mem::forget(parents);
            slot.generation = generation;
            slot.pid = pid;
        }
        slot.conn.clone()
    }

    /// Run `f` on a live connection, connecting first when needed. A failure drops the
    /// connection and starts (or lengthens) the backoff.
    fn with<T>(&self, settings: &ConnectSettings, f: impl FnOnce(&mut redis::Connection) -> redis::RedisResult<T>) -> RResult<T> {
        let cell = self.conn();
        let mut c = cell.lock();
        if c.settings.as_ref() != Some(settings) {
            // New timeouts or trust anchors: a new connection, tried at once (the change may
            // be what fixes the last failure).
            c.con = None;
            c.settings = Some(settings.clone());
            c.retry_at = None;
            c.backoff = BACKOFF_FIRST;
        }
        if c.con.is_none() {
            if let (Some(at), Some(last)) = (c.retry_at, &c.last_failure) {
                if Instant::now() < at {
                    return Err(RedisFailure { kind: last.kind, message: format!("{} (not retried yet: backing off)", last.message) });
                }
            }
            match self.connect(settings) {
                Ok(con) => c.con = Some(con),
                Err(e) => return Err(Self::failed(&mut c, e)),
            }
        }
        let con = c.con.as_mut().expect("connected above");
        match f(con) {
            Ok(v) => {
                c.retry_at = None;
                c.backoff = BACKOFF_FIRST;
                c.last_failure = None;
                Ok(v)
            }
            Err(e) => {
                let failure = self.describe_error(&e);
                Err(Self::failed(&mut c, failure))
            }
        }
    }

    fn failed(c: &mut Conn, failure: RedisFailure) -> RedisFailure {
        c.con = None;
        c.retry_at = Some(Instant::now() + c.backoff);
        c.backoff = (c.backoff * 2).min(BACKOFF_CAP);
        c.last_failure = Some(failure.clone());
        failure
    }

    fn connect(&self, settings: &ConnectSettings) -> RResult<redis::Connection> {
        let t = &self.target;
        let mut info = redis::RedisConnectionInfo::default().set_db(t.db).set_lib_name("flexiti-auth", env!("CARGO_PKG_VERSION"));
        if let Some(u) = &t.username {
            info = info.set_username(u);
        }
        match (t.password(), &t.username) {
            (Some(p), _) => info = info.set_password(p),
            // `redis://user@host`: an ACL user without a password (`nopass`). redis-rs sends no
            // AUTH at all without a password (the connection would be the default user's), so
            // the user goes with an empty one: `AUTH user ""`, which a nopass user accepts.
            (None, Some(_)) => info = info.set_password(""),
            (None, None) => {}
        }
        let addr = if t.tls {
            redis::ConnectionAddr::TcpTls { host: t.host.clone(), port: t.port, insecure: false, tls_params: None }
        } else {
            redis::ConnectionAddr::Tcp(t.host.clone(), t.port)
        };
        let info = redis::IntoConnectionInfo::into_connection_info(addr)
            .map_err(|e| self.describe_error(&e))?
            .set_redis_settings(info)
            .set_tcp_settings(redis::io::tcp::TcpSettings::default().set_nodelay(true));
        let client = if t.tls {
            let certs = redis::TlsCertificates { client_tls: None, root_cert: Some(roots_pem(settings.extra_roots.as_deref().map(|v| v.as_slice()))) };
            redis::Client::build_with_tls(info, certs)
        } else {
            redis::Client::open(info)
        }
        .map_err(|e| self.describe_error(&e))?;
        let con = client.get_connection_with_timeout(settings.connect_timeout).map_err(|e| self.describe_error(&e))?;
        con.set_read_timeout(Some(settings.command_timeout)).map_err(|e| self.describe_error(&e))?;
        con.set_write_timeout(Some(settings.command_timeout)).map_err(|e| self.describe_error(&e))?;
        Ok(con)
    }

    /// A redis-rs error in our words: what happened, where; the password scrubbed all the same.
    fn describe_error(&self, e: &redis::RedisError) -> RedisFailure {
        let code = e.code().unwrap_or("");
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        let (kind, what) = if e.kind() == redis::ErrorKind::AuthenticationFailed
            || matches!(code, "NOAUTH" | "WRONGPASS" | "NOPERM")
            || lower.contains("noauth")
            || lower.contains("wrongpass")
            || lower.contains("invalid password")
        {
            let why = match code {
                "NOAUTH" => "authentication failed: Redis requires a password and the token_store URL gives none".to_owned(),
                "NOPERM" => format!("authentication failed: the Redis user lacks a permission ({})", text),
                _ => "authentication failed: Redis refused the user name or password".to_owned(),
            };
            (FailureKind::Auth, why)
        } else if lower.contains("tls") || lower.contains("ssl") || lower.contains("certificate") || lower.contains("handshake") {
            (FailureKind::Tls, format!("TLS failed: {text}"))
        } else if e.is_io_error() || e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() {
            let why = if e.is_timeout() {
                "timed out".to_owned()
            } else if e.is_connection_refusal() {
                "connection refused".to_owned()
            } else {
                text.clone()
            };
            (FailureKind::Unreachable, format!("unreachable: {why}"))
        } else if e.kind() == redis::ErrorKind::InvalidClientConfig {
            (FailureKind::Unreachable, format!("cannot connect: {text}"))
        } else {
            (FailureKind::Server, format!("error: {text}"))
        };
        let mut message = format!("{}: {what}", self.target.describe());
        if let Some(p) = self.target.password() {
            message = crate::error::redact(&message, &[p]);
        }
        RedisFailure { kind, message }
    }

    /// The sealed token under `key` (its raw bytes), if any.
    pub fn get(&self, settings: &ConnectSettings, key: &str) -> RResult<Option<Vec<u8>>> {
        self.with(settings, |c| redis::cmd("GET").arg(key).query::<Option<Vec<u8>>>(c))
    }

    /// At most `max` bytes of the value under `key`: None when missing or empty. (A value
    /// larger than any record is read only that far.)
    pub fn get_capped(&self, settings: &ConnectSettings, key: &str, max: usize) -> RResult<Option<Vec<u8>>> {
        let v: Vec<u8> = self.with(settings, |c| redis::cmd("GETRANGE").arg(key).arg(0).arg(max.saturating_sub(1)).query(c))?;
        Ok((!v.is_empty()).then_some(v))
    }

    /// The token and whether the lock is held, in one round trip (a waiter's poll).
    pub fn get_with_lock(&self, settings: &ConnectSettings, key: &str, lock: &str) -> RResult<(Option<Vec<u8>>, bool)> {
        self.with(settings, |c| {
            let (token, owner): (Option<Vec<u8>>, Option<Vec<u8>>) = redis::cmd("MGET").arg(key).arg(lock).query(c)?;
            Ok((token, owner.is_some()))
        })
    }

    /// `SET lock owner NX PX ttl` (in a script): true when this owner now holds it.
    pub fn try_lock(&self, settings: &ConnectSettings, lock: &str, owner: &str, ttl: Duration) -> RResult<bool> {
        let ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        self.with(settings, |c| {
            let r: Option<String> = LOCK_SCRIPT.key(lock).arg(owner).arg(ms).invoke(c)?;
            Ok(r.is_some())
        })
    }

    /// `try_lock`, or when another owner holds `lock`, at most `max` bytes of the value under
    /// `key` as it is at that moment (None: missing or empty), in one script.
    pub fn try_lock_or_peek(&self, settings: &ConnectSettings, lock: &str, owner: &str, ttl: Duration, key: &str, max: usize) -> RResult<LockTry> {
        let ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        self.with(settings, |c| {
            let v: redis::Value = LOCK_OR_PEEK_SCRIPT.key(lock).key(key).arg(owner).arg(ms).arg(max.saturating_sub(1)).invoke(c)?;
            match v {
                redis::Value::Int(1) => Ok(LockTry::Taken),
                redis::Value::Array(items) => {
                    let record: Vec<u8> = match items.into_iter().next() {
                        Some(item) => redis::from_redis_value(item)?,
                        None => Vec::new(),
                    };
                    Ok(LockTry::Held((!record.is_empty()).then_some(record)))
                }
                other => Err(redis::RedisError::from((redis::ErrorKind::UnexpectedReturnType, "unexpected reply to the lock script", format!("{other:?}")))),
            }
        })
    }

    /// Write `value` under `key` with a TTL, only if `owner` still holds `lock`: true if written.
    pub fn write_if_owner(&self, settings: &ConnectSettings, lock: &str, owner: &str, key: &str, value: &[u8], ttl: Duration) -> RResult<bool> {
        let ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        self.with(settings, |c| {
            let n: i64 = WRITE_SCRIPT.key(lock).key(key).arg(owner).arg(value).arg(ms).invoke(c)?;
            Ok(n == 1)
        })
    }

    /// Write `value` under `key` and release `lock`, only if `owner` still holds it: true if
    /// it did both.
    pub fn write_and_release(&self, settings: &ConnectSettings, lock: &str, owner: &str, key: &str, value: &[u8], ttl: Duration) -> RResult<bool> {
        let ms = ttl.as_millis().clamp(1, i64::MAX as u128) as i64;
        self.with(settings, |c| {
            let n: i64 = WRITE_RELEASE_SCRIPT.key(lock).key(key).arg(owner).arg(value).arg(ms).invoke(c)?;
            Ok(n == 1)
        })
    }

    /// Release `lock` if `owner` still holds it: true if it did.
    pub fn release(&self, settings: &ConnectSettings, lock: &str, owner: &str) -> RResult<bool> {
        self.with(settings, |c| {
            let n: i64 = RELEASE_SCRIPT.key(lock).arg(owner).invoke(c)?;
            Ok(n == 1)
        })
    }

    /// Is a failure fresh enough that no connection will be tried now? (Callers on a fast path
    /// skip the store meanwhile.)
    pub fn backing_off(&self) -> bool {
        let cell = self.conn();
        let c = cell.lock();
        c.con.is_none() && c.retry_at.is_some_and(|at| Instant::now() < at)
    }
}

// ---- the token store on a RedisClient --------------------------------------------------------

/// `token_store=redis://…`: one per handle (each handle sets its own option), so one kept-alive
/// connection per handle and process.
pub struct RedisStore {
    client: Arc<RedisClient>,
    describe: String,
    settings: Arc<arc_swap::ArcSwap<StoreSettings>>,
    /// settings.check_interval in ms, for the cached path (one atomic load).
    check_ms: Arc<AtomicU64>,
    /// Steady ms of the last warn- and error-level log line about this store (0: none yet).
    last_warned: AtomicU64,
    last_auth_error: AtomicU64,
}

/// A Redis outage is logged at most this often (per handle).
const LOG_EVERY_MS: u64 = 60_000;
/// What the lock's TTL adds to the request's deadlines: the waits between retries.
const LOCK_MARGIN: Duration = Duration::from_secs(1);

impl RedisStore {
    /// Syntax only: no connection is made until a call needs the store.
    pub fn open(url: &str) -> Result<RedisStore> {
        let target = RedisTarget::parse(url)?;
        let describe = match target.prefix.as_str() {
            "" => target.describe(),
            p => format!("{} (key prefix {})", target.describe(), quote(p)),
        };
        Ok(RedisStore {
            client: Arc::new(RedisClient::new(target)),
            describe,
            settings: Arc::new(arc_swap::ArcSwap::from_pointee(StoreSettings {
                connect_timeout: Duration::from_millis(5000),
                timeout: Duration::from_millis(15000),
                max_retries: 2,
                extra_roots: None,
                check_interval: Duration::from_millis(1000),
            })),
            check_ms: Arc::new(AtomicU64::new(1000)),
            last_warned: AtomicU64::new(0),
            last_auth_error: AtomicU64::new(0),
        })
    }
}

fn connect_settings(s: &StoreSettings) -> ConnectSettings {
    ConnectSettings { connect_timeout: s.connect_timeout, command_timeout: s.timeout, extra_roots: s.extra_roots.clone() }
}

impl TokenStore for RedisStore {
    fn describe(&self) -> &str {
        &self.describe
    }

    fn open(&self, key: &str) -> Result<Box<dyn Slot>> {
        let t = &self.client.target;
        Ok(Box::new(RedisSlot {
            client: self.client.clone(),
            settings: self.settings.clone(),
            token_key: t.token_key(key),
            lock_key: t.lock_key(key),
            // Redis cannot tell a process that a key changed: reads find out.
            polled: Polled::new(self.check_ms.clone()),
        }))
    }

    fn configure(&self, settings: &StoreSettings) {
        self.settings.store(Arc::new(settings.clone()));
        self.check_ms.store(settings.check_interval.as_millis().min(u64::MAX as u128) as u64, Ordering::Relaxed);
    }

    fn triage(&self, problem: &Error) -> Option<Level> {
        let auth = problem.message.contains(AUTH_FAILED);
        let (last, level) = if auth { (&self.last_auth_error, Level::Error) } else { (&self.last_warned, Level::Warn) };
        let now = steady_ms();
        let before = last.load(Ordering::Relaxed);
        if before != 0 && now.saturating_sub(before) < LOG_EVERY_MS {
            return None;
        }
        last.compare_exchange(before, now, Ordering::Relaxed, Ordering::Relaxed).ok().map(|_| level)
    }
}

/// Said of every refused password or ACL user: `triage` logs those at error level.
const AUTH_FAILED: &str = "authentication failed";

/// One key in Redis.
struct RedisSlot {
    client: Arc<RedisClient>,
    settings: Arc<arc_swap::ArcSwap<StoreSettings>>,
    token_key: String,
    lock_key: String,
    polled: Polled,
}

impl RedisSlot {
    fn failure(&self, f: RedisFailure) -> Error {
        let mut e = error(f.message);
        if f.kind == FailureKind::Auth && !e.message.contains(AUTH_FAILED) {
            e.message = format!("{}: {AUTH_FAILED}", e.message);
        }
        e
    }

    /// How long the lock outlives a holder that died: the request's deadline for every try,
    /// plus the waits between tries (Retry-After is capped at 5 s), plus a margin.
    fn lock_ttl(s: &StoreSettings) -> Duration {
        let tries = s.max_retries + 1;
        s.timeout.saturating_mul(tries) + crate::transport::MAX_RETRY_AFTER.saturating_mul(s.max_retries) + LOCK_MARGIN
    }
}

impl Slot for RedisSlot {
    #[inline]
    fn generation(&self) -> u64 {
        self.polled.generation()
    }

    #[inline]
    fn check_due(&self, now: &Coarse) -> bool {
        self.polled.check_due(now)
    }

    fn load(&self) -> Result<Loaded> {
        let settings = connect_settings(&self.settings.load());
        // (the connection's backoff spaces reconnects further than the interval)
        self.polled.checked();
        // One byte more than a record may have: a larger value is not a record (no token), and
        // is not read whole.
        let record = self.client.get_capped(&settings, &self.token_key, super::MAX_RECORD_BYTES + 1).map_err(|f| self.failure(f))?;
        let generation = self.polled.observe(record.as_deref());
        Ok(Loaded { record, generation })
    }

    fn lock(&self, timeout: Duration) -> Result<Option<Box<dyn SlotLock + '_>>> {
        let store_settings = self.settings.load_full();
        let settings = connect_settings(&store_settings);
        let ttl = Self::lock_ttl(&store_settings);
        let owner = owner_token();
        let deadline = Instant::now() + timeout;
        // Waiters poll: 2 ms, doubling to 50 ms (a flight takes a round trip to Flexiti).
        let mut pause = Duration::from_millis(2);
        // None: the lock was free at the first attempt; Some: the record's generation then.
        let mut held_at = None;
        loop {
            let taken = if held_at.is_none() {
                match self.client.try_lock_or_peek(&settings, &self.lock_key, &owner, ttl, &self.token_key, super::MAX_RECORD_BYTES + 1).map_err(|f| self.failure(f))? {
                    LockTry::Taken => true,
                    LockTry::Held(record) => {
                        held_at = Some(self.polled.observe(record.as_deref()));
                        false
                    }
                }
            } else {
                self.client.try_lock(&settings, &self.lock_key, &owner, ttl).map_err(|f| self.failure(f))?
            };
            if taken {
                let wait = held_at.map_or(LockWait::Free, LockWait::HeldAt);
                return Ok(Some(Box::new(RedisLock { slot: self, owner, settings, released: false, wait })));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(None);
            }
            std::thread::sleep(pause.min(deadline - now));
            pause = (pause * 2).min(Duration::from_millis(50));
        }
    }

    fn location(&self) -> String {
        format!("{} key {}", self.client.target.describe(), quote(&self.token_key))
    }
}

/// The key's lock in Redis, held by `owner`; released (compare-and-delete) on drop.
struct RedisLock<'a> {
    slot: &'a RedisSlot,
    owner: String,
    settings: ConnectSettings,
    /// Released with the write (the store is a flight's last step under the lock).
    released: bool,
    wait: LockWait,
}

impl SlotLock for RedisLock<'_> {
    fn wait(&self) -> LockWait {
        self.wait
    }

    fn store(&mut self, record: &[u8]) -> Result<u64> {
        // A record without a known lifetime lives as long as a Flexiti token at most.
        self.store_expiring(record, Duration::from_secs(1200))
    }

    fn store_expiring(&mut self, record: &[u8], lifetime: Duration) -> Result<u64> {
        let slot = self.slot;
        // Storing is the last thing a flight does under the lock: the write and the release go
        // in one script (one round trip instead of two).
        let written = slot
            .client
            .write_and_release(&self.settings, &slot.lock_key, &self.owner, &slot.token_key, record, lifetime)
            .map_err(|f| slot.failure(f))?;
        self.released = written;
        if !written {
            return Err(error(format!(
                "{}: the lock expired before the token could be written (the request outlived the lock's TTL); not stored, so no newer token is overwritten",
                slot.location()
            )));
        }
        Ok(slot.polled.observe(Some(record)))
    }
}

impl Drop for RedisLock<'_> {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        // A failure here leaves the lock to expire by its TTL.
        let _ = self.slot.client.release(&self.settings, &self.slot.lock_key, &self.owner);
    }
}

/// A random owner token for the lock: 128 bits, hex.
pub fn owner_token() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // Unique enough without the OS generator: pid, time and a counter.
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0) as u64;
        b[..8].copy_from_slice(&(t ^ ((std::process::id() as u64) << 32)).to_le_bytes());
        b[8..].copy_from_slice(&N.fetch_add(1, Ordering::Relaxed).to_le_bytes());
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The trust anchors for `rediss://` as PEM (what redis-rs takes): the public roots the HTTPS
/// transport trusts, plus `ca_file`'s certificates, which add to them rather than replace them.
/// Built once per distinct extra set.
fn roots_pem(extra: Option<&[Vec<u8>]>) -> Vec<u8> {
    use base64::Engine;
    type Entry = (Vec<Vec<u8>>, Arc<Vec<u8>>);
    static CACHE: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());
    let extra = extra.unwrap_or(&[]);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, pem)) = cache.iter().find(|(k, _)| k.as_slice() == extra) {
        return pem.as_ref().clone();
    }
    let mut pem = String::new();
    let ders = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|c| c.as_ref()).chain(extra.iter().map(|c| c.as_slice()));
    for der in ders {
        pem.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(der);
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(std::str::from_utf8(line).unwrap_or_default());
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
    }
    let pem = Arc::new(pem.into_bytes());
    if cache.len() >= 4 {
        cache.remove(0);
    }
    cache.push((extra.to_vec(), pem.clone()));
    pem.as_ref().clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse() {
        let t = RedisTarget::parse("redis://127.0.0.1").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port, t.db, t.username.as_deref(), t.password(), t.prefix.as_str()), (false, "127.0.0.1", 6379, 0, None, None, ""));
        let t = RedisTarget::parse("rediss://shop:p%40ss%2Fw:rd@Cache.Example:6380/3?prefix=shop1:").unwrap();
        assert_eq!((t.tls, t.host.as_str(), t.port, t.db, t.username.as_deref(), t.password(), t.prefix.as_str()), (true, "cache.example", 6380, 3, Some("shop"), Some("p@ss/w:rd"), "shop1:"));
        let t = RedisTarget::parse("redis://:secret@[::1]:7000/").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.username.as_deref(), t.password()), ("::1", 7000, None, Some("secret")));
        assert_eq!(t.describe(), "Redis at [::1]:7000");
        assert_eq!(t.token_key("ab"), "flexiti-auth:{ab}:token");
        let t = RedisTarget::parse("REDIS://h/2?prefix=a%3Ab").unwrap();
        assert_eq!((t.db, t.prefix.as_str()), (2, "a:b"));
        assert_eq!(t.lock_key("ab"), "a:bflexiti-auth:{ab}:lock");
        assert!(RedisTarget::is_redis_url(" rediss://x") && !RedisTarget::is_redis_url("/var/lib/x"));
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_the_password() {
        for url in [
            "redis://", "redis://:pw-secret-1@", "redis://u:pw-secret-1@host:0", "redis://u:pw-secret-1@host:99999", "redis://u:pw-secret-1@host:12a",
            "redis://u:pw-secret-1@host/x", "redis://u:pw-secret-1@host?db=1", "redis://u:pw-secret-1@ho st", "redis://u:pw-secret-1@host#frag",
            "http://u:pw-secret-1@host", "redis://u:pw-secret-1@[::1", "redis://u:pw-secret-1@host\n", "redis://u%FF:pw-secret-1@host",
            "redis://u%20x:pw-secret-1@host", "redis://u:pw-secret-1%FF@host",
        ] {
            let e = RedisTarget::parse(url).map(|_| url).unwrap_err();
            assert_eq!(e.status, crate::FlxStatus::FLX_ERR_INVALID_ARGUMENT, "{url}");
            assert!(e.message.contains("token_store"), "{}", e.message);
            assert!(!e.message.contains("pw-secret-1"), "{}", e.message);
        }
    }

    #[test]
    fn a_user_without_a_password_is_a_nopass_acl_user() {
        for url in ["redis://farm@127.0.0.1:7000", "redis://farm:@127.0.0.1:7000"] {
            let t = RedisTarget::parse(url).unwrap();
            assert_eq!((t.username.as_deref(), t.password(), t.port), (Some("farm"), None, 7000), "{url}");
            assert_eq!(t.describe(), "Redis at 127.0.0.1:7000 (user \"farm\")");
        }
        let t = RedisTarget::parse("redis://sh%40p@h").unwrap();
        assert_eq!((t.username.as_deref(), t.password()), (Some("sh@p"), None));
    }

    #[test]
    fn owner_tokens_differ() {
        let a = owner_token();
        assert_eq!(a.len(), 32);
        assert_ne!(a, owner_token());
    }
}
