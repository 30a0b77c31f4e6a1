//! Options set by name (so the ABI stays stable as options are added), with their defaults.

use crate::error::{quote, Error, Result};
use std::sync::Arc;
use ureq::tls::{parse_pem, Certificate, PemItem};

pub const DEFAULT_TOKEN_PATH: &str = "flexiti/online-api/oauth/token";
/// POS API v2.5's token path, for `token_path`.
pub const POS_API_TOKEN_PATH: &str = "flexiti/pos-api/v2.5/oauth/token";

/// Where the proxy comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProxySetting {
    /// curl's environment variables (see transport::proxy_from_env).
    Environment,
    /// `proxy=none`: never use a proxy.
    Off,
    /// An explicit proxy URL.
    Url(String),
}

#[derive(Clone, Debug)]
pub struct Options {
    pub expiration_threshold_secs: i64,
    pub connect_timeout_ms: u64,
    pub timeout_ms: u64,
    pub max_retries: u32,
    pub token_path: String,
    pub scope: Option<String>,
    pub proxy: ProxySetting,
    /// Extra trust anchors from `ca_file`, parsed when the option is set.
    pub ca_certs: Option<Arc<Vec<Certificate<'static>>>>,
    pub user_agent: String,
    /// Largest POS-API answer body flx_request reads (token answers keep their own 1 MiB cap).
    pub max_response_bytes: u64,
    /// A non-cache call refreshes only a token at least this old (0: always, the guide's rule).
    pub refresh_min_age_secs: i64,
    /// `token_store` as set ("" for none), and the store it opened.
    pub token_store_spec: String,
    pub token_store: Option<Arc<dyn crate::store::TokenStore>>,
    /// `token_store_required`: a call that cannot use the store fails (FLX_ERR_STORE) instead of
    /// going on per process.
    pub token_store_required: bool,
    /// `store_check_ms`: how often the cached path re-reads a store that cannot signal changes
    /// (redis); 0: on every call.
    pub store_check_ms: u64,
}

/// max_response_bytes by default: 8 MiB.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

impl Default for Options {
    fn default() -> Self {
        Options {
            expiration_threshold_secs: 60,
            connect_timeout_ms: 5000,
            timeout_ms: 15000,
            max_retries: 2,
            token_path: DEFAULT_TOKEN_PATH.into(),
            scope: None,
            proxy: ProxySetting::Environment,
            ca_certs: None,
            user_agent: concat!("flexiti-auth/", env!("CARGO_PKG_VERSION")).into(),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            refresh_min_age_secs: 0,
            token_store_spec: String::new(),
            token_store: None,
            token_store_required: false,
            store_check_ms: 1000,
        }
    }
}

/// Which part of the client an option change touches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Affects {
    /// Only the token decisions (threshold, retries, scope, path): no new connection needed.
    Policy,
    /// How connections are made: the HTTP agent must be rebuilt.
    Transport,
    /// Where the token is shared: the client's store binding must be made again.
    Store,
}

pub const OPTION_NAMES: &[&str] = &[
    "expiration_threshold_secs",
    "connect_timeout_ms",
    "timeout_ms",
    "max_retries",
    "token_path",
    "scope",
    "proxy",
    "ca_file",
    "user_agent",
    "token_store",
    "refresh_min_age_secs",
    "token_store_required",
    "store_check_ms",
    "log_level",
    "log_file",
    "max_response_bytes",
];

