//! The HTTP transport to Flexiti's token endpoint: one form POST, its retries, and what each
//! answer means. Knows nothing of token state or of C.

use crate::clock::Now;
use crate::log::Level;
use crate::secret::{SecretBytes, SecretString};
use crate::stats::{bump, Stats};
use crate::error::{quote, Error, FlxStatus, Result};
use crate::options::{Options, ProxySetting};
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::time::{Duration, Instant};
use ureq::http::Uri;
use ureq::tls::{RootCerts, TlsConfig};
use crate::connect::{CoalescingConnector, SharedResolver};
use ureq::unversioned::transport::Connector;
use ureq::Agent;

/// Largest token response read; a larger answer is refused without reading it all.
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;
/// Longest wait a Retry-After may impose.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(5);
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_CAP: Duration = Duration::from_secs(2);

/// A validated api_url: https, or http for loopback hosts only.
#[derive(Clone, Debug)]
pub struct Endpoint {
    base: String,
    https: bool,
    host: String,
}

impl Endpoint {
    pub fn parse(api_url: &str) -> Result<Endpoint> {
        let trimmed = api_url.trim();
        // User credentials in the URL would be echoed by every message below: refuse them first,
        // without repeating the URL.
        if let Some(authority_end) = trimmed.find("://").map(|i| i + 3) {
            let authority = trimmed[authority_end..].split(['/', '?', '#']).next().unwrap_or("");
            if authority.contains('@') {
                return Err(Error::invalid("api_url must not carry user credentials (user:password@host)"));
            }
        } else if trimmed.contains('@') {
            return Err(Error::invalid("api_url must not carry user credentials"));
        }
        let uri: Uri = trimmed
            .parse()
            .map_err(|_| Error::invalid(format!("api_url {} is not a valid URL", quote(trimmed))))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(Error::invalid(format!("api_url {} must start with https://", quote(trimmed)))),
        };
        let host = uri.host().filter(|h| !h.is_empty()).ok_or_else(|| Error::invalid(format!("api_url {} has no host", quote(trimmed))))?;
        if uri.query().is_some() || trimmed.contains('#') {
            return Err(Error::invalid(format!("api_url {} must not carry a query or fragment", quote(trimmed))));
        }
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        if !https && !is_loopback(&host) {
            return Err(Error::invalid(format!(
                "api_url {} uses http://, which is accepted only for loopback hosts; use https://",
                quote(trimmed)
            )));
        }
        Ok(Endpoint { base: trimmed.trim_end_matches('/').to_owned(), https, host })
    }

    /// api_url as given, without its trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// api_url joined with the token path: the same URL with or without a trailing slash.
    pub fn token_url(&self, token_path: &str) -> String {
        format!("{}/{}", self.base, token_path.trim_start_matches('/'))
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || host.parse::<IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

/// The proxy curl would use for this endpoint: `https_proxy`/`HTTPS_PROXY` (https) or
/// lower-case `http_proxy` (http; never `HTTP_PROXY`, which CGI fills from a request's `Proxy:`
/// header: httpoxy), then `all_proxy`/`ALL_PROXY`; none when `no_proxy`/`NO_PROXY` matches.
pub fn proxy_from_env(endpoint: &Endpoint, get: impl Fn(&str) -> Option<String>) -> Option<String> {
    let non_empty = |k: &str| get(k).filter(|v| !v.trim().is_empty());
    let no_proxy = non_empty("no_proxy").or_else(|| non_empty("NO_PROXY"));
    if let Some(list) = no_proxy {
        if no_proxy_matches(&list, &endpoint.host) {
            return None;
        }
    }
    let scheme_var = if endpoint.https { non_empty("https_proxy").or_else(|| non_empty("HTTPS_PROXY")) } else { non_empty("http_proxy") };
    scheme_var.or_else(|| non_empty("all_proxy")).or_else(|| non_empty("ALL_PROXY"))
}

/// curl's no_proxy: comma-separated host names (matching the host or any subdomain, a leading
/// dot ignored), IP addresses or CIDR ranges, or `*` for every host.
pub fn no_proxy_matches(list: &str, host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let host_ip = host.parse::<IpAddr>().ok();
    list.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches('[').trim_start_matches('.').to_ascii_lowercase();
        let entry = entry.replace(']', "");
        if let Some(ip) = host_ip {
            if let Some((net, bits)) = entry.split_once('/') {
                return match (net.parse::<IpAddr>(), bits.parse::<u32>()) {
                    (Ok(net), Ok(bits)) => cidr_contains(net, bits, ip),
                    _ => false,
                };
            }
            return entry.parse::<IpAddr>().map(|e| e == ip).unwrap_or(false);
        }
        host == entry || host.ends_with(&format!(".{entry}"))
    })
}

