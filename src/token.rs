//! The held token and the decision the guide's getFlexitiToken makes about it.

use crate::clock::{self, Now};
use crate::error::{Error, Result};
use crate::expiry::is_age_expired;
use serde_json::{Map, Value};

/// Lifetime assumed when a token response carries no `expires_in` (Flexiti's 20 minutes).
pub const DEFAULT_EXPIRES_IN: i64 = 1200;
/// Longest lifetime accepted from a server or a session (one year); more is a broken answer.
pub const MAX_EXPIRES_IN: i64 = 365 * 24 * 3600;

/// A token the client holds: the server's response as it came, plus when it was created.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldToken {
    /// Every field of the token response; `expires_in` is always present (1200 if the server
    /// left it out).
    pub response: Map<String, Value>,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: i64,
    /// Wall-clock unix seconds at which the successful token request was sent.
    pub created_at: i64,
    /// The same moment on the suspend-aware clock (see clock.rs).
    pub created_steady: i64,
    /// `response` plus `created_at`, serialised once so the cached path only copies bytes.
    pub token_json: String,
}

/// A held token's memory holds its secrets: every copy is overwritten before it is released.
impl Drop for HeldToken {
    fn drop(&mut self) {
        crate::secret::wipe_string(&mut self.access_token);
        if let Some(r) = &mut self.refresh_token {
            crate::secret::wipe_string(r);
        }
        crate::secret::wipe_string(&mut self.token_json);
        crate::secret::wipe_map(&mut self.response);
    }
}

impl HeldToken {
    /// Validate a token response (or a session's token object) and build the held token. A
    /// refused response is overwritten before it is dropped (it may hold a token all the same).
    pub fn from_response(mut response: Map<String, Value>, created_at: i64, created_steady: i64) -> Result<Self> {
        match Self::validate(&mut response, created_at) {
            Ok((access_token, refresh_token, expires_in, token_json)) => {
                Ok(HeldToken { response, access_token, refresh_token, expires_in, created_at, created_steady, token_json })
            }
            Err(e) => {
                crate::secret::wipe_map(&mut response);
                Err(e)
            }
        }
    }

    /// The checks of from_response: the access token, refresh token, lifetime and token JSON.
    fn validate(response: &mut Map<String, Value>, created_at: i64) -> Result<(String, Option<String>, i64, String)> {
        // The token travels inside session JSON (one level deeper) and must come back from it.
        if response.values().any(|v| depth(v) > MAX_FIELD_DEPTH) {
            return Err(Error::bad_response(format!("token response nests deeper than {MAX_FIELD_DEPTH} levels")));
        }
        // Whatever the input size was, what is kept (and copied into every session) is bounded.
        let (values, memory) = response.iter().fold((1, 0), |(n, m), (k, v)| {
            let (n2, m2) = footprint(v);
            (n + n2, m + m2 + k.len())
        });
        if values > MAX_JSON_VALUES {
            return Err(Error::bad_response(format!("token response holds {values} JSON values, over the {MAX_JSON_VALUES} allowed")));
        }
        if memory > MAX_TOKEN_MEMORY {
            return Err(Error::bad_response(format!("token response takes {memory} bytes in memory, over the {MAX_TOKEN_MEMORY} allowed")));
        }
        let access_token = match response.get("access_token") {
            Some(Value::String(s)) if usable_token(s) => s.clone(),
            Some(Value::String(_)) => {
                return Err(Error::bad_response("token response has an empty access_token or one with control characters"))
            }
            Some(other) => {
                return Err(Error::bad_response(format!("token response has an access_token of type {}, not a string", type_name(other))))
            }
            None => return Err(Error::bad_response("token response has no access_token")),
        };
        let refresh_token = match response.get("refresh_token") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.is_empty() => None,
            Some(Value::String(s)) if usable_token(s) => Some(s.clone()),
            Some(Value::String(_)) => return Err(Error::bad_response("token response has a refresh_token with control characters")),
            Some(other) => {
                return Err(Error::bad_response(format!("token response has a refresh_token of type {}, not a string", type_name(other))))
            }
        };
        if let Some(t) = response.get("token_type") {
            if !t.is_string() {
                return Err(Error::bad_response(format!("token response has a token_type of type {}, not a string", type_name(t))));
            }
        }
        let expires_in = match response.get("expires_in") {
            None | Some(Value::Null) => DEFAULT_EXPIRES_IN,
            Some(v) => parse_expires_in(v)?,
        };
        // The token JSON states the lifetime the library uses, as a number.
        response.insert("expires_in".into(), Value::from(expires_in));
        let mut with_created = Value::Object(response.clone());
        with_created["created_at"] = Value::from(created_at);
        let token_json = crate::secret::json_string(&with_created);
        crate::secret::wipe_value(&mut with_created);
        let token_json = token_json.map_err(|e| Error::internal(format!("cannot serialise token JSON: {e}")))?;
        Ok((access_token, refresh_token, expires_in, token_json))
    }

    /// Age in seconds: the larger of the wall-clock age and the suspend-aware age, never negative.
    pub fn age(&self, now: Now) -> i128 {
        let wall = now.wall as i128 - self.created_at as i128;
        let steady = now.steady as i128 - self.created_steady as i128;
        wall.max(steady).max(0)
    }

    pub fn is_expired(&self, threshold: i64, now: Now) -> bool {
        is_age_expired(self.age(now), self.expires_in, threshold)
    }

    /// `is_expired(threshold, Now::read())`, with the clocks read as cheaply as the rule allows
    /// (the cached path). With a usable life `L = expires_in - threshold > 0`, the rule
    /// `max(wall age, steady age, 0) >= L` is `steady >= created_steady + L` or
    /// `wall >= created_at + L`: both through `clock::both_before`, which answers exactly as the
    /// clocks' exact readings would, from coarse readings outside a token's last seconds.
    #[inline]
    pub fn is_expired_now(&self, threshold: i64) -> bool {
        self.is_expired_at(threshold, &clock::Coarse::read())
    }

    /// `is_expired_now` from coarse clocks the caller read (and shares with other checks).
    #[inline]
    pub fn is_expired_at(&self, threshold: i64, now: &clock::Coarse) -> bool {
        let life = self.expires_in as i128 - threshold as i128;
        if life <= 0 {
            return true;
        }
        !clock::both_before(now, self.created_steady as i128 + life, self.created_at as i128 + life)
    }

    /// Seconds of usable life left before the threshold (negative once expired).
    pub fn seconds_left(&self, threshold: i64, now: Now) -> i128 {
        self.expires_in as i128 - threshold as i128 - self.age(now)
    }
}

