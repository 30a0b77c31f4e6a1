//! A string that holds a secret (the client_secret, a request body carrying it): overwritten
//! with zeros before its memory goes back to the allocator.

use std::fmt;

pub struct SecretString(String);

impl SecretString {
    pub fn new(s: String) -> Self {
        SecretString(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        wipe(unsafe { self.0.as_bytes_mut() });
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString([redacted])")
    }
}

/// Zero `bytes` in a way the optimiser may not drop (the memory is about to be freed).
pub fn wipe(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // SAFETY: b is a valid, exclusive reference.
        unsafe { std::ptr::write_volatile(b, 0) };
    }
    std::sync::atomic::compiler_fence(std::sync::atomic::Ordering::SeqCst);
}

/// Overwrite a String's bytes with zeros (its memory is about to be released or reused).
pub fn wipe_string(s: &mut String) {
    // SAFETY: zeros are valid UTF-8; the String is cleared right after.
    wipe(unsafe { s.as_bytes_mut() });
    s.clear();
}

/// Overwrite every string in a JSON value (keys included) before it is dropped.
pub fn wipe_value(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => wipe_string(s),
        Value::Array(a) => a.iter_mut().for_each(wipe_value),
        Value::Object(m) => wipe_map(m),
        _ => {}
    }
}

/// wipe_value for an object: its keys are moved out to be overwritten too.
pub fn wipe_map(m: &mut serde_json::Map<String, serde_json::Value>) {
    for (mut k, mut v) in std::mem::take(m) {
        wipe_string(&mut k);
        wipe_value(&mut v);
    }
}

/// A byte buffer for secrets: never reallocated in place. Growing it copies into a new block and
/// wipes the old one, and it is wiped when dropped, so no block it used goes back unwiped.
#[derive(Default)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    pub fn with_capacity(n: usize) -> Self {
        SecretBytes(Vec::with_capacity(n))
    }

    pub fn extend_from_slice(&mut self, data: &[u8]) {
        let needed = self.0.len() + data.len();
        if needed > self.0.capacity() {
            let mut bigger = Vec::with_capacity(needed.max(self.0.capacity() * 2).max(64));
            bigger.extend_from_slice(&self.0);
            wipe(&mut self.0);
            self.0 = bigger;
        }
        self.0.extend_from_slice(data);
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.0
    }

    /// The bytes as a String of exactly their size (the caller owns wiping it).
    pub fn to_string_lossless(&self) -> Option<String> {
        std::str::from_utf8(&self.0).ok().map(str::to_owned)
    }
}

impl std::io::Write for SecretBytes {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        // The whole allocation, not only what is in use (resize within capacity never moves it).
        self.0.resize(self.0.capacity(), 0);
        wipe(&mut self.0);
    }
}

/// JSON text of `v` built without leaving partial copies in released memory: serialised into a
/// SecretBytes, then copied once into a String of exactly its size.
pub fn json_string(v: &serde_json::Value) -> serde_json::Result<String> {
    let mut out = SecretBytes::with_capacity(256);
    serde_json::to_writer(&mut out, v)?;
    Ok(out.to_string_lossless().unwrap_or_default())
}