fn cidr_contains(net: IpAddr, bits: u32, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) if bits <= 32 => {
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            u32::from(n) & mask == u32::from(i) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(i)) if bits <= 128 => {
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            u128::from(n) & mask == u128::from(i) & mask
        }
        _ => false,
    }
}

/// The public roots (webpki-root-certs, the library's one copy of Mozilla's root store) plus
/// `extra`, built once per distinct set of extra certificates and shared by every client given
/// the same CA file contents (RootCerts clones share one Arc). The public certificates are
/// borrowed from the library's read-only data, not copied.
fn roots_with(extra: &[ureq::tls::Certificate<'static>]) -> RootCerts {
    type Entry = (Vec<ureq::tls::Certificate<'static>>, RootCerts);
    static CACHE: std::sync::Mutex<Vec<Entry>> = std::sync::Mutex::new(Vec::new());
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    let same = |k: &[ureq::tls::Certificate<'static>]| k.len() == extra.len() && k.iter().zip(extra).all(|(a, b)| a.der() == b.der());
    if let Some((_, roots)) = cache.iter().find(|(k, _)| same(k)) {
        return roots.clone();
    }
    let mut all: Vec<ureq::tls::Certificate<'static>> =
        webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref())).collect();
    all.extend(extra.iter().cloned());
    let roots = RootCerts::new_with_certs(&all);
    if cache.len() >= 8 {
        cache.remove(0);
    }
    cache.push((extra.to_vec(), roots.clone()));
    roots
}

/// rustls with ring, the one crypto provider the library is built with (ureq is built without a
/// provider of its own and without its second root store), made once. It loads no private keys:
/// the library never presents a client certificate, and leaving ring's key loading and signing
/// out keeps about 30 KiB of RSA/ECDSA/Ed25519 signing code out of the library.
fn crypto_provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    static PROVIDER: std::sync::OnceLock<std::sync::Arc<rustls::crypto::CryptoProvider>> = std::sync::OnceLock::new();
    PROVIDER
        .get_or_init(|| std::sync::Arc::new(rustls::crypto::CryptoProvider { key_provider: &NoClientKeys, ..rustls::crypto::ring::default_provider() }))
        .clone()
}

#[derive(Debug)]
struct NoClientKeys;

impl rustls::crypto::KeyProvider for NoClientKeys {
    fn load_private_key(
        &self,
        _key: rustls::pki_types::PrivateKeyDer<'static>,
    ) -> std::result::Result<std::sync::Arc<dyn rustls::sign::SigningKey>, rustls::Error> {
        Err(rustls::Error::General("flexiti-auth does not use client certificates".into()))
    }
}

/// An HTTP agent built from the options: its pooled connections belong to one process.
pub struct Transport {
    agent: Agent,
    resolver: SharedResolver,
}

impl Transport {
    pub fn new(endpoint: &Endpoint, options: &Options) -> Result<Transport> {
        let proxy_url = match &options.proxy {
            ProxySetting::Off => None,
            ProxySetting::Url(u) => Some(u.clone()),
            ProxySetting::Environment => proxy_from_env(endpoint, |k| std::env::var(k).ok()),
        };
        let proxy = match proxy_url {
            Some(u) => Some(ureq::Proxy::new(&u).map_err(|_| Error::invalid("the proxy URL (from the proxy option or the environment) is not valid"))?),
            None => None,
        };
        // ca_file adds to the public roots rather than replacing them.
        let root_certs = roots_with(options.ca_certs.as_ref().map_or(&[][..], |v| v.as_slice()));
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(proxy)
            .timeout_global(Some(Duration::from_millis(options.timeout_ms)))
            .timeout_connect(Some(Duration::from_millis(options.connect_timeout_ms)))
            .user_agent(options.user_agent.as_str())
            .accept("application/json")
            .no_delay(true)
            .max_idle_connections(4)
            .max_idle_connections_per_host(2)
            // Token requests and answers are a few hundred bytes (answers are read as a stream,
            // capped at 1 MiB): ureq's 128 KiB defaults, per connection and per layer (TCP, TLS),
            // are 512 KiB of zeroed memory for each client that has talked to the endpoint.
            .input_buffer_size(16 * 1024)
            .output_buffer_size(16 * 1024)
            .tls_config(TlsConfig::builder().root_certs(root_certs).unversioned_rustls_crypto_provider(crypto_provider()).build())
            .build();
        let resolver = SharedResolver::default();
        let connector = ureq::unversioned::transport::DefaultConnector::new().chain(CoalescingConnector);
        Ok(Transport { agent: Agent::with_parts(config, connector, resolver.clone()), resolver })
    }