/// How deep a token response's fields may nest (Flexiti's are flat; JSON parsers stop at ~128).
pub const MAX_FIELD_DEPTH: usize = 32;

/// Most JSON values (objects, arrays, strings, numbers, …) a token response may hold. A token
/// has a handful; the cap bounds what parsing builds: a 1 MiB document of `[],[],…` would
/// otherwise become over 10 MiB of values in memory.
pub const MAX_JSON_VALUES: usize = 10_000;
/// Most memory a parsed token response may take (its strings plus the values holding them).
pub const MAX_TOKEN_MEMORY: usize = 2 * 1024 * 1024;

/// An upper bound of the number of values in a JSON document, from its bytes, before any is
/// built: every value but the first follows a ',' or opens with '[' or '{' (outside strings).
pub fn json_values_upper_bound(bytes: &[u8]) -> usize {
    let (mut n, mut in_string, mut escaped) = (1usize, false, false);
    for &b in bytes {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b',' | b'[' | b'{' => n += 1,
                _ => {}
            }
        }
    }
    n
}

/// Refuse a document that would build more than `max` values, before parsing it.
pub fn check_json_values(bytes: &[u8], max: usize, what: &str) -> std::result::Result<(), String> {
    let n = json_values_upper_bound(bytes);
    if n > max {
        return Err(format!("{what} holds about {n} JSON values, over the {max} allowed (a token has a handful)"));
    }
    Ok(())
}

/// Values in `v` and the memory they take, roughly (what the parser allocated for them).
fn footprint(v: &Value) -> (usize, usize) {
    const NODE: usize = std::mem::size_of::<Value>();
    match v {
        Value::String(s) => (1, NODE + s.len()),
        Value::Array(a) => a.iter().map(footprint).fold((1, NODE), |(n, m), (n2, m2)| (n + n2, m + m2)),
        Value::Object(o) => o.iter().fold((1, NODE), |(n, m), (k, v)| {
            let (n2, m2) = footprint(v);
            // A map entry: the key's String and bookkeeping besides the value.
            (n + n2, m + m2 + k.len() + 3 * std::mem::size_of::<usize>() + 16)
        }),
        _ => (1, NODE),
    }
}

fn depth(v: &Value) -> usize {
    match v {
        Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A token goes into HTTP headers and C strings: no NUL, no control characters.
fn usable_token(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_control)
}

/// `expires_in` as Flexiti sends it (a number of seconds); a numeric string is tolerated.
fn parse_expires_in(v: &Value) -> Result<i64> {
    let n = match v {
        Value::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9e15).map(|f| f as i64)),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 && n <= MAX_EXPIRES_IN => Ok(n),
        Some(n) => Err(Error::bad_response(format!(
            "token response has expires_in {n}, outside 1..={MAX_EXPIRES_IN} seconds"
        ))),
        None => Err(Error::bad_response(format!(
            "token response has an expires_in of type {} that is not a whole number of seconds",
            type_name(v)
        ))),
    }
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What a get_token call does, as in the guide's getFlexitiToken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// `use_cache` and a still-valid token: return it, no request.
    Cached,
    /// A still-valid token with a refresh_token: the refresh grant.
    Refresh,
    /// Nothing held, expired, or no usable refresh_token: client_credentials.
    New,
    /// The refresh grant was refused, and client_credentials gave a new token.
    Fallback,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Cached => "cached",
            Decision::Refresh => "refreshed",
            Decision::New => "new",
            Decision::Fallback => "fallback",
        }
    }
}

