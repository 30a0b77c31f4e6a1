//! Connection plumbing under ureq: a resolver that remembers the token host's addresses, and a
//! transport that sends a request's head and body in one write.
//!
//! Why: with a request timeout set, ureq's default resolver starts a thread for every request
//! (even for an IP literal) before it looks in its connection pool; and it writes the head and the
//! form body separately: two TLS records, two syscalls, the server woken twice. A token client
//! talks to one host, so both are cheap to avoid. (ureq's `unversioned` API: pinned to ~3.5.)

use crate::secret::wipe;
use parking_lot::Mutex;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{Buffers, ConnectionDetails, Connector, NextTimeout, Transport};

/// How long resolved addresses are reused (a failed connect forgets them sooner).
const RESOLVE_TTL: Duration = Duration::from_secs(60);

#[derive(Debug, Default)]
pub struct CachingResolver {
    inner: DefaultResolver,
    cache: Mutex<Option<(String, ResolvedSocketAddrs, Instant)>>,
}

impl CachingResolver {
    /// Drop the cached addresses (after a connect failure: the host may have moved).
    pub fn forget(&self) {
        *self.cache.lock() = None;
    }
}

/// The resolver handed to ureq; the transport keeps its own handle to call `forget`.
#[derive(Debug, Clone, Default)]
pub struct SharedResolver(pub Arc<CachingResolver>);

impl Resolver for SharedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let (Some(scheme), Some(authority)) = (uri.scheme(), uri.authority()) else {
            return self.0.inner.resolve(uri, config, timeout);
        };
        let port = authority.port_u16().unwrap_or(if scheme.as_str() == "https" { 443 } else { 80 });
        // An IP literal needs no lookup and no thread.
        let host = authority.host().trim_start_matches('[').trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            let mut out = self.0.inner.empty();
            out.push(SocketAddr::new(ip, port));
            return Ok(out);
        }
        let key = format!("{}://{}:{port}", scheme.as_str(), authority.host());
        if let Some((k, addrs, at)) = &*self.0.cache.lock() {
            if *k == key && at.elapsed() < RESOLVE_TTL {
                return Ok(addrs.clone());
            }
        }
        // A lookup failure surfaces from std as a bare I/O error; name it, so callers know the
        // request never left (and a single-use refresh token was not spent).
        let addrs = self.0.inner.resolve(uri, config, timeout).map_err(|e| match e {
            ureq::Error::Io(_) => ureq::Error::HostNotFound,
            other => other,
        })?;
        *self.0.cache.lock() = Some((key, addrs.clone(), Instant::now()));
        Ok(addrs)
    }
}

/// Wraps the outermost transport (after TLS) so everything ureq writes for one request goes out
/// in one write, just before the response is awaited.
#[derive(Debug)]
pub struct CoalescingConnector;

impl Connector<Box<dyn Transport>> for CoalescingConnector {
    type Out = Coalescing;

    fn connect(&self, _details: &ConnectionDetails, chained: Option<Box<dyn Transport>>) -> Result<Option<Coalescing>, ureq::Error> {
        Ok(chained.map(|inner| Coalescing { inner, pending: Vec::with_capacity(16 * 1024) }))
    }
}

#[derive(Debug)]
pub struct Coalescing {
    inner: Box<dyn Transport>,
    /// Sized once, so growing it never frees a block holding part of a request.
    pending: Vec<u8>,
}

impl Coalescing {
    fn flush(&mut self, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let result = send(&mut self.inner, &self.pending, timeout);
        wipe(&mut self.pending);
        self.pending.clear();
        result
    }
}

/// Send `data` through the inner transport's output buffer, wiping it after each write (request
/// bodies carry the client_secret: no copy is left in reusable buffers).
fn send(inner: &mut Box<dyn Transport>, data: &[u8], timeout: NextTimeout) -> Result<(), ureq::Error> {
    let mut sent = 0;
    while sent < data.len() {
        let out = inner.buffers().output();
        let n = out.len().min(data.len() - sent);
        if n == 0 {
            return Err(ureq::Error::Io(std::io::Error::other("transport has no output buffer")));
        }
        out[..n].copy_from_slice(&data[sent..sent + n]);
        let result = inner.transmit_output(n, timeout);
        wipe(&mut inner.buffers().output()[..n]);
        result?;
        sent += n;
    }
    Ok(())
}

impl Drop for Coalescing {
    fn drop(&mut self) {
        wipe(&mut self.pending);
        // The connection's buffers go back to the allocator with it: the input buffer holds the
        // last answer (a token) and the request bodies that went through its free space; the
        // output buffer the last request. Everything unread is consumed first so the whole input
        // buffer is reachable.
        let buffers = self.inner.buffers();
        let unread = buffers.input().len();
        buffers.input_consume(unread);
        wipe(buffers.input_append_buf());
        wipe(buffers.output());
    }
}

impl Transport for Coalescing {
    fn buffers(&mut self) -> &mut dyn Buffers {
        self.inner.buffers()
    }

    fn transmit_output(&mut self, amount: usize, timeout: NextTimeout) -> Result<(), ureq::Error> {
        let out = self.inner.buffers().output();
        if self.pending.len() + amount <= self.pending.capacity() {
            // Within its capacity: `pending` is never reallocated (the old block would go back to
            // the allocator holding part of a request).
            self.pending.extend_from_slice(&out[..amount]);
            wipe(&mut out[..amount]);
            return Ok(());
        }
        // It does not fit (a large request, e.g. a POS-API call's body): what waits goes out
        // first, then this, without growing `pending`.
        let mut next = Vec::with_capacity(amount);
        next.extend_from_slice(&out[..amount]);
        wipe(&mut out[..amount]);
        let result = self.flush(timeout).and_then(|()| {
            if amount <= self.pending.capacity() {
                self.pending.extend_from_slice(&next);
                Ok(())
            } else {
                send(&mut self.inner, &next, timeout)
            }
        });
        wipe(&mut next);
        result
    }

    fn await_input(&mut self, timeout: NextTimeout) -> Result<bool, ureq::Error> {
        if !self.pending.is_empty() {
            self.flush(timeout)?;
        }
        self.inner.await_input(timeout)
    }

    fn is_open(&mut self) -> bool {
        self.inner.is_open()
    }

    fn is_tls(&self) -> bool {
        self.inner.is_tls()
    }
}
