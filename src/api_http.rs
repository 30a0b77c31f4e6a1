//! One POS-API request over the handle's kept-alive agent (the same connections as the token
//! requests): send it, read the answer's body up to a cap, say what happened. No decisions: which
//! token, whether to resend, and when, are api.rs's.

use crate::error::{Error, FlxStatus};
use crate::secret::wipe;
use crate::transport::{describe_failure, parse_retry_after, Transport};
use std::io::Read;
use std::time::{Duration, Instant};
use ureq::http;

/// A request ready to send (validated by api.rs).
pub struct Outgoing<'a> {
    pub method: &'a str,
    pub url: &'a str,
    /// The caller's extra headers, validated: no CR/LF, no Authorization or Host.
    pub headers: &'a [(String, String)],
    pub body: Option<&'a [u8]>,
    pub max_response_bytes: u64,
}

/// An answer, whatever its status.
pub struct Answer {
    pub status: u16,
    /// Every response header, names lower-case, values as text (invalid UTF-8 replaced).
    pub headers: Vec<(String, String)>,
    pub body: WipedBytes,
    pub retry_after: Option<Duration>,
}

impl Answer {
    /// Flexiti's answer to a revoked or expired token: a 401 whose WWW-Authenticate header or
    /// body says invalid_token.
    pub fn is_invalid_token(&self) -> bool {
        const NEEDLE: &[u8] = b"invalid_token";
        self.status == 401
            && (self.headers.iter().any(|(n, v)| n == "www-authenticate" && v.contains("invalid_token"))
                || self.body.0.windows(NEEDLE.len()).any(|w| w == NEEDLE))
    }
}

/// Why no answer came back.
pub struct Failure {
    pub error: Error,
    /// Worth trying again for an idempotent method (connect errors, resets, timeouts).
    pub transient: bool,
}

/// Bytes that may hold secrets (an answer echoing the bearer token): zeroed when dropped, and
/// never left behind in a block a growing buffer outgrew.
#[derive(Default)]
pub struct WipedBytes(pub Vec<u8>);

impl WipedBytes {
    fn with_capacity(n: usize) -> WipedBytes {
        WipedBytes(Vec::with_capacity(n))
    }

    fn extend(&mut self, chunk: &[u8]) {
        let v = &mut self.0;
        if v.len() + chunk.len() > v.capacity() {
            let mut bigger = Vec::with_capacity((v.len() + chunk.len()).max(v.capacity() * 2));
            bigger.extend_from_slice(v);
            wipe(v);
            *v = bigger;
        }
        v.extend_from_slice(chunk);
    }
}

impl Drop for WipedBytes {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Send one request with `Authorization: Bearer <token>` and read the answer.
pub fn send(transport: &Transport, out: &Outgoing, bearer: &str, reference_id: &str) -> Result<Answer, Failure> {
    let started = Instant::now();
    let request = build(out, bearer, reference_id).map_err(|e| Failure { error: e, transient: false })?;
    let sent = match out.body {
        Some(b) => transport.agent().run(request.map(|()| b)),
        // No body: none for GET, HEAD and DELETE; an empty one (Content-Length: 0, never chunked)
        // for POST, PUT and PATCH.
        None if matches!(out.method, "POST" | "PUT" | "PATCH") => transport.agent().run(request.map(|()| &b""[..])),
        None => transport.agent().run(request),
    };
    let mut resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let f = failure(e, out, started);
            if matches!(f.error.http_status, None) && f.transient {
                transport.forget_resolved();
            }
            return Err(f);
        }
    };
    let status = resp.status().as_u16();
    let headers: Vec<(String, String)> = resp
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let retry_after = resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
    let cap = out.max_response_bytes;
    let declared = resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
    // A HEAD answer's Content-Length describes a body it does not carry.
    if out.method != "HEAD" && declared.is_some_and(|n| n > cap) {
        // Refused on its Content-Length, without reading it (the connection is dropped).
        return Err(too_big(out, status));
    }
    let capacity = if out.method == "HEAD" { 0 } else { declared.unwrap_or(8 * 1024).min(cap) as usize };
    let mut body = WipedBytes::with_capacity(capacity);
    let mut reader = resp.body_mut().with_config().limit(cap).reader();
    let mut chunk = [0u8; 16 * 1024];
    // How much of `chunk` ever held answer bytes: only that part is wiped (16 KiB of volatile
    // writes per call would cost more than the rest of the call).
    let mut used = 0;
    loop {
        match reader.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                used = used.max(n);
                body.extend(&chunk[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                wipe(&mut chunk);
                return Err(match ureq::Error::from(e) {
                    ureq::Error::BodyExceedsLimit(_) => too_big(out, status),
                    other => {
                        let mut f = failure(other, out, started);
                        // The request arrived and was answered: only its body was lost.
                        f.error.message = format!("the answer's body could not be read: {}", f.error.message);
                        f
                    }
                });
            }
        }
    }
    wipe(&mut chunk[..used]);
    Ok(Answer { status, headers, body, retry_after })
}

fn build(out: &Outgoing, bearer: &str, reference_id: &str) -> Result<http::Request<()>, Error> {
    let bad = |what: &str| Error::invalid(format!("cannot build the request: {what}"));
    let method = http::Method::from_bytes(out.method.as_bytes()).map_err(|_| bad("method"))?;
    let mut req = http::Request::builder().method(method).uri(out.url).body(()).map_err(|_| bad("the URL is not valid"))?;
    let h = req.headers_mut();
    // Built at its final size in a string wiped on drop (no reallocated or dropped copy of the
    // token; the header map's own copy is the http crate's, out of reach).
    let mut value = String::with_capacity(7 + bearer.len());
    value.push_str("Bearer ");
    value.push_str(bearer);
    let value = crate::secret::SecretString::new(value);
    let mut auth = http::HeaderValue::from_str(value.as_str()).map_err(|_| bad("the token is not a valid header value"))?;
    auth.set_sensitive(true);
    h.insert(http::header::AUTHORIZATION, auth);
    h.insert("x-reference-id", http::HeaderValue::from_str(reference_id).map_err(|_| bad("x-reference-id"))?);
    h.insert(http::header::ACCEPT, http::HeaderValue::from_static("application/json"));
    if out.body.is_some() {
        h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    }
    // The caller's headers replace these defaults (all but Authorization and Host, refused
    // earlier); a name given twice is sent twice.
    let mut replaced: Vec<http::HeaderName> = Vec::new();
    for (name, value) in out.headers {
        let name = http::HeaderName::from_bytes(name.as_bytes()).map_err(|_| bad("a header name"))?;
        let value = http::HeaderValue::from_str(value).map_err(|_| bad("a header value"))?;
        if !replaced.contains(&name) {
            h.remove(&name);
            replaced.push(name.clone());
        }
        h.append(name, value);
    }
    Ok(req)
}

fn too_big(out: &Outgoing, status: u16) -> Failure {
    Failure {
        error: Error {
            status: FlxStatus::FLX_ERR_BAD_RESPONSE,
            message: format!(
                "API response is larger than max_response_bytes ({} bytes): refused (HTTP {status}, {} {})",
                out.max_response_bytes, out.method, out.url
            ),
            http_status: Some(status),
        },
        transient: false,
    }
}

fn failure(e: ureq::Error, out: &Outgoing, started: Instant) -> Failure {
    let elapsed = started.elapsed().as_millis();
    let (msg, transient, _) = describe_failure(&e, "API request", "the API host");
    Failure {
        error: Error::network(format!("{msg} ({} {}, after {elapsed} ms)", out.method, out.url)),
        transient,
    }
}
