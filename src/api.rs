//! Authenticated POS-API calls (flx_request): the caller's request, sent with the token the
//! client would give flx_get_token, over the same kept-alive connections. The decisions live here:
//! what is a valid request, which answers mean "invalid_token" (drop the token, get a new one,
//! send once more, for every method), and which failures are retried (transient ones, for
//! idempotent methods only). One attempt on the wire is api_http.rs's.

use crate::api_http::{self, Answer, Outgoing, WipedBytes};
use crate::client::Client;
use crate::error::{quote, Error, Result};
use crate::log::{token_hint, Level};
use crate::stats::bump;
use crate::transport::{backoff, new_reference_id, MAX_RETRY_AFTER};
use std::time::Instant;

/// The methods flx_request accepts.
pub const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A request whose every argument has been checked: nothing is sent before this exists.
pub struct ApiRequest {
    method: &'static str,
    path: String,
    body: Option<WipedBytes>,
    headers: Vec<(String, String)>,
}

impl ApiRequest {
    /// Check method, path, body and headers. `headers`: one `Name: value` per line, lines
    /// separated by LF (a final LF is allowed); a CR anywhere, a malformed line, or an
    /// Authorization or Host header is refused.
    pub fn new(method: &str, path: &str, body: Option<&[u8]>, headers: Option<&str>) -> Result<ApiRequest> {
        let method = METHODS
            .iter()
            .copied()
            .find(|m| *m == method)
            .ok_or_else(|| Error::invalid(format!("method {} is not one of {}", quote(method), METHODS.join(", "))))?;
        let path = check_path(path)?;
        let headers = parse_headers(headers.unwrap_or(""))?;
        Ok(ApiRequest { method, path, body: body.map(|b| WipedBytes(b.to_vec())), headers })
    }

    pub fn method(&self) -> &'static str {
        self.method
    }

    /// GET, HEAD, PUT and DELETE: sending one twice does what sending it once does.
    pub fn idempotent(&self) -> bool {
        matches!(self.method, "GET" | "HEAD" | "PUT" | "DELETE")
    }
}

fn check_path(path: &str) -> Result<String> {
    if path.trim().is_empty() {
        return Err(Error::invalid("path is empty"));
    }
    if let Some(c) = path.chars().find(|c| !c.is_ascii_graphic()) {
        let what = if c == ' ' { "a space".to_owned() } else if c.is_control() { "a control character".to_owned() } else { format!("{c:?}") };
        return Err(Error::invalid(format!(
            "path {} contains {what}: give a URL path (and query), percent-encoded",
            quote(path)
        )));
    }
    if path.contains('#') {
        return Err(Error::invalid(format!("path {} must not carry a fragment ('#')", quote(path))));
    }
    if path.split('?').next().unwrap_or("").contains("://") {
        return Err(Error::invalid(format!("path {} must be a path under api_url, not a URL", quote(path))));
    }
    Ok(path.to_owned())
}

/// Names a caller may not set: the library owns them.
const RESERVED: [&str; 2] = ["authorization", "host"];
/// Names that would change how the request is framed on the wire.
const FRAMING: [&str; 4] = ["content-length", "transfer-encoding", "connection", "upgrade"];

pub fn parse_headers(text: &str) -> Result<Vec<(String, String)>> {
    if text.contains('\r') {
        return Err(Error::invalid("headers contain a CR: lines are separated by LF alone, and no value may hold a line break"));
    }
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        let n = i + 1;
        let malformed = |why: &str| Error::invalid(format!("headers line {n} is malformed ({why}): expected \"Name: value\""));
        let (name, value) = line.split_once(':').ok_or_else(|| malformed("no ':'"))?;
        if name.is_empty() {
            return Err(malformed("empty name"));
        }
        if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)) {
            return Err(malformed("the name holds a character not allowed in a header name"));
        }
        let value = value.trim_matches([' ', '\t']);
        if value.chars().any(|c| c.is_control() && c != '\t') {
            return Err(malformed("the value holds a control character"));
        }
        let lower = name.to_ascii_lowercase();
        if RESERVED.contains(&lower.as_str()) {
            return Err(Error::invalid(format!(
                "headers line {n} sets {name}, which the library sets itself (the bearer token and the api_url host)"
            )));
        }
        if FRAMING.contains(&lower.as_str()) {
            return Err(Error::invalid(format!("headers line {n} sets {name}, which the library sets itself (message framing)")));
        }
        out.push((name.to_owned(), value.to_owned()));
    }
    Ok(out)
}

