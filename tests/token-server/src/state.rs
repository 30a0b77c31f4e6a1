//! Server state: issued tokens, the request log, the fault queue and the issuing config.

use serde_json::{json, Map, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Start-up options that the state falls back to on reset.
#[derive(Clone)]
pub struct Defaults {
    pub client_id: String,
    pub client_secret: String,
    pub expires_in: i64,
}

/// How tokens are issued (POST /_control/config).
#[derive(Clone)]
pub struct Config {
    /// None: omit expires_in from success bodies.
    pub expires_in: Option<i64>,
    pub extra_fields: Map<String, Value>,
    pub omit_fields: Vec<String>,
    pub token_bytes: usize,
    pub role_error: bool,
    /// More accepted credentials: client_id -> client_secret.
    pub extra_clients: Map<String, Value>,
}

impl Config {
    fn new(d: &Defaults) -> Config {
        Config {
            expires_in: Some(d.expires_in),
            extra_fields: Map::new(),
            omit_fields: Vec::new(),
            token_bytes: 32,
            role_error: false,
            extra_clients: Map::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "expires_in": self.expires_in,
            "extra_fields": self.extra_fields,
            "omit_fields": self.omit_fields,
            "token_bytes": self.token_bytes,
            "role_error": self.role_error,
            "extra_clients": self.extra_clients.keys().collect::<Vec<_>>(),
        })
    }
}

/// Largest token_bytes accepted by the config.
pub const MAX_TOKEN_CHARS: u64 = 1 << 20;

/// One queued fault (POST /_control/faults).
#[derive(Clone, Default)]
pub struct Fault {
    /// The object as posted (shown in GET /_control/faults and in request records).
    pub spec: Map<String, Value>,
    pub grant_type: Option<String>,
    pub status: Option<u16>,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    pub delay_ms: Option<u64>,
    pub hang: bool,
    pub hang_ms: Option<u64>,
    pub close: bool,
    pub stall_body_ms: Option<u64>,
    pub trickle_ms: Option<u64>,
    pub reset_after_bytes: Option<u64>,
    pub oversize_bytes: Option<u64>,
    pub retry_after: Option<String>,
    pub count: u64,
    /// Applies to POS-API style requests (`/api/…`, `/flexiti/pos-api/…`) instead of token requests.
    pub api: bool,
}

const FAULT_KEYS: &[&str] = &[
    "grant_type",
    "status",
    "body",
    "headers",
    "delay_ms",
    "hang",
    "hang_ms",
    "close",
    "stall_body_ms",
    "trickle_ms",
    "reset_after_bytes",
    "oversize_bytes",
    "retry_after",
    "count",
    "api",
];

fn header_text_ok(s: &str) -> bool {
    !s.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0)
}

fn get_u64(obj: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_u64()
            .map(Some)
            .ok_or_else(|| format!("\"{key}\" must be a non-negative integer")),
    }
}

