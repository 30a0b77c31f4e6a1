//! Token stores: where processes on one machine (or machines of one farm) share one token per
//! key, and the lock that makes their requests one flight.
//!
//! One small interface ([`TokenStore`] opening a [`Slot`] per key) with one file per backend:
//! `file.rs` (a directory on this machine), `redis.rs` (a Redis or Valkey shared by the machines
//! of a web farm; only with the `redis` cargo feature); no store (`none`) is the in-process case, where the
//! client simply holds no [`Binding`]. What every backend shares lives here: the key derivation
//! (api_url + token path + client_id + scope, hashed), and the sealing of records (HKDF-SHA256
//! from the client secret, ChaCha20-Poly1305), so a backend only ever sees opaque bytes.
//!
//! The flight itself stays in client.rs: under its in-process flight lock the client calls
//! [`Binding::begin`] (take the store's lock for the key, re-read the record), decides, requests,
//! and hands the result to [`Turn::finish`] (write it, release the lock).

pub mod file;
#[cfg(feature = "redis")]
pub mod redis;

use crate::clock::{Coarse, Now};
use crate::error::{quote, Error, FlxStatus, Result};
use crate::log::Level;
use crate::secret::wipe;
use crate::session;
use crate::token::{Decision, HeldToken};
use ring::{aead, digest, hkdf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A backend: a place that holds one sealed record per key.
///
/// Contract, for every backend (file, redis):
/// - [`TokenStore::open`] returns the [`Slot`] of one key; a client opens it once (and again
///   when its key changes) and keeps it.
/// - Records are opaque bytes (sealed by [`Binding`]); a backend never interprets them.
/// - A slot's lock is exclusive across every process (and machine) sharing the store, is
///   released when the [`SlotLock`] guard drops, and is released by the backend when its holder
///   dies (the kernel drops a flock; a redis lock expires).
/// - [`Slot::store`] writes atomically: a reader sees the old record or the new one, never a mix.
/// - [`Slot::generation`] changes (at the latest, for backends that poll, after their check
///   interval) whenever a record is stored for the key; it must be cheap (no I/O on the file
///   store), because the cached path calls it on every call.
pub trait TokenStore: Send + Sync {
    /// The store as configured, for messages (never holds a secret).
    fn describe(&self) -> &str;
    /// The slot of one key (`key` is a lower-case hex digest, safe in file names).
    fn open(&self, key: &str) -> Result<Box<dyn Slot>>;
    /// The client's options that concern a networked store (timeouts, retries, trust anchors,
    /// check interval), given again whenever an option is set. No I/O.
    fn configure(&self, _settings: &StoreSettings) {}
    /// How a problem this store reported is logged: at which level, or not at all (a store
    /// that reports the same outage on every call logs it at most once a minute).
    fn triage(&self, _problem: &Error) -> Option<Level> {
        Some(Level::Warn)
    }
}

/// What a networked store takes from the client's options.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    pub connect_timeout: Duration,
    /// The token request's deadline (timeout_ms): bounds a store command too.
    pub timeout: Duration,
    pub max_retries: u32,
    /// `ca_file`'s certificates (DER), added to the public roots.
    pub extra_roots: Option<Arc<Vec<Vec<u8>>>>,
    /// `store_check_ms`: how long the cached path trusts what it last read from a store that
    /// cannot signal a change by itself.
    pub check_interval: Duration,
}

impl std::fmt::Debug for dyn TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.describe())
    }
}

