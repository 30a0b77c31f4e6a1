//! Counters for health checks: cheap to update (relaxed atomics) and to read.

use crate::error::FlxStatus;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// A counter that many threads bump at once without sharing a cache line they write: each
/// thread adds to one of 8 slots (its own, for the first 8 threads), reads add them up.
#[derive(Default)]
pub struct ShardedCounter([Slot; 8]);

#[derive(Default)]
#[repr(align(64))]
struct Slot(AtomicU64);

impl ShardedCounter {
    #[inline]
    pub fn bump(&self) {
        use std::cell::Cell;
        static NEXT: AtomicU64 = AtomicU64::new(0);
        thread_local!(static SLOT: Cell<usize> = const { Cell::new(usize::MAX) });
        let slot = SLOT
            .try_with(|s| {
                if s.get() == usize::MAX {
                    s.set(NEXT.fetch_add(1, Ordering::Relaxed) as usize);
                }
                s.get()
            })
            .unwrap_or(0);
        self.0[slot % 8].0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn sum(&self) -> u64 {
        self.0.iter().map(|s| s.0.load(Ordering::Relaxed)).sum()
    }
}

#[derive(Default)]
pub struct Stats {
    pub client_credentials_requests: AtomicU64,
    pub refresh_token_requests: AtomicU64,
    /// Bumped by every thread on the cached path: sharded, so they share no cache line.
    pub cache_hits: ShardedCounter,
    pub new_tokens: AtomicU64,
    pub refreshes: AtomicU64,
    pub fallbacks: AtomicU64,
    pub retries: AtomicU64,
    failures: [AtomicU64; 9],
    /// Token store reads or writes that failed at run time (the call went on without the store).
    pub store_errors: AtomicU64,
    /// POS-API calls (flx_request): HTTP sends, resends after invalid_token, transient retries,
    /// and calls that ended in an error after their arguments were accepted.
    pub api_requests: AtomicU64,
    pub api_invalid_token_resends: AtomicU64,
    pub api_retries: AtomicU64,
    pub api_failures: AtomicU64,
    /// Unix seconds of the last failure (0: none yet) and its status code.
    last_error_time: AtomicI64,
    last_error_code: AtomicI64,
}

#[inline]
pub fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Stats {
    pub fn count_request(&self, grant: &str) {
        if grant == "refresh_token" {
            bump(&self.refresh_token_requests);
        } else {
            bump(&self.client_credentials_requests);
        }
    }

    pub fn count_failure(&self, status: FlxStatus) {
        if let Some(c) = self.failures.get(status as usize) {
            bump(c);
        }
        self.last_error_time.store(crate::clock::unix_now(), Ordering::Relaxed);
        self.last_error_code.store(status as i64, Ordering::Relaxed);
    }

    /// The counters as JSON; `token` is (age, expires_in, threshold) of the held token.
    pub fn to_json(&self, token: Option<(i128, i64, i64)>) -> serde_json::Value {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let mut failures = serde_json::Map::new();
        for s in FlxStatus::all().iter().skip(1) {
            failures.insert(s.name().to_owned(), get(&self.failures[*s as usize]).into());
        }
        let last_time = self.last_error_time.load(Ordering::Relaxed);
        let last_code = self.last_error_code.load(Ordering::Relaxed);
        let clamp = |v: i128| v.clamp(i64::MIN as i128, i64::MAX as i128) as i64;
        serde_json::json!({
            "requests": {
                "client_credentials": get(&self.client_credentials_requests),
                "refresh_token": get(&self.refresh_token_requests),
            },
            "cache_hits": self.cache_hits.sum(),
            "new_tokens": get(&self.new_tokens),
            "refreshes": get(&self.refreshes),
            "fallbacks": get(&self.fallbacks),
            "retries": get(&self.retries),
            "store_errors": get(&self.store_errors),
            "api": {
                "requests": get(&self.api_requests),
                "invalid_token_resends": get(&self.api_invalid_token_resends),
                "retries": get(&self.api_retries),
                "failures": get(&self.api_failures),
            },
            "failures": failures,
            "last_error_time": if last_time == 0 { serde_json::Value::Null } else { last_time.into() },
            "last_error_code": last_code,
            "last_error_name": FlxStatus::from_code(last_code as i32).map(|s| s.name()).unwrap_or("FLX_OK"),
            "token_held": token.is_some(),
            "token_age_secs": token.map(|(age, _, _)| clamp(age)),
            "token_expires_in": token.map(|(_, e, _)| e),
            "token_time_left_secs": token.map(|(age, e, _)| clamp(e as i128 - age)),
            "token_valid_for_secs": token.map(|(age, e, t)| clamp((e as i128 - t as i128 - age).max(0))),
        })
    }
}