fn get_bool(obj: &Map<String, Value>, key: &str) -> Result<bool, String> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("\"{key}\" must be a boolean")),
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Fault {
    pub fn parse(v: &Value) -> Result<Fault, String> {
        let Value::Object(obj) = v else {
            return Err("each fault must be a JSON object".into());
        };
        for k in obj.keys() {
            if !FAULT_KEYS.contains(&k.as_str()) {
                return Err(format!(
                    "unknown fault key \"{k}\" (known: {})",
                    FAULT_KEYS.join(", ")
                ));
            }
        }
        let mut f = Fault {
            spec: obj.clone(),
            ..Fault::default()
        };
        f.grant_type = match obj.get("grant_type") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("\"grant_type\" must be a string".into()),
        };
        f.status = match get_u64(obj, "status")? {
            None => None,
            Some(s) if (100..=999).contains(&s) => Some(s as u16),
            Some(_) => return Err("\"status\" must be between 100 and 999".into()),
        };
        f.body = match obj.get("body") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        match obj.get("headers") {
            None | Some(Value::Null) => {}
            Some(Value::Object(h)) => {
                for (n, v) in h {
                    let Some(v) = scalar_string(v) else {
                        return Err(format!("header \"{n}\" must have a string value"));
                    };
                    if n.is_empty()
                        || !n
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                        || !header_text_ok(&v)
                    {
                        return Err(format!("invalid header \"{n}\""));
                    }
                    f.headers.push((n.clone(), v));
                }
            }
            Some(_) => return Err("\"headers\" must be an object".into()),
        }
        f.delay_ms = get_u64(obj, "delay_ms")?;
        f.hang = get_bool(obj, "hang")?;
        f.hang_ms = get_u64(obj, "hang_ms")?;
        f.close = get_bool(obj, "close")?;
        f.stall_body_ms = get_u64(obj, "stall_body_ms")?;
        f.trickle_ms = get_u64(obj, "trickle_ms")?;
        f.reset_after_bytes = get_u64(obj, "reset_after_bytes")?;
        f.oversize_bytes = get_u64(obj, "oversize_bytes")?;
        f.retry_after = match obj.get("retry_after") {
            None | Some(Value::Null) => None,
            Some(v) => match scalar_string(v) {
                Some(s) if header_text_ok(&s) => Some(s),
                _ => return Err("\"retry_after\" must be a string".into()),
            },
        };
        f.api = get_bool(obj, "api")?;
        if f.api && f.grant_type.is_some() {
            return Err("\"grant_type\" does not apply to an \"api\" fault".into());
        }
        f.count = match get_u64(obj, "count")? {
            None => 1,
            Some(0) => return Err("\"count\" must be at least 1".into()),
            Some(n) => n,
        };
        Ok(f)
    }

    fn matches(&self, grant_type: Option<&str>, api: bool) -> bool {
        if self.api != api {
            return false;
        }
        match &self.grant_type {
            None => true,
            Some(g) => grant_type == Some(g.as_str()),
        }
    }

    fn to_json(&self) -> Value {
        let mut m = self.spec.clone();
        m.insert("remaining".into(), json!(self.count));
        Value::Object(m)
    }
}

struct Issued {
    issued_at: Instant,
    lifetime_secs: i64,
    expired: bool,
    refresh_used: bool,
}

impl Issued {
    fn is_expired(&self) -> bool {
        self.expired
            || self.lifetime_secs <= 0
            || self.issued_at.elapsed() >= Duration::from_secs(self.lifetime_secs as u64)
    }
}

/// The outcome of normal token-endpoint handling.
pub struct TokenAnswer {
    pub status: u16,
    pub body: Value,
    /// Short description for the verbose log.
    pub note: String,
}

pub struct State {
    pub start: Instant,
    pub defaults: Defaults,
    pub config: Config,
    /// (internal unique id, record) — the id survives log clears and resets.
    records: Vec<(u64, Value)>,
    next_seq: u64,
    next_record_uid: u64,
    faults: VecDeque<Fault>,
    access_tokens: Vec<String>,
    refresh_tokens: Vec<String>,
    by_refresh: HashMap<String, Issued>,
    /// access token -> the refresh token issued with it (whose entry says whether it is current).
    by_access: HashMap<String, String>,
    /// Per-key counters of the POS-API style endpoints (invalid-token-once, unavailable).
    api_counters: HashMap<String, u64>,
    api_requests: u64,
    all_tokens: HashSet<String>,
    rng: u64,
    counter: u64,
    token_requests: u64,
    connections: u64,
    token_connection_ids: HashSet<u64>,
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn form_get<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn oauth_error(error: &str, description: &str) -> Value {
    json!({ "error": error, "error_description": description })
}

impl State {
    pub fn new(defaults: Defaults) -> State {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let local = 0u8;
        let seed = nanos
            ^ ((std::process::id() as u64) << 32)
            ^ (&local as *const u8 as usize as u64).rotate_left(17);
        State {
            start: Instant::now(),
            config: Config::new(&defaults),
            defaults,
            records: Vec::new(),
            next_seq: 1,
            next_record_uid: 1,
            faults: VecDeque::new(),
            access_tokens: Vec::new(),
            refresh_tokens: Vec::new(),
            by_refresh: HashMap::new(),
            by_access: HashMap::new(),
            api_counters: HashMap::new(),
            api_requests: 0,
            all_tokens: HashSet::new(),
            rng: seed,
            counter: 0,
            token_requests: 0,
            connections: 0,
            token_connection_ids: HashSet::new(),
        }
    }