/// One key's record in a store.
pub trait Slot: Send + Sync {
    /// A number that changes whenever a record is stored for this key. Cheap; no I/O.
    fn generation(&self) -> u64;
    /// For a backend that learns of changes by reading (redis): true once its check interval
    /// has passed (at `now`) since the record was last read, so the cached path reads it again.
    /// No I/O.
    fn check_due(&self, now: &Coarse) -> bool {
        let _ = now;
        false
    }
    /// `generation() == seen && !check_due(now)`: no record stored since `seen` and none due to
    /// be read again (one dynamic call on the cached path instead of two).
    #[inline]
    fn unchanged_since(&self, seen: u64, now: &Coarse) -> bool {
        self.generation() == seen && !self.check_due(now)
    }
    /// The record now, without the lock (a reader never sees a torn record), with the
    /// generation read before it. `Ok(None)`: no record.
    fn load(&self) -> Result<Loaded>;
    /// Take the key's lock, waiting at most `timeout`. `Ok(None)`: still held by another after
    /// `timeout`. `Duration::ZERO`: try once.
    fn lock(&self, timeout: Duration) -> Result<Option<Box<dyn SlotLock + '_>>>;
    /// Where the record lives, for messages (e.g. the file's path).
    fn location(&self) -> String;
}

/// What a lock's holder knows of the wait that came before it, to tell a record stored during
/// this call's wait (another process's flight: its result is taken) from one stored before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockWait {
    /// The backend's generation is always current (file): the caller's generation from the
    /// start of the call is the baseline.
    Untracked,
    /// The lock was free at the first attempt: nothing was stored during a wait (a backend that
    /// learns of records only by reading them, whose generation at the start of the call may
    /// be out of date by up to its check interval).
    Free,
    /// The lock was held at the first attempt; the record then had this generation (read in the
    /// same step as the attempt).
    HeldAt(u64),
}

/// The lock of one key, released on drop.
pub trait SlotLock {
    /// See [`LockWait`].
    fn wait(&self) -> LockWait {
        LockWait::Untracked
    }
    /// Replace the record (atomically) while holding the lock; returns the new generation.
    fn store(&mut self, record: &[u8]) -> Result<u64>;
    /// The same, for a backend that expires records itself (redis): `lifetime` is how long the
    /// token in the record stays usable.
    fn store_expiring(&mut self, record: &[u8], lifetime: Duration) -> Result<u64> {
        let _ = lifetime;
        self.store(record)
    }
}

/// A record as read: its bytes, and the generation read before reading it.
pub struct Loaded {
    pub record: Option<Vec<u8>>,
    pub generation: u64,
}

/// Steady milliseconds from a cheap clock, never 0 (the cached path of a polling backend reads it
/// on every call: a coarse clock is a memory read).
#[cfg(any(feature = "redis", windows))]
pub(crate) fn steady_ms() -> u64 {
    if let Some(ms) = Coarse::read().steady_ms() {
        return ms;
    }
    static START: once_cell::sync::Lazy<std::time::Instant> = once_cell::sync::Lazy::new(std::time::Instant::now);
    START.elapsed().as_millis() as u64 + 1
}

/// What a backend that learns of records only by reading them (Redis; the file store on
/// Windows) keeps of its key: a generation bumped whenever a read or a write finds a record other
/// than the last one seen, and when it last read, so that the cached path reads again once
/// `store_check_ms` has passed (`Slot::generation` and `Slot::check_due` of such a backend).
#[cfg(any(feature = "redis", windows))]
pub(crate) struct Polled {
    /// `store_check_ms`, shared with every key of the store.
    check_ms: Arc<AtomicU64>,
    generation: AtomicU64,
    /// The record last read or written (sealed bytes, each with its own nonce: every store
    /// differs), None before the first read.
    seen: std::sync::Mutex<Option<Option<Vec<u8>>>>,
    /// `steady_ms` of the last read (or attempt), or write.
    checked_at: AtomicU64,
}

