//! Status codes and the error type every module returns.

use std::fmt;

/// Outcome of a library call. The numeric values are part of the stable ABI.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlxStatus {
    /// Success.
    FLX_OK = 0,
    /// A NULL pointer, invalid UTF-8, an empty or out-of-range value, an unknown option name.
    FLX_ERR_INVALID_ARGUMENT = 1,
    /// The token endpoint could not be reached: DNS, connect, TLS, timeout, connection reset.
    FLX_ERR_NETWORK = 2,
    /// The token endpoint answered with a non-2xx status (5xx, 408, 429, 3xx, other 4xx).
    FLX_ERR_HTTP_STATUS = 3,
    /// The token endpoint refused the credentials (invalid_client, unauthorized_client,
    /// invalid_grant, invalid_role).
    FLX_ERR_AUTH_REJECTED = 4,
    /// A 2xx answer that is not a usable token: not JSON, no access_token, wrong field types,
    /// a body over 1 MiB.
    FLX_ERR_BAD_RESPONSE = 5,
    /// Session export with no token held, or a session JSON that cannot be imported.
    FLX_ERR_SESSION = 6,
    /// A bug inside the library (a caught panic); the held token is unchanged.
    FLX_ERR_INTERNAL = 7,
    /// The token store (option token_store) is unusable: a directory that is not this user's
    /// alone (0700), cannot be created, or is not a directory. At run time a store that cannot
    /// be read or written costs no call its token: it is counted in store_errors instead, unless
    /// token_store_required=true (then the call fails with this code, naming the store and the
    /// cause: e.g. Redis unreachable, or refusing the password).
    FLX_ERR_STORE = 8,
}

const ALL_STATUSES: [FlxStatus; 9] = [
        FlxStatus::FLX_OK,
        FlxStatus::FLX_ERR_INVALID_ARGUMENT,
        FlxStatus::FLX_ERR_NETWORK,
        FlxStatus::FLX_ERR_HTTP_STATUS,
        FlxStatus::FLX_ERR_AUTH_REJECTED,
        FlxStatus::FLX_ERR_BAD_RESPONSE,
        FlxStatus::FLX_ERR_SESSION,
        FlxStatus::FLX_ERR_INTERNAL,
        FlxStatus::FLX_ERR_STORE,
    ];

impl FlxStatus {
    pub fn all() -> &'static [FlxStatus] {
        &ALL_STATUSES
    }

    pub fn from_code(code: i32) -> Option<FlxStatus> {
        ALL_STATUSES.iter().copied().find(|s| *s as i32 == code)
    }

    /// "NAME: description", NUL-terminated so the C surface can hand it out as is.
    pub fn describe_cstr(self) -> &'static str {
        match self {
            FlxStatus::FLX_OK => "FLX_OK: success\0",
            FlxStatus::FLX_ERR_INVALID_ARGUMENT => {
                "FLX_ERR_INVALID_ARGUMENT: invalid argument (NULL, invalid UTF-8, empty, out of range or unknown option)\0"
            }
            FlxStatus::FLX_ERR_NETWORK => {
                "FLX_ERR_NETWORK: the token endpoint could not be reached (DNS, connect, TLS, timeout, reset)\0"
            }
            FlxStatus::FLX_ERR_HTTP_STATUS => {
                "FLX_ERR_HTTP_STATUS: the token endpoint answered with an error status\0"
            }
            FlxStatus::FLX_ERR_AUTH_REJECTED => {
                "FLX_ERR_AUTH_REJECTED: the token endpoint rejected the client credentials or grant\0"
            }
            FlxStatus::FLX_ERR_BAD_RESPONSE => {
                "FLX_ERR_BAD_RESPONSE: the token endpoint's answer is not a usable token\0"
            }
            FlxStatus::FLX_ERR_SESSION => {
                "FLX_ERR_SESSION: no token held, or the session JSON cannot be imported\0"
            }
            FlxStatus::FLX_ERR_INTERNAL => "FLX_ERR_INTERNAL: internal error in flexiti-auth\0",
            FlxStatus::FLX_ERR_STORE => "FLX_ERR_STORE: the token store cannot be used (directory owner or mode, path, I/O; Redis unreachable or refusing the credentials)\0",
        }
    }

    pub fn name(self) -> &'static str {
        let d = self.describe_cstr();
        &d[..d.find(':').unwrap_or(d.len() - 1)]
    }
}

/// An error with its status code and a human message that never contains a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub status: FlxStatus,
    pub message: String,
    /// The HTTP status of the answer that caused it, if any (drives retry and fallback).
    pub http_status: Option<u16>,
}

impl Error {
    pub fn new(status: FlxStatus, message: impl Into<String>) -> Self {
        Error { status, message: message.into(), http_status: None }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(FlxStatus::FLX_ERR_INVALID_ARGUMENT, message)
    }
    pub fn session(message: impl Into<String>) -> Self {
        Self::new(FlxStatus::FLX_ERR_SESSION, message)
    }
    pub fn bad_response(message: impl Into<String>) -> Self {
        Self::new(FlxStatus::FLX_ERR_BAD_RESPONSE, message)
    }
    pub fn network(message: impl Into<String>) -> Self {
        Self::new(FlxStatus::FLX_ERR_NETWORK, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(FlxStatus::FLX_ERR_INTERNAL, message)
    }

    /// Replace every spelling of each secret (raw, form-encoded, JSON-escaped, or a long run of
    /// it) with "[redacted]". Servers sometimes echo what they received; nothing they echo may
    /// carry a secret into a message.
    pub fn redacted(mut self, secrets: &[&str]) -> Self {
        self.message = redact(&self.message, secrets);
        self
    }
}

/// A caller's value as it appears in a message: quoted, and cut short so an enormous argument
/// cannot make an enormous message.
pub fn quote(value: &str) -> String {
    const MAX: usize = 120;
    if value.len() <= MAX {
        return format!("{value:?}");
    }
    let mut end = MAX;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{:?}… ({} bytes)", &value[..end], value.len())
}

/// Every spelling of every secret, and every long enough run of one, replaced by "[redacted]"
/// (see redact.rs).
pub fn redact(text: &str, secrets: &[&str]) -> String {
    crate::redact::redact(text, secrets)
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status.name(), self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
