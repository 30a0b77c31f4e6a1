//! The token client: holds one token, decides per call whether to reuse, refresh or replace it,
//! and makes sure concurrent callers share one request (single flight).

use crate::clock::{Coarse, Now};
use crate::fork::{fork_generation, ForkLock};
use crate::error::{redact, Error, FlxStatus, Result};
use crate::log::{token_hint, Deferred, Level, Logger};
use crate::options::{Affects, Options};
use crate::stats::{bump, Stats};
use crate::secret::SecretString;
use crate::session;
use crate::store::{Binding, Problems};
use crate::token::{decide, Decision, HeldToken};
use crate::transport::{form_encode, Endpoint, Observer, TokenRequest, Transport};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

type Outcome = Result<(Arc<HeldToken>, Decision)>;

struct Inner {
    options: Options,
    token: Option<Arc<HeldToken>>,
    /// The held refresh token went out in a request whose outcome is unknown: do not resend it.
    refresh_spent: bool,
    /// Built lazily; dropped when transport options change or the process forks.
    transport: Option<Arc<Transport>>,
    fork_generation: u64,
    /// The process these connections and this flight belong to.
    pid: u32,
    /// Entered by the one caller talking to the token endpoint; others wait for its outcome.
    flight: Arc<Flight>,
    /// Number of completed flights, and the last one's outcome, shared with those who waited.
    flight_seq: u64,
    last_outcome: Option<Outcome>,
    /// The store generation of the record the held token came from or went to (token_store).
    store_generation: Option<u64>,
    /// An access token the POS-API refused as invalid_token (flx_request): never held again,
    /// even when a token store still holds it.
    rejected_access_token: Option<String>,
    /// The string each option was last set from (by its index in OPTION_NAMES; bit i of
    /// `applied_set` says whether entry i holds one), for options whose value depends on that
    /// string alone: setting one again to the same string returns at once (a persistent handle
    /// gets its options set by every PHP request). Every byte of this vector's block is written
    /// (no spare capacity), so releasing it releases nothing left over from earlier use.
    applied: Vec<String>,
    applied_set: u64,
    /// Told of every change of `token`, in order (called with the state lock held): the C
    /// surface republishes the token beside the handle (see set_publisher).
    publisher: Option<Publisher>,
}

/// See [`Client::set_publisher`].
pub type Publisher = Box<dyn Fn(Option<Arc<HeldToken>>) + Send + Sync>;

// Inner::applied_set has one bit per option.
const _: () = assert!(crate::options::OPTION_NAMES.len() <= 64);

impl Inner {
    /// After fork() the child must neither reuse the parent's pooled sockets nor wait on a
    /// flight whose owner thread does not exist in the child.
    /// Both signs are checked: the fork handler's generation (cheap), and the pid, for a child
    /// made without the C library's fork() (a raw clone), where no handler ran. Request path only.
    fn leave_parent_behind(&mut self) {
        let generation = fork_generation();
        let pid = std::process::id();
        if generation != self.fork_generation || pid != self.pid {
            self.fork_generation = generation;
            self.pid = pid;
            self.transport = None;
            self.flight = Arc::new(Flight::default());
            self.last_outcome = None;
        }
    }
}

/// The state lock is std's (see fork.rs: the child must be able to release it).
type StateLock = Mutex<Inner>;

/// Single flight: at most one caller at a time talks to the token endpoint; the others wait for
/// it, at most until their own deadline. Built on std's mutex like the state lock (no
/// process-wide wait table a fork child could inherit locked), which is held only to flip the
/// flag, never during a request.
#[derive(Default)]
struct Flight {
    busy: Mutex<bool>,
    done: Condvar,
}

/// The turn of the caller inside the flight; leaving wakes the waiters.
struct FlightTurn<'a>(&'a Flight);

impl Flight {
    /// Wait for the flight to be free and enter it, or None once `deadline` has passed.
    fn enter(&self, deadline: Instant) -> Option<FlightTurn<'_>> {
        let mut busy = self.busy.lock().unwrap_or_else(|e| e.into_inner());
        while *busy {
            let left = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())?;
            busy = self.done.wait_timeout(busy, left).unwrap_or_else(|e| e.into_inner()).0;
        }
        *busy = true;
        Some(FlightTurn(self))
    }
}

impl Drop for FlightTurn<'_> {
    fn drop(&mut self) {
        *self.0.busy.lock().unwrap_or_else(|e| e.into_inner()) = false;
        self.0.done.notify_all();
    }
}