/// What came back: the status, the answer's headers and its body, whatever the status.
pub struct ApiResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: WipedBytes,
}

/// Send `req` with the token flx_get_token(use_cache) would give. A 401 saying invalid_token
/// drops that token, gets a new one and sends the request once more (for every method: a request
/// refused that way was never acted on). Transient failures (connect errors, resets, timeouts,
/// 502/503/504, 429 with Retry-After) are retried up to max_retries for idempotent methods only;
/// when retries run out, the last answer is returned like any other.
pub fn request(client: &Client, req: &ApiRequest, use_cache: bool) -> Result<ApiResponse> {
    let result = send_with_resends(client, req, use_cache);
    if result.is_err() {
        bump(&client.stats.api_failures);
    }
    result
}

fn send_with_resends(client: &Client, req: &ApiRequest, use_cache: bool) -> Result<ApiResponse> {
    let (transport, max_retries, max_response_bytes) = client.api_transport()?;
    let url = client.api_url(&req.path);
    let out = Outgoing {
        method: req.method,
        url: &url,
        headers: &req.headers,
        body: req.body.as_ref().map(|b| b.0.as_slice()),
        max_response_bytes,
    };
    let caller_reference = req.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-reference-id"));
    let attempts = if req.idempotent() { max_retries + 1 } else { 1 };
    let mut token = client.get_token(use_cache)?;
    // Every token this call has sent: none may appear in a message or a log line.
    let mut sent_tokens: Vec<String> = vec![token.access_token.clone()];
    let mut resent = false;
    // Sends in this call, and attempts since the last token change (the invalid_token resend
    // does not use up a transient retry).
    let mut sends = 0u32;
    let mut made = 0u32;
    let started = Instant::now();
    loop {
        made += 1;
        sends += 1;
        let secrets: Vec<&str> = sent_tokens.iter().map(String::as_str).collect();
        let reference_id = if caller_reference { String::new() } else { new_reference_id() };
        bump(&client.stats.api_requests);
        let attempt_started = Instant::now();
        let result = api_http::send(&transport, &out, &token.access_token, &reference_id);
        let ms = attempt_started.elapsed().as_millis();
        let attempt_no = || if resent { format!("resend after invalid_token, attempt {made}") } else { format!("attempt {made}/{attempts}") };
        match result {
            Ok(answer) => {
                client.log_line(Level::Debug, &secrets, &|| {
                    format!("{} {url} {}: HTTP {} in {ms} ms (access_token {})", req.method, attempt_no(), answer.status, token_hint(&token.access_token))
                });
                if answer.is_invalid_token() && !resent {
                    resent = true;
                    bump(&client.stats.api_invalid_token_resends);
                    client.log_line(Level::Info, &secrets, &|| {
                        format!(
                            "{} {url}: HTTP 401 invalid_token for access_token {}: dropping it, getting a new token, sending once more",
                            req.method,
                            token_hint(&token.access_token)
                        )
                    });
                    // Through get_token(true): a replacement another thread (or, with a token store,
                    // another process) already holds is taken as is.
                    let rejected = token.access_token.clone();
                    client.drop_token_if(&rejected);
                    token = client.get_token(true)?;
                    if token.access_token == rejected {
                        // Handed the rejected token back (a store or an import still held it):
                        // a new one, not that one again.
                        client.drop_token_if(&rejected);
                        token = client.get_token(false)?;
                    }
                    sent_tokens.push(token.access_token.clone());
                    made = 0;
                    continue;
                }
                if transient_answer(&answer) && made < attempts {
                    let wait = answer.retry_after.map(|d| d.min(MAX_RETRY_AFTER)).unwrap_or_else(|| backoff(made));
                    client.log_line(Level::Warn, &secrets, &|| {
                        format!("{} {url} {}: HTTP {}; retry in {} ms", req.method, attempt_no(), answer.status, wait.as_millis())
                    });
                    drop(answer);
                    bump(&client.stats.api_retries);
                    std::thread::sleep(wait);
                    continue;
                }
                client.log_line(Level::Info, &secrets, &|| {
                    format!(
                        "{} {url}: HTTP {} in {} ms ({} {}, access_token {})",
                        req.method,
                        answer.status,
                        started.elapsed().as_millis(),
                        sends,
                        if sends == 1 { "send" } else { "sends" },
                        token_hint(&token.access_token)
                    )
                });
                let mut answer = answer;
                let mut headers = std::mem::take(&mut answer.headers);
                for (_, v) in headers.iter_mut() {
                    if client.holds_secret(v, &secrets) {
                        *v = client.scrub(v, &secrets);
                    }
                }
                return Ok(ApiResponse { status: answer.status, headers, body: take_body(answer) });
            }
            Err(f) => {
                let error = Error { message: client.scrub(&f.error.message, &secrets), ..f.error };
                client.log_line(Level::Debug, &secrets, &|| format!("{} {url} {}: failed in {ms} ms: {}", req.method, attempt_no(), error.message));
                if f.transient && made < attempts {
                    let wait = backoff(made);
                    client.log_line(Level::Warn, &secrets, &|| {
                        format!("{} {url} {} failed ({}); retry in {} ms", req.method, attempt_no(), error.status.name(), wait.as_millis())
                    });
                    bump(&client.stats.api_retries);
                    std::thread::sleep(wait);
                    continue;
                }
                let mut error = error;
                if sends > 1 {
                    error.message.push_str(&format!(" (after {sends} attempts)"));
                }
                if f.transient && !req.idempotent() {
                    error.message.push_str(&format!(" (a {} is not retried after a transient failure: it may have been acted on)", req.method));
                }
                client.log_line(Level::Error, &secrets, &|| format!("API request failed: {}: {}", error.status.name(), error.message));
                return Err(error);
            }
        }
    }
}