    /// The kept-alive agent, for the POS-API calls of api_http.rs (same connections as tokens).
    pub fn agent(&self) -> &Agent {
        &self.agent
    }

    /// Look the host up again next time (after a connect failure: it may have moved).
    pub fn forget_resolved(&self) {
        self.resolver.0.forget();
    }

    /// POST the form, retrying transient failures: at most max_retries + 1 attempts, with
    /// backoff or the server's Retry-After (capped). `spent` is called once a request carrying
    /// the form may have reached the server with its outcome unknown; a form with a single-use
    /// refresh token is then not sent again. Returns the token response object.
    pub fn request_token(&self, req: &TokenRequest, spent: &mut dyn FnMut(), obs: &Observer) -> Result<(Map<String, Value>, Now)> {
        let attempts = req.max_retries + 1;
        let mut made = 0;
        loop {
            made += 1;
            obs.stats.count_request(req.grant);
            let started = Instant::now();
            let outcome = self.attempt(req, obs.secrets);
            let ms = started.elapsed().as_millis();
            let f = match outcome {
                Ok(m) => {
                    (obs.log)(Level::Debug, &|| {
                        format!("POST {} grant_type={} attempt {made}/{attempts}: HTTP {} in {ms} ms", req.url, req.grant, m.2)
                    });
                    return Ok((m.0, m.1));
                }
                Err(f) => f,
            };
            (obs.log)(Level::Debug, &|| {
                format!("POST {} grant_type={} attempt {made}/{attempts}: failed in {ms} ms: {}", req.url, req.grant, f.error.message)
            });
            if f.maybe_delivered {
                spent();
            }
            let retry = f.transient && made < attempts && !(f.maybe_delivered && req.single_use);
            if !retry {
                let mut e = f.error;
                if made > 1 {
                    e.message.push_str(&format!(" (after {made} attempts)"));
                }
                return Err(e);
            }
            let wait = f.retry_after.map(|d| d.min(MAX_RETRY_AFTER)).unwrap_or_else(|| backoff(made));
            bump(&obs.stats.retries);
            (obs.log)(Level::Warn, &|| {
                format!("{} grant attempt {made}/{attempts} failed ({}); retry {made} in {} ms", req.grant, f.error.status.name(), wait.as_millis())
            });
            std::thread::sleep(wait);
        }
    }