impl Options {
    /// Whether a transport built from `self` is the one `other` would build: same timeouts,
    /// proxy setting, user agent and extra CA certificates (compared by content, as ca_file is
    /// read again each time it is set). Setting an option to the value it has then keeps the
    /// transport and its kept-alive connection.
    pub fn same_transport(&self, other: &Options) -> bool {
        let same_certs = match (&self.ca_certs, &other.ca_certs) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || (a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x.der() == y.der())),
            _ => false,
        };
        self.connect_timeout_ms == other.connect_timeout_ms
            && self.timeout_ms == other.timeout_ms
            && self.proxy == other.proxy
            && self.user_agent == other.user_agent
            && same_certs
    }

    /// Set one option from its string form. On error nothing changes.
    pub fn set(&mut self, name: &str, value: &str) -> Result<Affects> {
        match name {
            "expiration_threshold_secs" => {
                self.expiration_threshold_secs = parse_int(name, value, 0, MAX_THRESHOLD)? as i64;
                Ok(Affects::Policy)
            }
            "connect_timeout_ms" => {
                self.connect_timeout_ms = parse_int(name, value, 1, MAX_TIMEOUT_MS)?;
                Ok(Affects::Transport)
            }
            "timeout_ms" => {
                self.timeout_ms = parse_int(name, value, 1, MAX_TIMEOUT_MS)?;
                Ok(Affects::Transport)
            }
            "max_retries" => {
                self.max_retries = parse_int(name, value, 0, MAX_RETRIES)? as u32;
                Ok(Affects::Policy)
            }
            "token_path" => {
                let v = value.trim();
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) || v.contains(['?', '#']) {
                    return Err(Error::invalid(format!(
                        "option token_path must be a non-empty URL path without spaces, '?' or '#' (e.g. {DEFAULT_TOKEN_PATH} or {POS_API_TOKEN_PATH})"
                    )));
                }
                self.token_path = v.to_owned();
                Ok(Affects::Policy)
            }
            "scope" => {
                let v = value.trim();
                if v.chars().any(|c| c.is_control()) {
                    return Err(Error::invalid("option scope must not contain control characters"));
                }
                self.scope = (!v.is_empty()).then(|| v.to_owned());
                Ok(Affects::Policy)
            }
            "proxy" => {
                let v = value.trim();
                self.proxy = if v.is_empty() {
                    ProxySetting::Environment
                } else if v.eq_ignore_ascii_case("none") {
                    ProxySetting::Off
                } else {
                    ureq::Proxy::new(v).map_err(|_| {
                        Error::invalid("option proxy must be a proxy URL (http://host:port, socks5://host:port), \"none\" or empty for the environment")
                    })?;
                    ProxySetting::Url(v.to_owned())
                };
                Ok(Affects::Transport)
            }
            "ca_file" => {
                self.ca_certs = if value.is_empty() { None } else { Some(Arc::new(read_ca_file(value)?)) };
                Ok(Affects::Transport)
            }
            "user_agent" => {
                if value.chars().any(|c| c.is_control()) {
                    return Err(Error::invalid("option user_agent must not contain control characters"));
                }
                self.user_agent = if value.is_empty() { Options::default().user_agent } else { value.to_owned() };
                Ok(Affects::Transport)
            }
            "max_response_bytes" => {
                self.max_response_bytes = parse_int(name, value, 1, MAX_RESPONSE_BYTES)?;
                Ok(Affects::Policy)
            }
            "refresh_min_age_secs" => {
                self.refresh_min_age_secs = parse_int(name, value, 0, MAX_THRESHOLD)? as i64;
                Ok(Affects::Policy)
            }
            "token_store" => {
                let v = value.trim();
                if v == self.token_store_spec {
                    return Ok(Affects::Policy);
                }
                let store = crate::store::open(v)?;
                Ok(self.set_token_store(v, store))
            }
            "token_store_required" => {
                self.token_store_required = match value.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => true,
                    "0" | "false" | "no" | "off" | "" => false,
                    _ => return Err(Error::invalid(format!("option token_store_required must be true or false, got {:?}", shorten(value)))),
                };
                Ok(Affects::Policy)
            }
            "store_check_ms" => {
                self.store_check_ms = parse_int(name, value, 0, MAX_TIMEOUT_MS)?;
                Ok(Affects::Policy)
            }
            _ => Err(Error::invalid(format!("unknown option {}; known options: {}", quote(name), OPTION_NAMES.join(", ")))),
        }
    }
}

impl Options {
    /// `token_store` with the store already opened from `spec` (the client opens it before
    /// taking any lock: opening touches the file system).
    pub fn set_token_store(&mut self, spec: &str, store: Option<Arc<dyn crate::store::TokenStore>>) -> Affects {
        self.token_store_spec = if store.is_some() { spec.trim().to_owned() } else { String::new() };
        self.token_store = store;
        Affects::Store
    }
}

const MAX_THRESHOLD: u64 = 86_400;
const MAX_TIMEOUT_MS: u64 = 600_000;
const MAX_RETRIES: u64 = 10;
/// 1 GiB: a POS-API answer is kilobytes; the cap bounds memory, it is not a buffer size.
const MAX_RESPONSE_BYTES: u64 = 1024 * 1024 * 1024;

