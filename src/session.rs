//! The session format: what Magento keeps in the user session, as one JSON document
//! `{"token": {…response…}, "created_at": N, "expires_in": N}`.

use crate::clock::Now;
use crate::error::{Error, Result};
use crate::token::{type_name, HeldToken, MAX_EXPIRES_IN, MAX_JSON_VALUES};
use serde_json::{Map, Value};

/// Largest session document accepted (a token response is capped at the same size).
pub const MAX_SESSION_BYTES: usize = 1024 * 1024;
/// How far in the future a session's created_at may lie (clock skew between servers sharing it).
pub const MAX_FUTURE_SKEW_SECS: i64 = 300;

pub fn export(token: &HeldToken) -> Result<String> {
    let mut doc = Map::new();
    doc.insert("token".into(), Value::Object(token.response.clone()));
    doc.insert("created_at".into(), Value::from(token.created_at));
    doc.insert("expires_in".into(), Value::from(token.expires_in));
    let mut doc = Value::Object(doc);
    // The copy of the token and the text's growing buffer are overwritten before release.
    let json = crate::secret::json_string(&doc);
    crate::secret::wipe_value(&mut doc);
    json.map_err(|e| Error::internal(format!("cannot serialise session: {e}")))
}

/// Parse and validate a session document. `token` may also be the token JSON as a string (the
/// guide stores `FlxOauthToken` that way). The token's age carries over to the steady clock so a
/// later wall-clock jump back does not extend its life.
pub fn import(json: &str, now: Now) -> Result<HeldToken> {
    if json.len() > MAX_SESSION_BYTES {
        return Err(Error::session(format!("session JSON is {} bytes, over the {MAX_SESSION_BYTES}-byte limit", json.len())));
    }
    // The session wraps a token in 3 more values; what parsing may build is bounded first.
    crate::token::check_json_values(json.as_bytes(), MAX_JSON_VALUES + 16, "session JSON").map_err(Error::session)?;
    let doc: Value = serde_json::from_str(json).map_err(|e| Error::session(format!("session JSON is malformed: {}", describe_json_error(&e))))?;
    // Whatever is refused below is overwritten before it is dropped: it holds tokens.
    let mut doc = Wiped(doc);
    let Value::Object(doc) = &mut doc.0 else {
        return Err(Error::session(format!("session JSON is a {}, not an object", type_name(&doc.0))));
    };
    let mut token = Wiped(match doc.remove("token") {
        Some(Value::Object(m)) => Value::Object(m),
        Some(Value::String(s)) => {
            let mut s = Wiped(Value::String(s));
            let Value::String(text) = &s.0 else { unreachable!() };
            if crate::token::json_values_upper_bound(text.as_bytes()) > MAX_JSON_VALUES {
                return Err(Error::session(format!("session field \"token\" holds more than the {MAX_JSON_VALUES} JSON values allowed")));
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(m)) => Value::Object(m),
                Ok(mut other) => {
                    crate::secret::wipe_value(&mut other);
                    crate::secret::wipe_value(&mut s.0);
                    return Err(Error::session("session field \"token\" is a string that does not hold a JSON object"));
                }
                Err(_) => return Err(Error::session("session field \"token\" is a string that does not hold a JSON object")),
            }
        }
        Some(other) => {
            let other = Wiped(other);
            return Err(Error::session(format!("session field \"token\" is a {}, not an object", type_name(&other.0))));
        }
        None => return Err(Error::session("session JSON has no \"token\" field")),
    });
    let created_at = int_field(&doc, "created_at")?;
    let expires_in = int_field(&doc, "expires_in")?;
    if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
        return Err(Error::session(format!("session expires_in {expires_in} is outside 1..={MAX_EXPIRES_IN} seconds")));
    }
    if created_at as i128 > now.wall as i128 + MAX_FUTURE_SKEW_SECS as i128 {
        return Err(Error::session(format!(
            "session created_at {created_at} lies {} s in the future (more than the {MAX_FUTURE_SKEW_SECS} s allowed for clock skew)",
            created_at as i128 - now.wall as i128
        )));
    }
    let Value::Object(token) = std::mem::take(&mut token.0) else { unreachable!() };
    let mut token = token;
    // The session's lifetime is the one the session's owner used; keep the two in agreement.
    token.insert("expires_in".into(), Value::from(expires_in));
    // A token JSON (with its own created_at) may have been stored as the token: the session's
    // created_at is the one that counts, so the inner copy must not linger and disagree.
    token.remove("created_at");
    let age = (now.wall as i128 - created_at as i128).max(0);
    let created_steady = (now.steady as i128 - age).clamp(i64::MIN as i128, i64::MAX as i128) as i64;
    HeldToken::from_response(token, created_at, created_steady).map_err(|e| Error::session(format!("session token is not usable: {}", e.message)))
}

fn int_field(doc: &Map<String, Value>, name: &str) -> Result<i64> {
    match doc.get(name) {
        Some(Value::Number(n)) => n.as_i64().ok_or_else(|| Error::session(format!("session field \"{name}\" is not a 64-bit whole number"))),
        Some(other) => Err(Error::session(format!("session field \"{name}\" is a {}, not a number", type_name(other)))),
        None => Err(Error::session(format!("session JSON has no \"{name}\" field"))),
    }
}

/// serde_json's message plus position, without echoing any of the input (it may hold tokens).
pub fn describe_json_error(e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "unexpected data",
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{what} at line {} column {}", e.line(), e.column())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Now = Now { wall: 10_000, steady: 500 };

    #[test]
    fn round_trip() {
        let t = import(r#"{"token":{"access_token":"a","refresh_token":"r","token_type":"bearer","expires_in":1200},"created_at":9000,"expires_in":1200}"#, NOW).unwrap();
        assert_eq!(t.created_at, 9000);
        assert_eq!(t.created_steady, -500);
        let back: Value = serde_json::from_str(&export(&t).unwrap()).unwrap();
        assert_eq!(back["created_at"], 9000);
        assert_eq!(back["token"]["refresh_token"], "r");
    }

    #[test]
    fn refuses_bad_sessions() {
        for bad in ["", "[]", "{", r#"{"token":{}}"#, r#"{"token":{"access_token":"a"},"created_at":"1","expires_in":1200}"#,
            r#"{"token":{"access_token":"a"},"created_at":99999,"expires_in":1200}"#,
            r#"{"token":{"access_token":"a"},"created_at":1,"expires_in":0}"#,
            r#"{"token":5,"created_at":1,"expires_in":1200}"#] {
            assert_eq!(import(bad, NOW).unwrap_err().status, crate::FlxStatus::FLX_ERR_SESSION, "{bad}");
        }
    }

    #[test]
    fn token_may_be_a_json_string() {
        let t = import(r#"{"token":"{\"access_token\":\"a\"}","created_at":9000,"expires_in":1200}"#, NOW).unwrap();
        assert_eq!(t.access_token, "a");
    }
}

/// A parsed value that is overwritten when dropped.
struct Wiped(Value);

impl Drop for Wiped {
    fn drop(&mut self) {
        crate::secret::wipe_value(&mut self.0);
    }
}