    pub fn elapsed_ms(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// Back to the start state (the clock and the PRNG keep going).
    pub fn reset(&mut self) {
        self.config = Config::new(&self.defaults);
        self.records.clear();
        self.next_seq = 1;
        self.faults.clear();
        self.access_tokens.clear();
        self.refresh_tokens.clear();
        self.by_refresh.clear();
        self.by_access.clear();
        self.api_counters.clear();
        self.api_requests = 0;
        self.all_tokens.clear();
        self.token_requests = 0;
        self.connections = 0;
        self.token_connection_ids.clear();
    }

    pub fn connection_accepted(&mut self) {
        self.connections += 1;
    }

    pub fn stats(&self, open_connections: u64) -> Value {
        json!({
            "connections": self.connections,
            "token_requests": self.token_requests,
            "api_requests": self.api_requests,
            "open_connections": open_connections,
            "token_connections": self.token_connection_ids.len(),
            "uptime_ms": self.elapsed_ms(),
        })
    }

    // --- request log ---

    /// Appends a record (seq and received_ms are filled in); returns its internal id.
    pub fn record(&mut self, mut rec: Map<String, Value>, connection_id: u64) -> u64 {
        let uid = self.next_record_uid;
        self.next_record_uid += 1;
        rec.insert("seq".into(), json!(self.next_seq));
        self.next_seq += 1;
        self.token_requests += 1;
        self.token_connection_ids.insert(connection_id);
        self.records.push((uid, Value::Object(rec)));
        uid
    }

    /// Appends the record of a POS-API style request (counted apart from token requests).
    pub fn record_api(&mut self, mut rec: Map<String, Value>) -> u64 {
        let uid = self.next_record_uid;
        self.next_record_uid += 1;
        rec.insert("seq".into(), json!(self.next_seq));
        self.next_seq += 1;
        self.api_requests += 1;
        self.records.push((uid, Value::Object(rec)));
        uid
    }

    /// Counts one more request for `key`; returns the count so far (1 for the first).
    pub fn bump_api_counter(&mut self, key: &str) -> u64 {
        let n = self.api_counters.entry(key.to_string()).or_insert(0);
        *n += 1;
        *n
    }

    /// Whether `access_token` is one this server issued and still current: not expired, not
    /// expired by /_control/expire, and not replaced by a refresh (which revokes it).
    pub fn token_is_current(&self, access_token: &str) -> bool {
        self.by_access
            .get(access_token)
            .and_then(|rt| self.by_refresh.get(rt))
            .is_some_and(|i| !i.is_expired() && !i.refresh_used)
    }

    pub fn update_record(&mut self, uid: u64, key: &str, value: Value) {
        if let Some((_, Value::Object(m))) = self.records.iter_mut().find(|(u, _)| *u == uid) {
            m.insert(key.to_string(), value);
        }
    }

    pub fn records_json(&self) -> Value {
        Value::Array(self.records.iter().map(|(_, r)| r.clone()).collect())
    }

    pub fn clear_records(&mut self) -> usize {
        let n = self.records.len();
        self.records.clear();
        n
    }

    // --- faults ---

    pub fn push_faults(&mut self, faults: Vec<Fault>) -> usize {
        self.faults.extend(faults);
        self.faults.len()
    }

    pub fn clear_faults(&mut self) -> usize {
        let n = self.faults.len();
        self.faults.clear();
        n
    }

    pub fn faults_json(&self) -> Value {
        Value::Array(self.faults.iter().map(Fault::to_json).collect())
    }

    /// Takes the first queued fault matching this request (decrementing its count).
    pub fn take_fault(&mut self, grant_type: Option<&str>, api: bool) -> Option<Fault> {
        let i = self.faults.iter().position(|f| f.matches(grant_type, api))?;
        let f = &mut self.faults[i];
        f.count -= 1;
        let taken = f.clone();
        if f.count == 0 {
            self.faults.remove(i);
        }
        Some(taken)
    }

    // --- tokens ---

    fn new_token(&mut self, hex_chars: usize) -> String {
        // Counter mixed into the PRNG stream, plus a uniqueness check (impossible to
        // guarantee for very short tokens, so give up after a few tries).
        let mut token = String::new();
        for _ in 0..64 {
            self.counter += 1;
            token.clear();
            let mut salt = self.counter.wrapping_mul(0xD6E8_FEB8_6659_FD93);
            while token.len() < hex_chars {
                let word = splitmix64(&mut self.rng) ^ salt;
                salt = 0;
                token.push_str(&format!("{word:016x}"));
            }
            token.truncate(hex_chars);
            if !self.all_tokens.contains(&token) {
                break;
            }
        }
        self.all_tokens.insert(token.clone());
        token
    }

    fn issue(&mut self, scope: Option<&str>) -> Value {
        let access = self.new_token(self.config.token_bytes);
        let refresh = self.new_token(32);
        let lifetime = self.config.expires_in.unwrap_or(self.defaults.expires_in);
        self.access_tokens.push(access.clone());
        self.refresh_tokens.push(refresh.clone());
        self.by_access.insert(access.clone(), refresh.clone());
        self.by_refresh.insert(
            refresh.clone(),
            Issued {
                issued_at: Instant::now(),
                lifetime_secs: lifetime,
                expired: false,
                refresh_used: false,
            },
        );
        let mut body = Map::new();
        body.insert("token_type".into(), json!("bearer"));
        body.insert("access_token".into(), json!(access));
        if let Some(e) = self.config.expires_in {
            body.insert("expires_in".into(), json!(e));
        }
        body.insert("refresh_token".into(), json!(refresh));
        if let Some(s) = scope {
            body.insert("scope".into(), json!(s));
        }
        for (k, v) in &self.config.extra_fields {
            body.insert(k.clone(), v.clone());
        }
        for k in &self.config.omit_fields {
            body.remove(k);
        }
        Value::Object(body)
    }

    /// Normal (fault-free) token endpoint handling, Flexiti style.
    pub fn token_endpoint(
        &mut self,
        path: &str,
        form_content_type: bool,
        form: &[(String, String)],
    ) -> TokenAnswer {
        let answer = |status, body, note: &str| TokenAnswer {
            status,
            body,
            note: note.to_string(),
        };
        if self.config.role_error {
            return answer(
                409,
                json!({"url": path, "message": "Account not provisioned", "error": "invalid_role"}),
                "invalid_role (config)",
            );
        }
        if !form_content_type {
            return answer(
                400,
                oauth_error(
                    "invalid_request",
                    "Content-Type must be application/x-www-form-urlencoded",
                ),
                "invalid_request (content-type)",
            );
        }
        let default_client = form_get(form, "client_id") == Some(self.defaults.client_id.as_str())
            && form_get(form, "client_secret") == Some(self.defaults.client_secret.as_str());
        let extra_client = form_get(form, "client_id")
            .and_then(|id| self.config.extra_clients.get(id))
            .is_some_and(|s| s.as_str() == form_get(form, "client_secret"));
        if !default_client && !extra_client {
            return answer(
                400,
                oauth_error("invalid_client", "Bad client credentials"),
                "invalid_client",
            );
        }
        let scope = form_get(form, "scope").map(str::to_string);
        match form_get(form, "grant_type") {
            Some("client_credentials") => {
                let body = self.issue(scope.as_deref());
                answer(200, body, "issued (client_credentials)")
            }
            Some("refresh_token") => {
                let rt = form_get(form, "refresh_token").unwrap_or("");
                let why = match self.by_refresh.get(rt) {
                    None => Some("unknown refresh token"),
                    Some(i) if i.refresh_used => Some("refresh token already used"),
                    Some(i) if i.is_expired() => Some("token expired"),
                    Some(_) => None,
                };
                if let Some(why) = why {
                    return answer(
                        400,
                        oauth_error("invalid_grant", "Invalid refresh token"),
                        &format!("invalid_grant ({why})"),
                    );
                }
                if let Some(i) = self.by_refresh.get_mut(rt) {
                    i.refresh_used = true;
                }
                let body = self.issue(scope.as_deref());
                answer(200, body, "issued (refresh_token)")
            }
            _ => answer(
                400,
                oauth_error("invalid_request", "Missing or invalid grant_type"),
                "invalid_request (grant_type)",
            ),
        }
    }

    /// Marks every issued token as expired; returns how many were not yet.
    pub fn expire_all(&mut self) -> usize {
        let mut n = 0;
        for i in self.by_refresh.values_mut() {
            if !i.is_expired() {
                n += 1;
            }
            i.expired = true;
        }
        n
    }

    pub fn issued_json(&self) -> Value {
        json!({
            "access_tokens": self.access_tokens,
            "refresh_tokens": self.refresh_tokens,
        })
    }

    /// Applies a partial config update. Unknown keys and bad types are errors (nothing is
    /// changed then).
    pub fn update_config(&mut self, v: &Value) -> Result<(), String> {
        let Value::Object(obj) = v else {
            return Err("config must be a JSON object".into());
        };
        let mut c = self.config.clone();
        for (k, v) in obj {
            match k.as_str() {
                "expires_in" => {
                    c.expires_in = match v {
                        Value::Null => None,
                        v => Some(
                            v.as_i64()
                                .ok_or("\"expires_in\" must be an integer or null")?,
                        ),
                    }
                }
                "extra_fields" => {
                    c.extra_fields = match v {
                        Value::Null => Map::new(),
                        Value::Object(m) => m.clone(),
                        _ => return Err("\"extra_fields\" must be an object".into()),
                    }
                }
                "omit_fields" => {
                    c.omit_fields = match v {
                        Value::Null => Vec::new(),
                        Value::Array(a) => a
                            .iter()
                            .map(|x| x.as_str().map(str::to_string))
                            .collect::<Option<Vec<_>>>()
                            .ok_or("\"omit_fields\" must be an array of strings")?,
                        _ => return Err("\"omit_fields\" must be an array of strings".into()),
                    }
                }
                "token_bytes" => {
                    c.token_bytes = match v.as_u64() {
                        Some(n) if n <= MAX_TOKEN_CHARS => n as usize,
                        _ => {
                            return Err(format!(
                                "\"token_bytes\" must be an integer from 0 to {MAX_TOKEN_CHARS}"
                            ))
                        }
                    }
                }
                "role_error" => {
                    c.role_error = v.as_bool().ok_or("\"role_error\" must be a boolean")?;
                }
                "extra_clients" => {
                    c.extra_clients = match v {
                        Value::Null => Map::new(),
                        Value::Object(m) if m.values().all(Value::is_string) => m.clone(),
                        _ => return Err("\"extra_clients\" must be an object of client_id: client_secret strings".into()),
                    }
                }
                other => {
                    return Err(format!(
                        "unknown config key \"{other}\" (known: expires_in, extra_fields, \
                         omit_fields, token_bytes, role_error, extra_clients)"
                    ))
                }
            }
        }
        self.config = c;
        Ok(())
    }
}