/// 502, 503, 504, and 429 when the server says when to come back.
fn transient_answer(a: &Answer) -> bool {
    matches!(a.status, 502..=504) || (a.status == 429 && a.retry_after.is_some())
}

fn take_body(mut answer: Answer) -> WipedBytes {
    std::mem::take(&mut answer.body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_checked() {
        assert_eq!(parse_headers("").unwrap(), vec![]);
        assert_eq!(parse_headers("X-A: 1\nX-B:2\n").unwrap(), vec![("X-A".into(), "1".into()), ("X-B".into(), "2".into())]);
        for bad in ["X-A: 1\r\nX-B: 2", "X-A 1", ": v", "X A: 1", "Authorization: Bearer x", "host: evil", "X-A: 1\n\nX-B: 2", "X-A: a\u{1}b", "Content-Length: 3"] {
            assert!(parse_headers(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn methods_and_paths() {
        assert!(ApiRequest::new("GET", "flexiti/pos-api/v2.5/x?a=1", None, None).is_ok());
        assert!(ApiRequest::new("get", "x", None, None).is_err());
        assert!(ApiRequest::new("TRACE", "x", None, None).is_err());
        assert!(ApiRequest::new("GET", "", None, None).is_err());
        assert!(ApiRequest::new("GET", "a b", None, None).is_err());
        assert!(ApiRequest::new("GET", "https://evil/x", None, None).is_err());
        assert!(!ApiRequest::new("POST", "x", None, None).unwrap().idempotent());
        assert!(ApiRequest::new("PUT", "x", None, None).unwrap().idempotent());
    }
}
