//! POS-API style endpoints, for tests of authenticated API calls (flx_request). Every one
//! checks the bearer token like Flexiti does: it must be one this server issued and still
//! current (not expired, not expired by /_control/expire, not replaced by a refresh), else
//! 401 with `WWW-Authenticate: Bearer error="invalid_token"` and an `invalid_token` body.
//!
//! | path | answer |
//! | --- | --- |
//! | `/api/echo[/…]`, `/flexiti/pos-api/…` (any method) | 200 (or the status in the request header `x-echo-status`), the echo |
//! | `/api/invalid-token-once/<key>` | 401 invalid_token the first time for each key (whatever the token), then like echo |
//! | `/api/unavailable/<n>/<key>[?status=S&retry_after=R]` | 503 (or S) n times per key, with `Retry-After: R` when given, then like echo |
//! | `/api/oversize/<bytes>[?unframed=1]` | 200, a JSON-looking body of that many bytes (with `unframed=1`: no Content-Length, the body ends at close) |
//!
//! The echo: `{"method","path","query","headers":{lower-case name: value},"body":"…raw…",
//! "json":<the body parsed, or null>,"connection_id":n,"bearer_current":true}`.

use crate::http::{Body, Request, Response};
use crate::state::State;
use serde_json::{json, Value};

pub enum Route {
    Echo,
    InvalidOnce(String),
    Unavailable { times: u64, key: String },
    Oversize { bytes: u64 },
}

impl Route {
    pub fn name(&self) -> &'static str {
        match self {
            Route::Echo => "echo",
            Route::InvalidOnce(_) => "invalid-token-once",
            Route::Unavailable { .. } => "unavailable",
            Route::Oversize { .. } => "oversize",
        }
    }
}

pub fn route(path: &str) -> Option<Route> {
    if path.starts_with("/flexiti/pos-api/") {
        return Some(Route::Echo);
    }
    let rest = path.strip_prefix("/api/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    match parts.as_slice() {
        ["echo", ..] => Some(Route::Echo),
        ["invalid-token-once", key] => Some(Route::InvalidOnce(key.to_string())),
        ["unavailable", n, key] => Some(Route::Unavailable { times: n.parse().ok()?, key: key.to_string() }),
        ["oversize", n] => Some(Route::Oversize { bytes: n.parse().ok()? }),
        _ => None,
    }
}

fn query_param<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.query.as_deref()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        (k == name).then_some(v)
    })
}

fn bearer(req: &Request) -> Option<&str> {
    let v = req.header("authorization")?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn invalid_token(why: &str) -> Response {
    let mut r = Response::json(401, &json!({ "error": "invalid_token", "error_description": why }));
    r.set_header("WWW-Authenticate", &format!("Bearer error=\"invalid_token\", error_description=\"{why}\""));
    r
}

fn echo(req: &Request, conn_id: u64) -> Response {
    let headers = req.headers_json();
    let status = req.header("x-echo-status").and_then(|s| s.trim().parse::<u16>().ok()).filter(|s| (200..=599).contains(s)).unwrap_or(200);
    Response::json(
        status,
        &json!({
            "method": req.method,
            "path": req.path,
            "query": req.query,
            "headers": headers,
            "body": String::from_utf8_lossy(&req.body),
            "json": serde_json::from_slice::<Value>(&req.body).ok(),
            "connection_id": conn_id,
            "bearer_current": true,
        }),
    )
}

/// The endpoint's answer (faults are applied by the caller, before this).
pub fn respond(st: &mut State, req: &Request, conn_id: u64, route: &Route) -> Response {
    if let Route::InvalidOnce(key) = route {
        if st.bump_api_counter(&format!("invalid-once/{key}")) == 1 {
            return invalid_token("The access token is invalid (invalid-token-once)");
        }
    }
    let current = bearer(req).is_some_and(|t| st.token_is_current(t));
    if !current {
        let why = if bearer(req).is_none() { "No bearer token" } else { "The access token is invalid or expired" };
        return invalid_token(why);
    }
    match route {
        Route::Echo | Route::InvalidOnce(_) => echo(req, conn_id),
        Route::Unavailable { times, key } => {
            let n = st.bump_api_counter(&format!("unavailable/{key}"));
            if n <= *times {
                let status = query_param(req, "status").and_then(|s| s.parse::<u16>().ok()).unwrap_or(503);
                let mut r = Response::json(status, &json!({ "error": "service_unavailable", "message": "try again later", "attempt": n }));
                if let Some(ra) = query_param(req, "retry_after") {
                    r.set_header("Retry-After", ra);
                }
                r
            } else {
                echo(req, conn_id)
            }
        }
        Route::Oversize { bytes, .. } => {
            let unframed = query_param(req, "unframed") == Some("1");
            Response {
                status: 200,
                headers: vec![("Content-Type".into(), "application/json;charset=UTF-8".into())],
                body: if unframed { Body::Unframed(*bytes) } else { Body::Oversize(*bytes) },
            }
        }
    }
}