fn lock_state(m: &StateLock) -> std::sync::MutexGuard<'_, Inner> {
    // A panic while holding it is caught at the C boundary; the state is still consistent
    // (every update is a single assignment), so poisoning is not an error here.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl ForkLock for StateLock {
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()> {
        let guard = lock_state(&self);
        // SAFETY: the Arc moved into the closure keeps the mutex alive past the guard, which the
        // closure drops first.
        let guard: std::sync::MutexGuard<'static, Inner> = unsafe { std::mem::transmute(guard) };
        Box::new(move || {
            drop(guard);
            drop(self);
        })
    }
}

pub struct Client {
    endpoint: Endpoint,
    client_id: String,
    client_secret: SecretString,
    inner: Arc<StateLock>,
    /// The held token again, for the cached path to read without the state lock: threads that
    /// share a handle then share no cache line they write. Stored only with the state lock held,
    /// right after inner.token changes.
    current: arc_swap::ArcSwapOption<HeldToken>,
    /// options.expiration_threshold_secs, for the same path (stored with the state lock held).
    threshold: std::sync::atomic::AtomicI64,
    /// This client's key in its token store (option token_store), for the cached path to check
    /// without the state lock whether another process stored a newer token.
    store: arc_swap::ArcSwapOption<Binding>,
    /// Whether a token_store is configured.
    has_store: std::sync::atomic::AtomicBool,
    /// The binding in `store`, for the cached path to check with plain loads (null: none yet).
    /// Points into `bindings`, which keeps every binding this client made until it is dropped.
    watch: std::sync::atomic::AtomicPtr<Binding>,
    bindings: Mutex<Vec<Arc<Binding>>>,
    /// options.token_store_required, for the paths that run without the state lock.
    store_required: std::sync::atomic::AtomicBool,
    pub logger: Logger,
    pub stats: Stats,
}

/// What one flight sends.
struct Plan {
    transport: Arc<Transport>,
    url: String,
    scope: Option<String>,
    max_retries: u32,
    refresh_token: Option<String>,
    /// Secrets to scrub from any message this flight produces: the held token's, whatever
    /// the decision (an expired token's refresh token is still a secret).
    held_access_token: Option<String>,
    held_refresh_token: Option<String>,
}

/// A plan holds copies of the held tokens: overwritten before release.
impl Drop for Plan {
    fn drop(&mut self) {
        for s in [&mut self.refresh_token, &mut self.held_access_token, &mut self.held_refresh_token].into_iter().flatten() {
            crate::secret::wipe_string(s);
        }
    }
}

impl Client {
    pub fn new(api_url: &str, client_id: &str, client_secret: &str) -> Result<Client> {
        let endpoint = Endpoint::parse(api_url)?;
        if client_id.trim().is_empty() {
            return Err(Error::invalid("client_id is empty"));
        }
        if client_secret.is_empty() {
            return Err(Error::invalid("client_secret is empty"));
        }
        if client_secret.len() < crate::redact::MIN_SECRET {
            // Too short to be redacted from messages without redacting ordinary words with it.
            return Err(Error::invalid(format!(
                "client_secret is {} bytes long: at least {} are required",
                client_secret.len(),
                crate::redact::MIN_SECRET
            )));
        }
        if client_id.chars().any(char::is_control) {
            return Err(Error::invalid("client_id contains control characters"));
        }
        let client = Client {
            current: arc_swap::ArcSwapOption::empty(),
            threshold: std::sync::atomic::AtomicI64::new(Options::default().expiration_threshold_secs),
            endpoint,
            client_id: client_id.to_owned(),
            client_secret: SecretString::new(client_secret.to_owned()),
            inner: Arc::new(Mutex::new(Inner {
                options: Options::default(),
                token: None,
                refresh_spent: false,
                transport: None,
                fork_generation: fork_generation(),
                pid: std::process::id(),
                flight: Arc::new(Flight::default()),
                flight_seq: 0,
                last_outcome: None,
                store_generation: None,
                rejected_access_token: None,
                applied: crate::options::OPTION_NAMES.iter().map(|_| String::new()).collect(),
                applied_set: 0,
                publisher: None,
            })),
            store: arc_swap::ArcSwapOption::empty(),
            has_store: std::sync::atomic::AtomicBool::new(false),
            watch: std::sync::atomic::AtomicPtr::new(std::ptr::null_mut()),
            bindings: Mutex::new(Vec::new()),
            store_required: std::sync::atomic::AtomicBool::new(false),
            logger: Logger::from_env(),
            stats: Stats::default(),
        };
        let lock: Arc<dyn ForkLock> = client.inner.clone();
        crate::fork::register(&lock);
        Ok(client)
    }