#[cfg(any(feature = "redis", windows))]
impl Polled {
    /// Counted as checked now: Binding::new must not do I/O, the first call that needs the
    /// record reads it.
    pub fn new(check_ms: Arc<AtomicU64>) -> Polled {
        Polled {
            check_ms,
            generation: AtomicU64::new(1),
            seen: std::sync::Mutex::new(None),
            checked_at: AtomicU64::new(steady_ms()),
        }
    }

    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Has `store_check_ms` passed since the last read (at `now`, the coarse monotonic clock
    /// steady_ms reads, already read by the caller where it has one)?
    #[inline]
    pub fn check_due(&self, now: &Coarse) -> bool {
        let now = now.steady_ms().unwrap_or_else(steady_ms);
        now.saturating_sub(self.checked_at.load(Ordering::Relaxed)) >= self.check_ms.load(Ordering::Relaxed)
    }

    /// A read (or write) of the record starts now: counted even if it fails, so an outage is
    /// tried again after the interval, not on every call.
    pub fn checked(&self) {
        self.checked_at.store(steady_ms(), Ordering::Relaxed);
    }

    /// Note a record read or written: a different one than last seen is a new generation.
    pub fn observe(&self, record: Option<&[u8]>) -> u64 {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        let changed = match &*seen {
            Some(prev) => prev.as_deref() != record,
            None => true,
        };
        if changed {
            *seen = Some(record.map(<[u8]>::to_vec));
            self.generation.fetch_add(1, Ordering::AcqRel).wrapping_add(1)
        } else {
            self.generation.load(Ordering::Acquire)
        }
    }
}

/// Open a store from the `token_store` option's value: `Ok(None)` for "" or "none".
pub fn open(spec: &str) -> Result<Option<Arc<dyn TokenStore>>> {
    let v = spec.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("none") {
        return Ok(None);
    }
    if redis_url(v) {
        #[cfg(feature = "redis")]
        return Ok(Some(Arc::new(redis::RedisStore::open(v)?)));
        #[cfg(not(feature = "redis"))]
        return Err(Error::invalid(
            "option token_store: this build of flexiti-auth has no Redis support (built without the `redis` feature); use file:/absolute/dir or none",
        ));
    }
    let path = v.strip_prefix("file:").unwrap_or(v);
    if v.contains("://") && !v.starts_with("file:") {
        return Err(Error::invalid(format!(
            "option token_store: {} is not a store this version knows (file:/absolute/dir, an absolute directory path, redis://host[:port][/db], rediss://..., or none)",
            quote(v)
        )));
    }
    Ok(Some(Arc::new(file::FileStore::open(path)?)))
}

/// `redis://…` or `rediss://…`.
fn redis_url(v: &str) -> bool {
    let lower = v.get(..9).unwrap_or(v).to_ascii_lowercase();
    lower.starts_with("redis://") || lower.starts_with("rediss://")
}

/// A store error that reaches the caller, or is counted (`store_errors`).
pub fn error(message: impl Into<String>) -> Error {
    Error::new(FlxStatus::FLX_ERR_STORE, message)
}

/// The digest naming one key in a store: api_url + token path + client_id + scope.
pub fn key_id(api_url: &str, token_path: &str, client_id: &str, scope: Option<&str>) -> String {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in ["flexiti-auth token store key v1", api_url, token_path.trim_start_matches('/'), client_id, scope.unwrap_or("")] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    hex(ctx.finish().as_ref())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const MAGIC: &[u8; 8] = b"FLXTOK\x01\x00";
const NONCE_LEN: usize = 12;
/// A record holds one token response (capped at 1 MiB like the session JSON) plus framing.
pub const MAX_RECORD_BYTES: usize = session::MAX_SESSION_BYTES + 4096;

/// Seals and opens records for one key with a key derived from the client secret.
struct Sealer {
    key: aead::LessSafeKey,
    aad: Vec<u8>,
}

impl Sealer {
    fn new(client_secret: &str, key_id: &str) -> Sealer {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, b"flexiti-auth token store v1");
        let info = [key_id.as_bytes()];
        let prk = salt.extract(client_secret.as_bytes());
        let okm = prk.expand(&info, &aead::CHACHA20_POLY1305).expect("HKDF output of one AEAD key");
        let key = aead::LessSafeKey::new(aead::UnboundKey::from(okm));
        let mut aad = MAGIC.to_vec();
        aad.extend_from_slice(key_id.as_bytes());
        Sealer { key, aad }
    }

    fn seal(&self, plain: &[u8]) -> Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce).map_err(|e| error(format!("no random nonce for the store record: {e}")))?;
        let mut out = Vec::with_capacity(MAGIC.len() + NONCE_LEN + plain.len() + aead::CHACHA20_POLY1305.tag_len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&nonce);
        let start = out.len();
        out.extend_from_slice(plain);
        let mut body = out.split_off(start);
        self.key
            .seal_in_place_append_tag(aead::Nonce::assume_unique_for_key(nonce), aead::Aad::from(&self.aad), &mut body)
            .map_err(|_| error("cannot seal the store record"))?;
        out.extend_from_slice(&body);
        wipe(&mut body);
        Ok(out)
    }

    /// The plaintext, or None for anything that is not a record sealed for this key with this
    /// secret (empty, truncated, corrupt, tampered, another key's or another secret's).
    fn open(&self, record: &[u8]) -> Option<Vec<u8>> {
        let rest = record.strip_prefix(MAGIC.as_slice())?;
        if rest.len() < NONCE_LEN + aead::CHACHA20_POLY1305.tag_len() {
            return None;
        }
        let nonce = aead::Nonce::try_assume_unique_for_key(&rest[..NONCE_LEN]).ok()?;
        let mut body = rest[NONCE_LEN..].to_vec();
        match self.key.open_in_place(nonce, aead::Aad::from(&self.aad), &mut body) {
            Ok(plain) => {
                let n = plain.len();
                body.truncate(n);
                Some(body)
            }
            Err(_) => {
                wipe(&mut body);
                None
            }
        }
    }
}