    /// One request. On success, also the moment it was sent (the token's created_at).
    fn attempt(&self, req: &TokenRequest, secrets: &[&str]) -> std::result::Result<(Map<String, Value>, Now, u16), Failure> {
        let sent_at = Now::read();
        let started = Instant::now();
        let sent = self
            .agent
            .post(&req.url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-reference-id", new_reference_id())
            .send(req.form.as_str().as_bytes());
        let mut resp = match sent {
            Ok(r) => r,
            Err(e) => {
                let f = transport_failure(e, req, started);
                if !f.maybe_delivered {
                    // The host may have moved: look it up again next time.
                    self.resolver.0.forget();
                }
                return Err(f);
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let declared = resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let too_big = declared.is_some_and(|n| n > MAX_BODY_BYTES);
        let body = if too_big { Err(ureq::Error::BodyExceedsLimit(MAX_BODY_BYTES)) } else { read_body(&mut resp, declared) };
        let what = format!("{} grant to {}", req.grant, req.url);
        if (200..300).contains(&status) {
            let body = match body {
                Ok(b) => b,
                Err(ureq::Error::BodyExceedsLimit(_)) => {
                    return Err(Failure::fatal(Error::bad_response(format!(
                        "token response is larger than {} bytes ({what})",
                        MAX_BODY_BYTES
                    ))))
                }
                Err(e) => return Err(transport_failure(e, req, started)),
            };
            return parse_token_body(body.as_slice()).map(|m| (m, sent_at, status)).map_err(|mut e| {
                e.message = format!("{} (HTTP {status}, {what})", e.message);
                e.http_status = Some(status);
                Failure::fatal(e)
            });
        }
        // An error answer: its body only serves the message, so a failure to read it is no matter.
        let detail = body.ok().map(|b| error_detail(b.as_slice(), secrets)).unwrap_or_default();
        let error_code = detail.code.clone().unwrap_or_default();
        let transient = status >= 500 || status == 408 || status == 429;
        let auth = matches!(status, 400 | 401 | 403 | 409)
            && matches!(error_code.as_str(), "invalid_client" | "unauthorized_client" | "invalid_grant" | "invalid_role");
        let mut msg = format!("token endpoint answered HTTP {status}");
        if (300..400).contains(&status) {
            msg.push_str(" (a redirect, not followed: credentials are never sent to another location)");
        }
        if let Some(text) = detail.describe() {
            msg.push_str(": ");
            msg.push_str(&text);
        }
        msg.push_str(&format!(" ({what})"));
        let status_code = if auth { FlxStatus::FLX_ERR_AUTH_REJECTED } else { FlxStatus::FLX_ERR_HTTP_STATUS };
        Err(Failure {
            error: Error { status: status_code, message: msg, http_status: Some(status) },
            transient,
            maybe_delivered: false,
            retry_after: if transient { retry_after } else { None },
        })
    }
}

/// The body, at most MAX_BODY_BYTES, read into memory that is overwritten before it is released
/// (it holds a token, or a server's echo of a secret): no growing Vec leaves copies behind.
fn read_body(resp: &mut ureq::http::Response<ureq::Body>, declared: Option<u64>) -> std::result::Result<SecretBytes, ureq::Error> {
    use std::io::Read;
    let mut reader = resp.body_mut().with_config().limit(MAX_BODY_BYTES).reader();
    let mut body = SecretBytes::with_capacity(declared.unwrap_or(1024).min(MAX_BODY_BYTES) as usize);
    let mut chunk = [0u8; 4096];
    let result = loop {
        match reader.read(&mut chunk) {
            Ok(0) => break Ok(()),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(ureq::Error::from(e)),
        }
    };
    crate::secret::wipe(&mut chunk);
    result.map(|()| body)
}

pub fn backoff(attempt: u32) -> Duration {
    BACKOFF_BASE.saturating_mul(1 << (attempt.saturating_sub(1)).min(8)).min(BACKOFF_CAP)
}

/// Where a request reports what happened: counters and (lazily formatted) log lines.
pub struct Observer<'a> {
    pub stats: &'a Stats,
    pub log: &'a dyn Fn(Level, &dyn Fn() -> String),
    /// Redacted from what the server says before it is cut short (a cut could hide a secret
    /// from a later redaction and leave a piece of it).
    pub secrets: &'a [&'a str],
}

/// One token request, ready to send.
pub struct TokenRequest {
    pub url: String,
    pub grant: &'static str,
    /// The form-encoded body (it carries the client_secret: wiped when dropped).
    pub form: SecretString,
    pub max_retries: u32,
    /// The form carries a single-use refresh token: never resend it once it may have arrived.
    pub single_use: bool,
}

struct Failure {
    error: Error,
    transient: bool,
    /// The request may have reached the server (so a rotating refresh token may be consumed).
    maybe_delivered: bool,
    retry_after: Option<Duration>,
}

impl Failure {
    fn fatal(error: Error) -> Failure {
        Failure { error, transient: false, maybe_delivered: true, retry_after: None }
    }
}

fn transport_failure(e: ureq::Error, req: &TokenRequest, started: Instant) -> Failure {
    let elapsed = started.elapsed().as_millis();
    let what = format!("{} grant to {}, after {elapsed} ms", req.grant, req.url);
    let (status, msg, transient, delivered) = match &e {
        ureq::Error::BodyExceedsLimit(_) => {
            (FlxStatus::FLX_ERR_BAD_RESPONSE, format!("token response is larger than {MAX_BODY_BYTES} bytes"), false, true)
        }
        _ => {
            let (msg, transient, delivered) = describe_failure(&e, "token request", "the token endpoint");
            (FlxStatus::FLX_ERR_NETWORK, msg, transient, delivered)
        }
    };
    Failure { error: Error::new(status, format!("{msg} ({what})")), transient, maybe_delivered: delivered, retry_after: None }
}

/// What a ureq error says of a request (`subject`: "token request" or "API request"; `host`: "the
/// token endpoint" or "the API host"): the message, whether trying again may help, and whether
/// the request may have reached the server. Token requests and POS-API calls share it.
pub(crate) fn describe_failure(e: &ureq::Error, subject: &str, host: &str) -> (String, bool, bool) {
    use ureq::Error as U;
    match e {
        U::Timeout(t) => {
            use ureq::Timeout as T;
            let before_send = matches!(t, T::Resolve | T::Connect);
            (format!("{subject} timed out ({t})"), true, !before_send)
        }
        U::HostNotFound => ("host not found (DNS lookup failed)".to_owned(), true, false),
        U::ConnectionFailed => (format!("could not connect to {host}"), true, false),
        // rustls reports handshake and certificate failures as InvalidData I/O errors.
        U::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => (format!("TLS error: {io}"), false, false),
        U::Io(io) => {
            use std::io::ErrorKind as K;
            let before_send = matches!(io.kind(), K::ConnectionRefused | K::AddrNotAvailable | K::NotFound);
            let text = match io.kind() {
                K::ConnectionRefused => "connection refused".to_owned(),
                K::ConnectionReset => "connection reset by the server".to_owned(),
                K::UnexpectedEof => "connection closed by the server before a complete answer".to_owned(),
                K::TimedOut | K::WouldBlock => format!("{subject} timed out"),
                _ => format!("I/O error: {io}"),
            };
            (text, true, !before_send)
        }
        U::Tls(t) => (format!("TLS error: {t}"), false, false),
        U::Rustls(r) => (format!("TLS error: {r}"), false, false),
        U::Protocol(p) => (format!("malformed HTTP answer: {p}"), true, true),
        U::InvalidProxyUrl | U::ConnectProxyFailed(_) => (format!("proxy failure: {e}"), true, false),
        other => (format!("HTTP error: {other}"), false, true),
    }
}

/// The token response object, or why it is not one.
pub fn parse_token_body(body: &[u8]) -> Result<Map<String, Value>> {
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_response("token response body is empty"));
    }
    crate::token::check_json_values(body, crate::token::MAX_JSON_VALUES, "token response").map_err(Error::bad_response)?;
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(Error::bad_response(format!("token response is a JSON {}, not an object", crate::token::type_name(&other)))),
        Err(e) => {
            let looks_html = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<');
            Err(Error::bad_response(if looks_html {
                "token response is HTML, not JSON".to_owned()
            } else {
                format!("token response is not valid JSON: {}", crate::session::describe_json_error(&e))
            }))
        }
    }
}

