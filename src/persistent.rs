//! Persistent handles: one process-wide handle per (api_url, client_id, client_secret), so that
//! a token, its options and its kept-alive connection outlive a PHP request in an FPM worker.
//!
//! The registry maps a key to a handle value chosen by the C surface. The key holds the api_url
//! (as requests use it: trimmed, no trailing slash), the client_id, and an HMAC-SHA256 of the
//! client secret under a key drawn at random once per process: the secret itself is never a key
//! and is kept once, by the client the handle owns; the digest means nothing outside this process.
//! Finding a registered handle (every call after the first) compares the secret given with the
//! one its client keeps, in constant time, rather than computing the digest again: two accounts
//! that differ only by their secret are told apart exactly, at the cost of a memcmp.
//! At most [`MAX_PERSISTENT`] entries; entries are never removed (a persistent handle lives as
//! long as the process). The registry lock is held only around lookups and inserts (never while
//! a client is created, which takes the fork module's lock) and is held across fork() like every
//! client's state lock, so a child never inherits it locked.

use crate::error::{Error, Result};
use crate::fork::ForkLock;
use once_cell::sync::Lazy;
use std::sync::{Arc, Mutex, MutexGuard};

/// Distinct persistent handles a process may hold.
pub const MAX_PERSISTENT: usize = 64;

/// What identifies a persistent handle. No secret in clear: see the module comment.
#[derive(PartialEq, Eq)]
pub struct Key {
    api_url: String,
    client_id: String,
    secret_digest: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key").field("api_url", &self.api_url).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// The per-process HMAC key for secret digests.
static DIGEST_KEY: Lazy<ring::hmac::Key> = Lazy::new(|| {
    let mut k = [0u8; 32];
    if getrandom::getrandom(&mut k).is_err() {
        // No OS randomness: still a one-way digest, only no longer process-specific.
        k = *b"flexiti-auth persistent handle k";
    }
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &k);
    crate::secret::wipe(&mut k);
    key
});

/// The keyed digest of a client secret (HMAC-SHA256 under the per-process key).
pub fn secret_digest(client_secret: &str) -> [u8; 32] {
    let tag = ring::hmac::sign(&DIGEST_KEY, client_secret.as_bytes());
    let mut digest = [0u8; 32];
    digest.copy_from_slice(tag.as_ref());
    digest
}

impl Key {
    /// `api_url` as the client uses it (Endpoint::base), the client_id as given.
    pub fn new(api_url: &str, client_id: &str, client_secret: &str) -> Key {
        Key { api_url: api_url.to_owned(), client_id: client_id.to_owned(), secret_digest: secret_digest(client_secret) }
    }

    fn names(&self, api_url: &str, client_id: &str) -> bool {
        self.api_url == api_url && self.client_id == client_id
    }

    /// The raw bytes of the digest (tests check the secret does not appear in the key).
    pub fn digest(&self) -> &[u8; 32] {
        &self.secret_digest
    }
}

/// A strong reference to what a handle names, so it is never dropped (and memory checkers see
/// it as reachable through a pointer to its start).
pub type Keep = Box<dyn std::any::Any + Send + Sync>;

type Entries = Vec<(Key, usize, Keep)>;

struct Registry(Mutex<Entries>);

static REGISTRY: Lazy<Arc<Registry>> = Lazy::new(|| {
    let r = Arc::new(Registry(Mutex::new(Vec::new())));
    let lock: Arc<dyn ForkLock> = r.clone();
    crate::fork::register(&lock);
    r
});

fn entries() -> MutexGuard<'static, Entries> {
    // Every update is one push: a panic cannot leave the list half-changed.
    REGISTRY.0.lock().unwrap_or_else(|e| e.into_inner())
}

impl ForkLock for Registry {
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the Arc moved into the closure keeps the mutex alive past the guard, which the
        // closure drops first.
        let guard: MutexGuard<'static, Entries> = unsafe { std::mem::transmute(guard) };
        Box::new(move || {
            drop(guard);
            drop(self);
        })
    }
}

/// The handle registered for this api_url and client_id whose client secret `holds_secret`
/// confirms (a constant-time comparison with the one copy the handle keeps: the path of every
/// call, with no digest to compute and no allocation), if any.
pub fn lookup(api_url: &str, client_id: &str, holds_secret: impl Fn(usize) -> bool) -> Option<usize> {
    entries().iter().filter(|(k, _, _)| k.names(api_url, client_id)).map(|(_, h, _)| *h).find(|h| holds_secret(*h))
}

/// Refuse early when the registry is full (before a client is built for nothing).
pub fn check_room() -> Result<()> {
    if entries().len() >= MAX_PERSISTENT {
        return Err(full());
    }
    Ok(())
}

/// Register `handle` under `key`. When another thread registered one for the same key first,
/// that one is returned (the caller then drops its own). Refused when the registry is full.
pub fn insert(key: Key, handle: usize, keep: Keep) -> Result<usize> {
    let mut entries = entries();
    if let Some((_, h, _)) = entries.iter().find(|(k, _, _)| *k == key) {
        return Ok(*h);
    }
    if entries.len() >= MAX_PERSISTENT {
        return Err(full());
    }
    entries.push((key, handle, keep));
    Ok(handle)
}

/// How many persistent handles this process holds.
pub fn count() -> usize {
    entries().len()
}

fn full() -> Error {
    Error::invalid(format!(
        "flx_client_persistent: this process already holds the maximum of {MAX_PERSISTENT} persistent handles \
         (one per api_url, client_id and client_secret); reuse one of them, or use flx_client_new for more"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_holds_a_digest_not_the_secret() {
        let secret = "s3cr3t-value-that-must-not-be-kept";
        let k = Key::new("https://x", "id", secret);
        assert_eq!(k, Key::new("https://x", "id", secret));
        assert_ne!(k, Key::new("https://x", "id", "another"));
        assert_ne!(k, Key::new("https://x", "id2", secret));
        assert_ne!(k, Key::new("https://y", "id", secret));
        let digest = k.digest();
        assert!(!digest.windows(4).any(|w| secret.as_bytes().windows(4).any(|s| s == w)));
        assert!(!format!("{k:?}").contains(secret));
    }
}