    /// The one place the held token changes (state lock held): the state, the lock-free copy the
    /// cached path reads, and the publisher, in that order.
    fn hold(&self, inner: &mut Inner, token: Option<Arc<HeldToken>>) {
        inner.token = token.clone();
        if let Some(publish) = &inner.publisher {
            publish(token.clone());
        }
        self.current.store(token);
    }

    /// Have `publish` told of the held token now (when one is held: its subscriber starts from
    /// none) and of every change from now on, in order (it runs with the state lock held: it
    /// must not call into this client). The C surface keeps the token beside the handle this
    /// way, so its cached path finds both with one load.
    pub fn set_publisher(&self, publish: Publisher) {
        let mut inner = lock_state(&self.inner);
        if inner.token.is_some() {
            publish(inner.token.clone());
        }
        inner.publisher = Some(publish);
    }

    /// Collect a log line built lazily, with every secret this client knows scrubbed from it. It
    /// reaches the sinks when `out` is flushed, which happens only once no lock is held.
    fn log(&self, out: &Deferred, level: Level, extra_secrets: &[&str], line: &dyn Fn() -> String) {
        if self.logger.enabled(level) {
            let mut secrets = vec![self.client_secret.as_str()];
            secrets.extend_from_slice(extra_secrets);
            out.push(level, &redact(&line(), &secrets));
        }
    }

    /// Whether `secret` is this client's secret (compared in constant time).
    pub fn is_client_secret(&self, secret: &str) -> bool {
        use subtle::ConstantTimeEq;
        let mine = self.client_secret.as_str().as_bytes();
        mine.len() == secret.len() && bool::from(mine.ct_eq(secret.as_bytes()))
    }