/// A token as the store holds it, with the decision that obtained it.
pub struct Stored {
    pub token: Arc<HeldToken>,
    pub decision: Decision,
    pub generation: u64,
}

/// The plaintext of a record: the session JSON with the decision as its first member,
/// `{"decision":"refreshed","token":{…},"created_at":N,"expires_in":N}` (session import ignores
/// the extra member). Spliced, not re-parsed: the record is only ever read by this module.
fn encode(token: &HeldToken, decision: Decision) -> Result<Vec<u8>> {
    let mut session = session::export(token)?;
    let body = session.strip_prefix('{').ok_or_else(|| Error::internal("session JSON is not an object"))?;
    let mut out = format!("{{\"decision\":\"{}\",", decision.name()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    // SAFETY: zero bytes keep the string valid UTF-8; it is dropped right after.
    wipe(unsafe { session.as_bytes_mut() });
    Ok(out)
}

fn decode(plain: &[u8], now: Now) -> Option<(HeldToken, Decision)> {
    let text = std::str::from_utf8(plain).ok()?;
    let token = session::import(text, now).ok()?;
    let decision = [Decision::Refresh, Decision::Fallback]
        .into_iter()
        .find(|d| text.starts_with(&format!("{{\"decision\":\"{}\",", d.name())))
        .unwrap_or(Decision::New);
    Some((token, decision))
}

/// One client's view of its key in a store: the slot, the sealer, and the generation whose
/// record the client's held token reflects.
pub struct Binding {
    slot: Box<dyn Slot>,
    sealer: Sealer,
    seen: AtomicU64,
    /// The store this binding was made from, and the key's inputs (to tell when the client
    /// must make a new one).
    pub store: Arc<dyn TokenStore>,
    pub scope: Option<String>,
    pub token_path: String,
}

/// What a problem with the store did, for the caller to count and log (never a secret inside).
pub type Problems = Vec<Error>;

impl Binding {
    pub fn new(store: &Arc<dyn TokenStore>, api_url: &str, token_path: &str, client_id: &str, scope: Option<&str>, client_secret: &str) -> Result<Binding> {
        let id = key_id(api_url, token_path, client_id, scope);
        let slot = store.open(&id)?;
        let seen = AtomicU64::new(slot.generation().wrapping_sub(1));
        Ok(Binding {
            sealer: Sealer::new(client_secret, &id),
            slot,
            seen,
            store: store.clone(),
            scope: scope.map(str::to_owned),
            token_path: token_path.to_owned(),
        })
    }

    /// True when no record was stored since the client last synchronised with the store: the
    /// cached path may hand out its held token. No I/O.
    #[inline]
    pub fn unchanged(&self, now: &Coarse) -> bool {
        self.slot.unchanged_since(self.seen.load(Ordering::Acquire), now)
    }

    pub fn generation(&self) -> u64 {
        self.slot.generation()
    }

    /// The store is one read only by polling (redis) and its check interval has passed: what
    /// this client last read of it may be out of date. No I/O.
    pub fn stale(&self) -> bool {
        self.slot.check_due(&Coarse::read())
    }

    /// The stored token, read without the lock (for cached calls after the store changed).
    /// Anything unreadable is "no token"; a store that cannot be read is a problem.
    pub fn peek(&self, problems: &mut Problems) -> Option<Stored> {
        self.read(problems)
    }

    fn read(&self, problems: &mut Problems) -> Option<Stored> {
        let loaded = match self.slot.load() {
            Ok(l) => l,
            Err(e) => {
                // Counted once per generation, not once per cached call.
                self.seen.store(self.slot.generation(), Ordering::Release);
                problems.push(e);
                return None;
            }
        };
        // Whatever was found, this generation has been seen: an untrusted or corrupt record is
        // not re-read on every call, only after the next store.
        self.seen.store(loaded.generation, Ordering::Release);
        let mut record = loaded.record?;
        let plain = self.sealer.open(&record);
        wipe(&mut record);
        let Some(mut plain) = plain else {
            problems.push(Error::new(
                FlxStatus::FLX_ERR_SESSION,
                format!("{} is not a record this client can open (empty, truncated, corrupt, another key's, or sealed with another client secret): treated as no token", self.slot.location()),
            ));
            return None;
        };
        let decoded = decode(&plain, Now::read());
        wipe(&mut plain);
        let (token, decision) = decoded?;
        Some(Stored { token: Arc::new(token), decision, generation: loaded.generation })
    }

    /// Start this process's turn in the key's cross-process flight: take the store's lock
    /// (waiting at most `timeout`) and read the record as it is now. `generation_before` is the
    /// generation read when the call began: a record stored since then was stored during this
    /// call's wait.
    pub fn begin(&self, timeout: Duration, generation_before: u64, problems: &mut Problems) -> Turn<'_> {
        let (lock, timed_out) = match self.slot.lock(timeout) {
            Ok(Some(l)) => (Some(l), false),
            Ok(None) => (None, true),
            Err(e) => {
                problems.push(e);
                (None, false)
            }
        };
        let before = problems.len();
        let stored = if lock.is_some() { self.read(problems) } else { None };
        // A record that could not be read (not trusted: another owner, broader permissions) is
        // left as found: this process goes on with a token of its own.
        let unreadable = problems[before..].iter().any(|e| e.status == FlxStatus::FLX_ERR_STORE);
        // Stored during this call's wait: another process's flight, whose result is taken. A
        // call that found the lock free waited on no one: a use_cache=false call then sends its
        // own refresh, even if another process stored a token a moment before.
        let baseline = match lock.as_ref().map(|l| l.wait()) {
            Some(LockWait::Untracked) => Some(generation_before),
            Some(LockWait::HeldAt(g)) => Some(g),
            Some(LockWait::Free) | None => None,
        };
        let during_wait = stored.as_ref().zip(baseline).is_some_and(|(s, g)| s.generation != g);
        Turn { binding: self, lock, stored, during_wait, timed_out, unreadable }
    }
}