/// What an error body says: RFC 6749 (`error`, `error_description`) or Flexiti (`error`, `message`).
#[derive(Default)]
struct ErrorDetail {
    code: Option<String>,
    text: Option<String>,
}

impl ErrorDetail {
    fn describe(&self) -> Option<String> {
        match (&self.code, &self.text) {
            (Some(c), Some(t)) => Some(format!("{c}: {t}")),
            (Some(c), None) => Some(c.clone()),
            (None, Some(t)) => Some(t.clone()),
            (None, None) => None,
        }
    }
}

fn error_detail(body: &[u8], secrets: &[&str]) -> ErrorDetail {
    let mut parsed = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v,
        Err(_) => return ErrorDetail::default(),
    };
    let detail = match &parsed {
        Value::Object(m) => {
            let field = |k: &str| m.get(k).and_then(Value::as_str).map(|s| clip(&crate::error::redact(s, secrets), 300));
            ErrorDetail { code: field("error"), text: field("error_description").or_else(|| field("message")) }
        }
        _ => ErrorDetail::default(),
    };
    // An echo of the request may hold the secrets: overwrite what was parsed before dropping it.
    crate::secret::wipe_value(&mut parsed);
    detail
}

fn clip(s: &str, max: usize) -> String {
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Retry-After as delay-seconds or an HTTP date (IMF-fixdate).
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(v)?;
    let now = crate::clock::unix_now();
    Some(Duration::from_secs(at.saturating_sub(now).max(0) as u64))
}