/// `refresh_spent`: the held refresh token was sent in a request whose outcome is unknown
/// (the server may have rotated it), so it must not be sent again.
pub fn decide(held: Option<&HeldToken>, use_cache: bool, threshold: i64, now: Now, refresh_spent: bool) -> Decision {
    match held {
        Some(t) if !t.is_expired(threshold, now) => {
            if use_cache {
                Decision::Cached
            } else if t.refresh_token.is_some() && !refresh_spent {
                Decision::Refresh
            } else {
                Decision::New
            }
        }
        _ => Decision::New,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn token(v: Value, created: i64) -> Result<HeldToken> {
        HeldToken::from_response(v.as_object().unwrap().clone(), created, created)
    }

    #[test]
    fn missing_expires_in_means_1200_and_says_so() {
        let t = token(json!({"access_token":"abc"}), 5).unwrap();
        assert_eq!(t.expires_in, 1200);
        let v: Value = serde_json::from_str(&t.token_json).unwrap();
        assert_eq!(v["expires_in"], 1200);
        assert_eq!(v["created_at"], 5);
    }

    #[test]
    fn rejects_wrong_types() {
        assert_eq!(token(json!({"access_token": 5}), 0).unwrap_err().status, crate::FlxStatus::FLX_ERR_BAD_RESPONSE);
        assert!(token(json!({"access_token": "a", "expires_in": -1}), 0).is_err());
        assert!(token(json!({"access_token": "a", "expires_in": 1e300}), 0).is_err());
        assert!(token(json!({"access_token": "a", "expires_in": [1]}), 0).is_err());
        assert!(token(json!({"access_token": "a", "refresh_token": 7}), 0).is_err());
        assert!(token(json!({"refresh_token": "r"}), 0).is_err());
        assert_eq!(token(json!({"access_token": "a", "expires_in": "900"}), 0).unwrap().expires_in, 900);
    }

    #[test]
    fn decisions_follow_the_guide() {
        let t = token(json!({"access_token":"a","refresh_token":"r","expires_in":1200}), 1000).unwrap();
        let fresh = Now { wall: 1100, steady: 1100 };
        let old = Now { wall: 1000 + 1140, steady: 1000 + 1140 };
        assert_eq!(decide(Some(&t), true, 60, fresh, false), Decision::Cached);
        assert_eq!(decide(Some(&t), false, 60, fresh, false), Decision::Refresh);
        assert_eq!(decide(Some(&t), false, 60, fresh, true), Decision::New);
        assert_eq!(decide(Some(&t), true, 60, old, false), Decision::New);
        assert_eq!(decide(None, true, 60, fresh, false), Decision::New);
        // The wall clock set back does not make a token younger.
        let wall_back = Now { wall: 900, steady: 1000 + 1140 };
        assert_eq!(decide(Some(&t), true, 60, wall_back, false), Decision::New);
    }

    /// The cached path's check agrees with the rule read from both exact clocks, for tokens whose
    /// wall-clock or suspend-aware age reaches the usable life a few seconds on either side of
    /// now (inside and outside the coarse clock's margin), and for lifetimes at or below the
    /// threshold. Rounds where either clock crosses a second are redone.
    #[test]
    fn cached_check_agrees_with_the_exact_rule() {
        let r = json!({"access_token":"a","refresh_token":"r","expires_in":1200});
        let mut compared = 0;
        for wall_shift in -25i64..=25 {
            for steady_shift in [-25i64, -14, -13, -12, -11, -10, -9, -1, 0, 1, 9, 10, 11, 12, 13, 14, 25] {
                for (expires_in, threshold) in [(1200, 60), (60, 60), (30, 60), (1200, -5)] {
                    for _ in 0..1000 {
                        let before = Now::read();
                        let life = expires_in - threshold;
                        let mut t = HeldToken::from_response(
                            r.as_object().unwrap().clone(),
                            before.wall - life + wall_shift,
                            before.steady - life + steady_shift,
                        )
                        .unwrap();
                        t.expires_in = expires_in;
                        let fast = t.is_expired_now(threshold);
                        let after = Now::read();
                        if before.wall == after.wall && before.steady == after.steady {
                            assert_eq!(fast, t.is_expired(threshold, before), "wall {wall_shift:+} steady {steady_shift:+} life {life}");
                            compared += 1;
                            break;
                        }
                    }
                }
            }
        }
        assert!(compared > 2000, "only {compared} rounds compared");
    }
}