    fn threshold(&self) -> i64 {
        self.threshold.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Count a cache hit and describe it at debug level, now (call with no lock held).
    fn cache_hit(&self, token: &HeldToken) {
        self.stats.cache_hits.bump();
        if self.logger.enabled(Level::Debug) {
            let out = Deferred::new(&self.logger);
            self.describe_cache_hit(token, &out);
            out.flush();
        }
    }

    fn describe_cache_hit(&self, token: &HeldToken, out: &Deferred) {
        if self.logger.enabled(Level::Debug) {
            let now = Now::read();
            let threshold = self.threshold();
            self.log(out, Level::Debug, &[], &|| {
                format!(
                    "decision=cached access_token {} age {} s, valid for {} s more",
                    token_hint(&token.access_token),
                    token.age(now),
                    token.seconds_left(threshold, now).max(0)
                )
            });
        }
    }

    pub fn set_option(&self, name: &str, value: &str) -> Result<()> {
        match name {
            "log_level" => {
                let level = Level::parse(value)
                    .map_err(|_| Error::invalid("option log_level must be one of off, error, warn, info, debug"))?;
                self.logger.set_level(level);
                return Ok(());
            }
            "log_file" => {
                let path = (!value.is_empty()).then_some(value);
                return self.logger.set_file(path).map_err(|e| Error::invalid(format!("option log_file: cannot open {} for appending: {e}", crate::error::quote(value))));
            }
            _ => {}
        }
        // A CA file is read and parsed before any lock is taken: it may block (a FIFO, a hung
        // network mount), and the state lock is also taken by every other call and by fork().
        let ca_certs = match (name, value) {
            ("ca_file", "") => Some(None),
            ("ca_file", path) => Some(Some(Arc::new(crate::options::read_ca_file(path)?))),
            _ => None,
        };
        // The same for a token store's directory (checked, created): before any lock.
        let store = match name {
            "token_store" if value.trim() == lock_state(&self.inner).options.token_store_spec => return Ok(()),
            "token_store" => Some(crate::store::open(value)?),
            _ => None,
        };
        // ca_file and token_store name files whose state may have changed since: never skipped.
        let slot = crate::options::OPTION_NAMES.iter().position(|n| *n == name).filter(|_| ca_certs.is_none() && store.is_none());
        let mut inner = lock_state(&self.inner);
        if let Some(i) = slot {
            if inner.applied_set & (1 << i) != 0 && inner.applied[i] == value {
                return Ok(());
            }
        }
        let mut options = inner.options.clone();
        let affects = match (ca_certs, store) {
            (Some(certs), _) => {
                options.ca_certs = certs;
                Affects::Transport
            }
            (None, Some(store)) => options.set_token_store(value, store),
            (None, None) => options.set(name, value)?,
        };
        // A value equal to the one in force changes nothing: the store's slot, the transport and
        // its kept-alive connection stay (a PHP request may set its options every time on a
        // persistent handle).
        let key_changed = options.scope != inner.options.scope || options.token_path != inner.options.token_path;
        if affects == Affects::Store || (matches!(name, "scope" | "token_path") && key_changed) {
            // The key's slot is opened again by the next call that needs it (outside the lock).
            self.has_store.store(options.token_store.is_some(), std::sync::atomic::Ordering::Relaxed);
            self.watch.store(std::ptr::null_mut(), std::sync::atomic::Ordering::Release);
            self.store.store(None);
        }
        if affects == Affects::Transport && !options.same_transport(&inner.options) {
            inner.transport = None;
        }
        if let Some(store) = &options.token_store {
            // Timeouts, retries, trust anchors, check interval: for a networked store (no I/O).
            store.configure(&store_settings(&options));
        }
        self.store_required.store(options.token_store_required, std::sync::atomic::Ordering::Relaxed);
        self.threshold.store(options.expiration_threshold_secs, std::sync::atomic::Ordering::Relaxed);
        inner.options = options;
        if let Some(i) = slot {
            inner.applied[i] = value.to_owned();
            inner.applied_set |= 1 << i;
        }
        Ok(())
    }

    /// This client's key in its token store, opened (with no lock held) when the option was set
    /// or the key changed; None without a store, or when it cannot be opened now (counted; an
    /// error with token_store_required).
    fn binding(&self, out: &Deferred) -> Result<Option<Arc<Binding>>> {
        let (store, scope, token_path) = {
            let inner = lock_state(&self.inner);
            let o = &inner.options;
            let Some(store) = o.token_store.clone() else { return Ok(None) };
            (store, o.scope.clone(), o.token_path.clone())
        };
        if let Some(b) = self.store.load_full() {
            if Arc::ptr_eq(&b.store, &store) && b.scope == scope && b.token_path == token_path {
                return Ok(Some(b));
            }
        }
        match Binding::new(&store, self.endpoint.base(), &token_path, &self.client_id, scope.as_deref(), self.client_secret.as_str()) {
            Ok(b) => {
                let b = Arc::new(b);
                self.bindings.lock().unwrap_or_else(|e| e.into_inner()).push(b.clone());
                self.store.store(Some(b.clone()));
                self.watch.store(Arc::as_ptr(&b) as *mut Binding, std::sync::atomic::Ordering::Release);
                Ok(Some(b))
            }
            Err(e) => {
                self.store_problems(&mut vec![e], out)?;
                Ok(None)
            }
        }
    }

    /// No other process stored a token since this one last looked (always true without a store).
    #[inline]
    fn store_unchanged(&self, now: &Coarse) -> bool {
        let watch = self.watch.load(std::sync::atomic::Ordering::Acquire);
        if watch.is_null() {
            return !self.has_store.load(std::sync::atomic::Ordering::Relaxed);
        }
        // SAFETY: `watch` points at a binding kept alive in self.bindings until self is dropped.
        unsafe { &*watch }.unchanged(now)
    }

    /// Count and log what went wrong with the store (at the level, and as often, as the store
    /// says); the call goes on without it, unless token_store_required: then it fails with the
    /// first store error.
    fn store_problems(&self, problems: &mut Problems, out: &Deferred) -> Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        // (Never the state lock here: callers may be anywhere in a call.)
        let store = self.store.load_full().map(|b| b.store.clone());
        let required = self.store_required.load(std::sync::atomic::Ordering::Relaxed);
        let mut fatal = None;
        for e in problems.drain(..) {
            let level = match &store {
                Some(s) => s.triage(&e),
                None => Some(Level::Warn),
            };
            if e.status == FlxStatus::FLX_ERR_STORE {
                bump(&self.stats.store_errors);
                if let Some(level) = level {
                    let then = if required { "token_store_required=true: the call fails" } else { "going on without it for this call" };
                    self.log(out, level, &[], &|| format!("token store: {}; {then}", e.message));
                }
                if required && fatal.is_none() {
                    fatal = Some(Error::new(FlxStatus::FLX_ERR_STORE, format!("token store: {} (token_store_required=true)", e.message)));
                }
            } else if let Some(level) = level {
                self.log(out, level, &[], &|| format!("token store: {}", e.message));
            }
        }
        match fatal {
            Some(e) => {
                self.stats.count_failure(e.status);
                Err(e)
            }
            None => Ok(()),
        }
    }

    /// Take a token another process stored as the held one, unless a newer one is held already
    /// or the API refused it (invalid_token). Returns whether it was taken.
    fn adopt(&self, inner: &mut Inner, token: &Arc<HeldToken>, generation: u64, only_if_newer: bool) -> bool {
        if only_if_newer && inner.store_generation.is_some_and(|g| generation <= g) {
            return false;
        }
        if inner.rejected_access_token.as_deref() == Some(token.access_token.as_str()) {
            return false;
        }
        self.hold(inner, Some(token.clone()));
        inner.refresh_spent = false;
        inner.store_generation = Some(generation);
        true
    }