/// One process's turn in a key's flight, holding the store's lock when it could be taken.
pub struct Turn<'a> {
    binding: &'a Binding,
    lock: Option<Box<dyn SlotLock + 'a>>,
    /// The token in the store under the lock (None: none, unreadable, or no lock).
    pub stored: Option<Stored>,
    /// That token was stored by another process while this call waited.
    pub during_wait: bool,
    /// Another process held the lock for the whole timeout: this call must not use a refresh
    /// token (the other may be using it), only client_credentials.
    pub timed_out: bool,
    unreadable: bool,
}

impl Turn<'_> {
    /// Whether this turn holds the store's lock.
    pub fn locked(&self) -> bool {
        self.lock.is_some()
    }

    /// Write the flight's token to the store and release the lock. Without the lock (after a
    /// timeout), the token is stored only if the lock can be taken now.
    pub fn finish(mut self, token: &HeldToken, decision: Decision, problems: &mut Problems) -> Option<u64> {
        if self.unreadable {
            return None;
        }
        if self.lock.is_none() && self.timed_out {
            match self.binding.slot.lock(Duration::ZERO) {
                Ok(l) => self.lock = l,
                Err(e) => problems.push(e),
            }
        }
        let lock = self.lock.as_mut()?;
        let result = encode(token, decision).and_then(|mut plain| {
            let sealed = self.binding.sealer.seal(&plain);
            wipe(&mut plain);
            sealed
        });
        match result.and_then(|mut sealed| {
            // The token's own remaining life: a store that expires records drops it then.
            let left = token.expires_in as i128 - token.age(Now::read());
            let r = lock.store_expiring(&sealed, Duration::from_secs(left.clamp(1, 366 * 86_400) as u64));
            wipe(&mut sealed);
            r
        }) {
            Ok(generation) => {
                self.binding.seen.store(generation, Ordering::Release);
                Some(generation)
            }
            Err(e) => {
                problems.push(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_records_open_only_for_their_key_and_secret() {
        let a = Sealer::new("secret-a", &key_id("http://127.0.0.1:1", "p", "client", None));
        let sealed = a.seal(b"hello token").unwrap();
        assert!(!sealed.windows(5).any(|w| w == b"hello"));
        assert_eq!(a.open(&sealed).as_deref(), Some(&b"hello token"[..]));
        let other_secret = Sealer::new("secret-b", &key_id("http://127.0.0.1:1", "p", "client", None));
        assert_eq!(other_secret.open(&sealed), None);
        let other_key = Sealer::new("secret-a", &key_id("http://127.0.0.1:1", "p", "client", Some("merchant")));
        assert_eq!(other_key.open(&sealed), None);
        for cut in [0, 1, 8, 20, sealed.len() - 1] {
            assert_eq!(a.open(&sealed[..cut]), None, "{cut}");
        }
        let mut tampered = sealed.clone();
        let last = tampered.len() - 20;
        tampered[last] ^= 1;
        assert_eq!(a.open(&tampered), None);
    }

    #[test]
    fn records_carry_the_token_and_its_decision() {
        let t = HeldToken::from_response(
            serde_json::json!({"access_token":"a-token","refresh_token":"r-token","expires_in":1200,"note":{"decision":"refreshed"}}).as_object().unwrap().clone(),
            1000,
            1000,
        )
        .unwrap();
        let now = Now { wall: 1100, steady: 1100 };
        for d in [Decision::New, Decision::Refresh, Decision::Fallback] {
            let (back, decision) = decode(&encode(&t, d).unwrap(), now).unwrap();
            assert_eq!(decision, d);
            assert_eq!(back.access_token, "a-token");
            assert_eq!(back.refresh_token.as_deref(), Some("r-token"));
            assert_eq!(back.created_at, 1000);
        }
        assert!(decode(b"{}", now).is_none());
    }

    #[test]
    fn keys_differ_per_input() {
        let k = |u: &str, c: &str, s: Option<&str>| key_id(u, "flexiti/online-api/oauth/token", c, s);
        assert_ne!(k("https://a/", "c", None), k("https://b/", "c", None));
        assert_ne!(k("https://a/", "c", None), k("https://a/", "d", None));
        assert_ne!(k("https://a/", "c", None), k("https://a/", "c", Some("merchant")));
        assert_ne!(k("https://a/", "cx", None), k("https://a/c", "x", None));
        assert_eq!(k("https://a/", "c", None).len(), 64);
    }
}