fn parse_int(name: &str, value: &str, min: u64, max: u64) -> Result<u64> {
    match value.trim().parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::invalid(format!("option {name} must be a whole number from {min} to {max}, got {:?}", shorten(value)))),
    }
}

/// Values in messages are cut short: an enormous string must not make an enormous message.
fn shorten(v: &str) -> String {
    if v.len() <= 40 {
        v.to_owned()
    } else {
        let mut end = 40;
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &v[..end])
    }
}

/// Read and parse a CA file: a regular file only (a FIFO, a device or a directory is refused
/// without reading from it), at most 4 MiB. It may block on a slow file system: call it with
/// no lock held (Client::set_option does).
pub fn read_ca_file(path: &str) -> Result<Vec<Certificate<'static>>> {
    use std::io::Read;
    // A CA bundle is kilobytes; a device or a huge file must not be read into memory.
    const MAX_CA_FILE_BYTES: u64 = 4 * 1024 * 1024;
    let cannot = |e: std::io::Error| Error::invalid(format!("option ca_file: cannot read {}: {e}", quote(path)));
    let mut open = std::fs::OpenOptions::new();
    open.read(true);
    // Opening a FIFO with no writer would block: open without waiting, then look at what it is.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut open, libc::O_NONBLOCK);
    let file = open.open(path).map_err(cannot)?;
    if !file.metadata().map_err(cannot)?.is_file() {
        return Err(Error::invalid(format!("option ca_file: {} is not a regular file", quote(path))));
    }
    let mut pem = Vec::new();
    file.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem).map_err(cannot)?;
    if pem.len() as u64 > MAX_CA_FILE_BYTES {
        return Err(Error::invalid(format!("option ca_file: {} is larger than {MAX_CA_FILE_BYTES} bytes", quote(path))));
    }
    let mut certs = Vec::new();
    for item in parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(_) => return Err(Error::invalid(format!("option ca_file: {} is not valid PEM", quote(path)))),
        }
    }
    if certs.is_empty() {
        return Err(Error::invalid(format!("option ca_file: {} holds no PEM certificate", quote(path))));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_the_option_and_change_nothing() {
        let mut o = Options::default();
        for (name, value) in [("timeout_ms", "0"), ("timeout_ms", "abc"), ("max_retries", "-1"), ("expiration_threshold_secs", "99999999"),
            ("token_path", ""), ("proxy", "::nope"), ("ca_file", "/nonexistent.pem"), ("colour", "blue")] {
            let e = o.set(name, value).unwrap_err();
            assert_eq!(e.status, crate::FlxStatus::FLX_ERR_INVALID_ARGUMENT);
            assert!(e.message.contains(name), "{}", e.message);
        }
        assert_eq!(o.timeout_ms, 15000);
        assert_eq!(o.max_retries, 2);
    }

    #[test]
    fn the_same_value_keeps_the_transport_and_another_does_not() {
        let base = Options::default();
        for (name, same, other) in [
            ("timeout_ms", "15000", "14999"),
            ("connect_timeout_ms", "5000", "5001"),
            ("proxy", "", "none"),
            ("user_agent", "", "pos/1"),
            ("ca_file", "", "/nonexistent"),
        ] {
            let mut o = base.clone();
            assert_eq!(o.set(name, same).unwrap(), Affects::Transport, "{name}");
            assert!(o.same_transport(&base), "{name}={same:?} is the value it had");
            if let Ok(Affects::Transport) = o.set(name, other) {
                assert!(!o.same_transport(&base), "{name}={other:?} is a change");
            }
        }
        let mut a = base.clone();
        a.set("proxy", "http://127.0.0.1:3128").unwrap();
        let mut b = a.clone();
        b.set("proxy", " http://127.0.0.1:3128 ").unwrap();
        assert!(a.same_transport(&b));
    }

    #[test]
    fn values_take() {
        let mut o = Options::default();
        assert_eq!(o.set("expiration_threshold_secs", "120").unwrap(), Affects::Policy);
        assert_eq!(o.expiration_threshold_secs, 120);
        o.set("proxy", "none").unwrap();
        assert_eq!(o.proxy, ProxySetting::Off);
        o.set("scope", "merchant").unwrap();
        assert_eq!(o.scope.as_deref(), Some("merchant"));
        o.set("scope", "").unwrap();
        assert_eq!(o.scope, None);
    }
}