    /// A cached call after another process stored a token: read the store without its lock (a
    /// cached call does not wait for another's flight) and take a valid token found there.
    /// With token_store_required, a store that cannot be read fails the call.
    fn cached_from_store(&self) -> Result<Option<Arc<HeldToken>>> {
        if !self.has_store.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(None);
        }
        let out = Deferred::new(&self.logger);
        let binding = match self.binding(&out) {
            Ok(Some(b)) => b,
            other => {
                out.flush();
                return other.map(|_| None);
            }
        };
        let mut problems = Problems::new();
        if let Some(stored) = binding.peek(&mut problems) {
            let mut inner = lock_state(&self.inner);
            self.adopt(&mut inner, &stored.token, stored.generation, true);
        }
        let failed = self.store_problems(&mut problems, &out);
        out.flush();
        failed?;
        Ok(self.current.load_full().filter(|t| !t.is_expired(self.threshold(), Now::read())))
    }

    pub fn options(&self) -> Options {
        lock_state(&self.inner).options.clone()
    }

    /// The guide's getFlexitiToken: a still-valid token from the cache with `use_cache`,
    /// otherwise a refreshed one, or a new one when none is held or it has expired.
    pub fn get_token(&self, use_cache: bool) -> Result<Arc<HeldToken>> {
        self.get_token_with_decision(use_cache).map(|(t, _)| t)
    }

    pub fn get_token_with_decision(&self, use_cache: bool) -> Outcome {
        if use_cache {
            let held = self.current.load_full();
            let now = Coarse::read();
            if let Some(t) = held.filter(|t| !t.is_expired_at(self.threshold(), &now) && self.store_unchanged(&now)) {
                self.cache_hit(&t);
                return Ok((t, Decision::Cached));
            }
            if let Some(t) = self.cached_from_store()? {
                self.cache_hit(&t);
                return Ok((t, Decision::Cached));
            }
        }
        if self.logger.in_own_callback() {
            // This thread is inside this handle's own log callback: a request from here would log
            // into the callback again, without end. Never a request, never a wait.
            return Err(Error::invalid(
                "a token call on a handle from inside its own log callback returns only a still-valid cached token (use_cache=true); no request is made from there",
            ));
        }
        // Every line of the flight is delivered only here: after the flight and state locks are
        // released and the outcome is published, so a callback may call back into the library.
        let out = Deferred::new(&self.logger);
        let outcome = self.fly(use_cache, &out);
        out.flush();
        outcome
    }

    /// Decide, and when a request is needed make it (or share the one in flight).
    fn fly(&self, use_cache: bool, out: &Deferred) -> Outcome {
        let binding = self.binding(out)?;
        let mut problems = Problems::new();
        if let Some(b) = binding.as_deref().filter(|b| b.stale()) {
            // A store read only by polling (redis): learn what it holds before this call waits,
            // so a token stored earlier is not taken for one stored during the wait.
            if let Some(stored) = b.peek(&mut problems) {
                let mut inner = lock_state(&self.inner);
                self.adopt(&mut inner, &stored.token, stored.generation, true);
            }
            self.store_problems(&mut problems, out)?;
        }
        let (flight, seen_seq, wait_ms, generation_before) = {
            let mut inner = lock_state(&self.inner);
            // Before waiting on the flight: it may be a parent process's.
            inner.leave_parent_behind();
            (inner.flight.clone(), inner.flight_seq, inner.options.timeout_ms, binding.as_deref().map(Binding::generation))
        };
        // Another caller's request may be in flight: wait for it at most this caller's own
        // request deadline (timeout_ms), never without bound.
        let started = Instant::now();
        let Some(_turn) = flight.enter(started + Duration::from_millis(wait_ms)) else {
            return Err(Error::network(format!(
                "token request timed out: another call on this handle was still waiting for the token endpoint after {wait_ms} ms (timeout_ms); its outcome is shared once it completes"
            )));
        };
        {
            let mut inner = lock_state(&self.inner);
            inner.leave_parent_behind();
            if !Arc::ptr_eq(&inner.flight, &flight) {
                return Err(Error::internal("the process forked while this call waited; call again"));
            }
            if inner.flight_seq != seen_seq {
                // Another caller's request completed while this one waited: share its outcome
                // rather than send a second request (or reuse a rotated refresh token).
                if let Some(outcome) = &inner.last_outcome {
                    return outcome.clone();
                }
            }
        }
        // The same flight across processes: inside the in-process flight, take the store's lock
        // for this key and re-read what it holds now (no I/O under the state lock).
        let store_turn = binding.as_deref().map(|b| b.begin(Duration::from_millis(wait_ms), generation_before.unwrap_or(0), &mut problems));
        self.store_problems(&mut problems, out)?;
        let plan = {
            let mut inner = lock_state(&self.inner);
            let now = Now::read();
            let threshold = inner.options.expiration_threshold_secs;
            if let Some(stored) = store_turn.as_ref().and_then(|t| t.stored.as_ref()) {
                // Under the lock the store holds the latest token: it replaces the held one.
                let adopted = self.adopt(&mut inner, &stored.token, stored.generation, false);
                if adopted && store_turn.as_ref().is_some_and(|t| t.during_wait) && !stored.token.is_expired(threshold, now) {
                    // Another process's flight completed while this call waited: take its
                    // result, as threads take one another's.
                    let outcome: Outcome = Ok((stored.token.clone(), stored.decision));
                    inner.flight_seq += 1;
                    inner.last_outcome = Some(outcome.clone());
                    return outcome;
                }
            }
            // After waiting out another process's flight, never the refresh grant: that process
            // may be using the refresh token.
            let timed_out = store_turn.as_ref().is_some_and(|t| t.timed_out);
            let mut decision = decide(inner.token.as_deref(), use_cache, threshold, now, inner.refresh_spent || timed_out);
            if let Some(t) = inner.token.as_deref() {
                // refresh_min_age_secs: a token this young already gives the flow its lifetime.
                if decision != Decision::Cached && !t.is_expired(threshold, now) && t.age(now) < inner.options.refresh_min_age_secs as i128 {
                    decision = Decision::Cached;
                }
            }
            if decision == Decision::Cached {
                let t = inner.token.clone().ok_or_else(|| Error::internal("cached decision without a token"))?;
                drop(inner);
                self.stats.cache_hits.bump();
                self.describe_cache_hit(&t, out);
                return Ok((t, Decision::Cached));
            }
            let transport = match &inner.transport {
                Some(t) => t.clone(),
                None => {
                    let t = Arc::new(Transport::new(&self.endpoint, &inner.options)?);
                    inner.transport = Some(t.clone());
                    t
                }
            };
            let held = inner.token.as_deref();
            Plan {
                transport,
                url: self.endpoint.token_url(&inner.options.token_path),
                scope: inner.options.scope.clone(),
                max_retries: inner.options.max_retries,
                refresh_token: if decision == Decision::Refresh { held.and_then(|t| t.refresh_token.clone()) } else { None },
                held_access_token: held.map(|t| t.access_token.clone()),
                held_refresh_token: held.and_then(|t| t.refresh_token.clone()),
            }
        };

        let mut refresh_spent = false;
        let result = self.exchange(&plan, &mut refresh_spent, out);
        self.record_outcome(&result, &plan, out);
        // Store the flight's token and release the store's lock (dropping the turn releases it
        // after a failure).
        let mut stored_generation = None;
        if let (Some(turn), Ok((t, decision))) = (store_turn, &result) {
            stored_generation = turn.finish(t, *decision, &mut problems);
        }
        // token_store_required: a token the store did not take fails the call (it is held all
        // the same: it was issued).
        let store_failed = self.store_problems(&mut problems, out).err();
        let result = match (result, store_failed) {
            (Ok(ok), Some(e)) => {
                let mut inner = lock_state(&self.inner);
                if Arc::ptr_eq(&inner.flight, &flight) {
                    self.hold(&mut inner, Some(ok.0));
                    inner.refresh_spent = false;
                }
                Err(e)
            }
            (result, _) => result,
        };

        let mut inner = lock_state(&self.inner);
        if Arc::ptr_eq(&inner.flight, &flight) {
            match &result {
                Ok((t, _)) => {
                    self.hold(&mut inner, Some(t.clone()));
                    inner.refresh_spent = false;
                    if stored_generation.is_some() {
                        inner.store_generation = stored_generation;
                    }
                }
                Err(e) if e.status == FlxStatus::FLX_ERR_STORE => {}
                Err(_) => {
                    // The held token stays exactly as it was; only remember not to resend its
                    // refresh token if it may have been consumed.
                    let same = inner.token.as_ref().and_then(|t| t.refresh_token.as_deref()) == plan.refresh_token.as_deref();
                    if refresh_spent && same {
                        inner.refresh_spent = true;
                    }
                }
            }
            inner.flight_seq += 1;
            inner.last_outcome = Some(result.clone());
        }
        result
    }

    fn record_outcome(&self, result: &Outcome, plan: &Plan, out: &Deferred) {
        let held: Vec<&str> = [plan.held_refresh_token.as_deref(), plan.held_access_token.as_deref()].into_iter().flatten().collect();
        match result {
            Ok((t, decision)) => {
                bump(match decision {
                    Decision::Refresh => &self.stats.refreshes,
                    Decision::Fallback => &self.stats.fallbacks,
                    _ => &self.stats.new_tokens,
                });
                self.log(out, Level::Info, &held, &|| {
                    format!(
                        "decision={} access_token {} expires_in {} s{}",
                        decision.name(),
                        token_hint(&t.access_token),
                        t.expires_in,
                        if t.refresh_token.is_some() { "" } else { " (no refresh_token)" }
                    )
                });
            }
            Err(e) => {
                self.stats.count_failure(e.status);
                self.log(out, Level::Error, &held, &|| format!("token request failed: {}: {}", e.status.name(), e.message));
            }
        }
    }

    /// Talk to the token endpoint: the refresh grant when planned, falling back once to
    /// client_credentials when it is refused; client_credentials otherwise.
    fn exchange(&self, plan: &Plan, refresh_spent: &mut bool, out: &Deferred) -> Outcome {
        let secrets: Vec<&str> = [Some(self.client_secret.as_str()), plan.held_refresh_token.as_deref(), plan.held_access_token.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let log = |level: Level, line: &dyn Fn() -> String| self.log(out, level, &secrets, line);
        let obs = Observer { stats: &self.stats, log: &log, secrets: &secrets };
        if let Some(refresh_token) = &plan.refresh_token {
            let req = self.token_request(plan, "refresh_token", Some(refresh_token));
            match plan.transport.request_token(&req, &mut || *refresh_spent = true, &obs) {
                Ok((response, sent)) => {
                    return self.accept(response, sent, &req, Decision::Refresh).map_err(|e| e.redacted(&secrets));
                }
                Err(e) => {
                    let refused = e.http_status.is_some_and(|s| (400..500).contains(&s) && s != 408 && s != 429);
                    // A refresh whose outcome is unknown may have rotated the refresh token:
                    // a new token is the only way forward that loses nothing.
                    let lost = *refresh_spent && matches!(e.status, FlxStatus::FLX_ERR_NETWORK | FlxStatus::FLX_ERR_HTTP_STATUS);
                    if !(refused || lost) {
                        return Err(e.redacted(&secrets));
                    }
                    log(Level::Info, &|| {
                        if refused {
                            format!("refresh refused ({}); falling back to client_credentials", e.message)
                        } else {
                            format!("refresh outcome unknown ({}); its refresh token may be used up: falling back to client_credentials", e.message)
                        }
                    });
                }
            }
        }
        let req = self.token_request(plan, "client_credentials", None);
        let (response, sent) = plan.transport.request_token(&req, &mut || {}, &obs).map_err(|e| e.redacted(&secrets))?;
        let decision = if plan.refresh_token.is_some() { Decision::Fallback } else { Decision::New };
        self.accept(response, sent, &req, decision).map_err(|e| e.redacted(&secrets))
    }

    /// The form of one grant: the guide's fields, plus scope when set.
    fn token_request(&self, plan: &Plan, grant: &'static str, refresh_token: Option<&str>) -> TokenRequest {
        let mut fields = vec![("grant_type", grant)];
        if let Some(rt) = refresh_token {
            fields.push(("refresh_token", rt));
        }
        fields.push(("client_id", self.client_id.as_str()));
        fields.push(("client_secret", self.client_secret.as_str()));
        if let Some(scope) = &plan.scope {
            fields.push(("scope", scope.as_str()));
        }
        TokenRequest {
            url: plan.url.clone(),
            grant,
            form: form_encode(&fields),
            max_retries: plan.max_retries,
            single_use: refresh_token.is_some(),
        }
    }

    fn accept(&self, response: serde_json::Map<String, serde_json::Value>, sent: Now, req: &TokenRequest, decision: Decision) -> Outcome {
        let token = HeldToken::from_response(response, sent.wall, sent.steady).map_err(|mut e| {
            e.message = format!("{} (HTTP 200, {} grant to {})", e.message, req.grant, req.url);
            e
        })?;
        Ok((Arc::new(token), decision))
    }

    pub fn export_session(&self) -> Result<String> {
        let token = lock_state(&self.inner).token.clone();
        match token {
            Some(t) => session::export(&t),
            None => Err(Error::session("no token is held: nothing to export (call flx_get_token first, or import a session)")),
        }
    }

    pub fn import_session(&self, json: &str) -> Result<()> {
        let token = session::import(json, Now::read())?;
        let mut inner = lock_state(&self.inner);
        let token = Arc::new(token);
        self.hold(&mut inner, Some(token));
        inner.refresh_spent = false;
        Ok(())
    }

    pub fn clear(&self) {
        let mut inner = lock_state(&self.inner);
        self.hold(&mut inner, None);
        inner.refresh_spent = false;
    }

    pub fn held_token(&self) -> Option<Arc<HeldToken>> {
        lock_state(&self.inner).token.clone()
    }

    /// The cached path on a token this client held (or holds): run `f` on it if it is still
    /// valid and no newer one is in the token store; None when a request is needed.
    #[inline]
    pub fn serve_cached<R>(&self, t: &HeldToken, f: impl FnOnce(&HeldToken) -> R) -> Option<R> {
        // One reading of the coarse clocks for both checks.
        let now = Coarse::read();
        if t.is_expired_at(self.threshold(), &now) || !self.store_unchanged(&now) {
            return None;
        }
        let result = f(t);
        self.cache_hit(t);
        Some(result)
    }

    // ---- for POS-API calls (api.rs) ----------------------------------------------------------

    /// The handle's kept-alive transport (built if needed; a forked child's own), max_retries and
    /// max_response_bytes, so an API call shares the token requests' connections.
    pub fn api_transport(&self) -> Result<(Arc<Transport>, u32, u64)> {
        let mut inner = lock_state(&self.inner);
        inner.leave_parent_behind();
        let transport = match &inner.transport {
            Some(t) => t.clone(),
            None => {
                let t = Arc::new(Transport::new(&self.endpoint, &inner.options)?);
                inner.transport = Some(t.clone());
                t
            }
        };
        Ok((transport, inner.options.max_retries, inner.options.max_response_bytes))
    }

    /// `path` joined to api_url exactly as the token path is.
    pub fn api_url(&self, path: &str) -> String {
        self.endpoint.token_url(path)
    }

    /// The API refused `access_token` (invalid_token): forget it, unless another caller has
    /// already replaced it, and never take it from the token store again (the next token call
    /// takes a replacement another process stored, or gets a new one and stores it). Returns
    /// whether it was dropped.
    pub fn drop_token_if(&self, access_token: &str) -> bool {
        let mut inner = lock_state(&self.inner);
        inner.rejected_access_token = Some(access_token.to_owned());
        if inner.token.as_ref().is_some_and(|t| t.access_token == access_token) {
            self.hold(&mut inner, None);
            inner.refresh_spent = false;
            true
        } else {
            false
        }
    }

    /// A log line with the client_secret and `extra_secrets` scrubbed from it, delivered now:
    /// call with no lock of this client held (API calls hold none).
    pub fn log_line(&self, level: Level, extra_secrets: &[&str], line: &dyn Fn() -> String) {
        if self.logger.enabled(level) {
            let out = Deferred::new(&self.logger);
            self.log(&out, level, extra_secrets, line);
            out.flush();
        }
    }

    /// Whether `text` holds the client_secret or one of `extra_secrets` (as `scrub` sees them).
    pub fn holds_secret(&self, text: &str, extra_secrets: &[&str]) -> bool {
        std::iter::once(self.client_secret.as_str()).chain(extra_secrets.iter().copied()).any(|s| s.len() >= 4 && text.contains(s))
    }

    /// `text` without the client_secret or any of `extra_secrets`.
    pub fn scrub(&self, text: &str, extra_secrets: &[&str]) -> String {
        let mut secrets = vec![self.client_secret.as_str()];
        secrets.extend_from_slice(extra_secrets);
        redact(text, &secrets)
    }

    /// Counters and the held token's age, as JSON.
    pub fn stats_json(&self) -> String {
        let token = {
            let inner = lock_state(&self.inner);
            let threshold = inner.options.expiration_threshold_secs;
            inner.token.as_ref().map(|t| (t.age(Now::read()), t.expires_in, threshold))
        };
        self.stats.to_json(token).to_string()
    }
}

/// What a networked token store takes from the options.
fn store_settings(options: &Options) -> crate::store::StoreSettings {
    crate::store::StoreSettings {
        connect_timeout: std::time::Duration::from_millis(options.connect_timeout_ms),
        timeout: std::time::Duration::from_millis(options.timeout_ms),
        max_retries: options.max_retries,
        extra_roots: options.ca_certs.as_ref().map(|certs| Arc::new(certs.iter().map(|c| c.der().to_vec()).collect())),
        check_interval: std::time::Duration::from_millis(options.store_check_ms),
    }
}