/// An HTTP date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete RFC 850 and
/// asctime forms a recipient must also accept) → unix seconds. httpdate does the parsing.
fn parse_http_date(v: &str) -> Option<i64> {
    let at = httpdate::parse_http_date(v).ok()?;
    Some(match at.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(e) => -(e.duration().as_secs().min(i64::MAX as u64) as i64),
    })
}

/// application/x-www-form-urlencoded. Sized up front: a growing buffer would leave pieces of
/// the secret in the blocks it outgrew.
pub fn form_encode(pairs: &[(&str, &str)]) -> SecretString {
    let worst: usize = pairs.iter().map(|(k, v)| 3 * (k.len() + v.len()) + 2).sum();
    let mut out = String::with_capacity(worst);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        encode_into(&mut out, k);
        out.push('=');
        encode_into(&mut out, v);
    }
    SecretString::new(out)
}

fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
        }
    }
}

/// A random (version 4) UUID for the x-reference-id header.
pub fn new_reference_id() -> String {
    let mut b = [0u8; 16];
    if getrandom::getrandom(&mut b).is_err() {
        // No OS randomness: uniqueness, not secrecy, is what the header needs.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        b[..8].copy_from_slice(&(t as u64).to_le_bytes());
        b[8..].copy_from_slice(&(n ^ (std::process::id() as u64) << 32).to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(36);
    for (i, x) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 15) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_rules() {
        let a = Endpoint::parse("https://posapi.flexiti.fi/").unwrap();
        let b = Endpoint::parse("https://posapi.flexiti.fi").unwrap();
        assert_eq!(a.token_url("flexiti/online-api/oauth/token"), b.token_url("flexiti/online-api/oauth/token"));
        assert_eq!(a.token_url("/x"), "https://posapi.flexiti.fi/x");
        assert!(Endpoint::parse("http://127.0.0.1:8080/").is_ok());
        assert!(Endpoint::parse("http://[::1]:8080/").is_ok());
        assert!(Endpoint::parse("http://localhost/").is_ok());
        assert!(Endpoint::parse("http://posapi.flexiti.fi/").is_err());
        assert!(Endpoint::parse("ftp://x/").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn proxies_like_curl() {
        let https = Endpoint::parse("https://api.example.com/").unwrap();
        let http = Endpoint::parse("http://127.0.0.1:1/").unwrap();
        let env = |pairs: &'static [(&'static str, &'static str)]| move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string());
        assert_eq!(proxy_from_env(&https, env(&[("HTTPS_PROXY", "http://p:1")])), Some("http://p:1".into()));
        assert_eq!(proxy_from_env(&http, env(&[("HTTP_PROXY", "http://evil:1")])), None);
        assert_eq!(proxy_from_env(&http, env(&[("http_proxy", "http://p:2")])), Some("http://p:2".into()));
        assert_eq!(proxy_from_env(&https, env(&[("ALL_PROXY", "http://p:3")])), Some("http://p:3".into()));
        assert_eq!(proxy_from_env(&https, env(&[("https_proxy", "http://p:1"), ("NO_PROXY", ".example.com")])), None);
        assert_eq!(proxy_from_env(&http, env(&[("all_proxy", "http://p:1"), ("no_proxy", "127.0.0.0/8")])), None);
        assert!(no_proxy_matches("*", "x"));
        assert!(!no_proxy_matches("example.com", "notexample.com"));
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(784111777));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(784111777));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 CET"), None);
        assert_eq!(parse_http_date("Sun, 32 Nov 1994 08:49:37 GMT"), None);
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn form_encoding() {
        assert_eq!(form_encode(&[("a b", "c&d=é")]).as_str(), "a+b=c%26d%3D%C3%A9");
    }

    #[test]
    fn reference_ids_are_v4_uuids() {
        let a = new_reference_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert_ne!(a, new_reference_id());
    }
}
