//! What each fuzz target checks, shared with the corpus replay in `make test`
//! (tests/reliability_fuzz_corpus.rs includes this file): no panic, and the invariants a user
//! relies on. One function per target; each takes the raw fuzz input.
#![allow(dead_code)]

use flexiti_auth::clock::Now;
use flexiti_auth::options::Options;
use flexiti_auth::session;
use flexiti_auth::token::MAX_EXPIRES_IN;
use flexiti_auth::transport::{no_proxy_matches, parse_retry_after, parse_token_body, Endpoint, MAX_RETRY_AFTER};
use flexiti_auth::{FlxStatus, HeldToken};
use serde_json::{Map, Value};

const NOW: Now = Now { wall: 1_764_000_000, steady: 1_000 };

/// Reported library bugs a long fuzz run may step over while they are open, so that it can look
/// for others: FLX_FUZZ_SKIP_KNOWN=deep-nesting. Never set in `make test` or `make fuzz`.
fn skipping(issue: &str) -> bool {
    static SKIP: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SKIP.get_or_init(|| std::env::var("FLX_FUZZ_SKIP_KNOWN").unwrap_or_default()).split(',').any(|s| s == issue)
}

/// How deeply `[` and `{` nest in the input (outside strings, roughly: enough to spot the
/// inputs of the deep-nesting issue).
fn nesting(data: &[u8]) -> usize {
    let (mut depth, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in data {
        match (in_str, esc, b) {
            (true, true, _) => esc = false,
            (true, false, b'\\') => esc = true,
            (true, false, b'"') => in_str = false,
            (false, _, b'"') => in_str = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                max = max.max(depth)
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Messages are for people: never empty, never enormous.
fn sane_message(status: FlxStatus, expected: FlxStatus, message: &str) {
    assert_eq!(status, expected, "{message}");
    assert!(!message.is_empty());
    assert!(message.len() <= 2048, "message of {} bytes", message.len());
}

fn usable(s: &str) -> bool {
    !s.is_empty() && !s.chars().any(char::is_control)
}

/// Everything a held token promises, whichever way it was built.
fn check_held(t: &HeldToken) {
    assert!(usable(&t.access_token), "unusable access_token accepted");
    if let Some(r) = &t.refresh_token {
        assert!(usable(r), "unusable refresh_token accepted");
    }
    assert!((1..=MAX_EXPIRES_IN).contains(&t.expires_in), "expires_in {}", t.expires_in);
    let v: Value = serde_json::from_str(&t.token_json).expect("token JSON is JSON");
    assert_eq!(v["access_token"].as_str(), Some(t.access_token.as_str()));
    assert_eq!(v["expires_in"].as_i64(), Some(t.expires_in));
    assert_eq!(v["created_at"].as_i64(), Some(t.created_at));
    assert!(!t.token_json.contains('\0'));
    // The expiry rule never panics, whatever the clocks say.
    for now in [NOW, Now { wall: i64::MIN, steady: i64::MIN }, Now { wall: i64::MAX, steady: i64::MAX }, Now { wall: 0, steady: i64::MAX }] {
        for threshold in [0, 60, 86_400] {
            let _ = t.is_expired(threshold, now);
            let _ = t.seconds_left(threshold, now);
        }
    }
}

/// For FLX_FUZZ_SKIP_KNOWN=float-roundtrip: fractional numbers to 12 significant digits.
fn round_floats(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => *v = Value::String(format!("{:.12e}", n.as_f64().unwrap())),
        Value::Array(a) => a.iter_mut().for_each(round_floats),
        Value::Object(o) => o.values_mut().for_each(round_floats),
        _ => {}
    }
}

/// A held token survives export and import unchanged (what the Magento session relies on).
fn check_round_trip(t: &HeldToken, now: Now) {
    let exported = session::export(t).expect("export");
    let back = session::import(&exported, now).unwrap_or_else(|e| panic!("an exported session is refused on import: {}", e.message));
    assert_eq!(back.access_token, t.access_token);
    assert_eq!(back.refresh_token, t.refresh_token);
    assert_eq!(back.expires_in, t.expires_in);
    assert_eq!(back.created_at, t.created_at);
    let strip = |m: &Map<String, Value>| {
        let mut m = m.clone();
        m.remove("created_at");
        if skipping("float-roundtrip") {
            for v in m.values_mut() {
                round_floats(v);
            }
        }
        m
    };
    assert_eq!(strip(&back.response), strip(&t.response), "the token response changed through a session");
}

/// transport::parse_token_body, then HeldToken::from_response: what a 200 answer becomes.
pub fn token_response(data: &[u8]) {
    let map = match parse_token_body(data) {
        Ok(m) => m,
        Err(e) => return sane_message(e.status, FlxStatus::FLX_ERR_BAD_RESPONSE, &e.message),
    };
    match HeldToken::from_response(map, NOW.wall, NOW.steady) {
        Ok(t) => {
            check_held(&t);
            if !(skipping("deep-nesting") && nesting(data) >= 120) {
                check_round_trip(&t, NOW);
            }
        }
        Err(e) => sane_message(e.status, FlxStatus::FLX_ERR_BAD_RESPONSE, &e.message),
    }
}

/// session::import. Input: the session JSON, or `#` + 16 bytes (wall and steady clocks, i64
/// little-endian) + the JSON, to try the clocks' extremes too.
pub fn session_import(data: &[u8]) {
    let (now, json) = match data {
        [b'#', rest @ ..] if rest.len() >= 16 => {
            let wall = i64::from_le_bytes(rest[..8].try_into().unwrap());
            let steady = i64::from_le_bytes(rest[8..16].try_into().unwrap());
            (Now { wall, steady }, &rest[16..])
        }
        _ => (NOW, data),
    };
    let Ok(json) = std::str::from_utf8(json) else { return };
    match session::import(json, now) {
        Ok(t) => {
            check_held(&t);
            assert!(t.created_at as i128 <= now.wall as i128 + session::MAX_FUTURE_SKEW_SECS as i128, "a session from the future was accepted");
            check_round_trip(&t, now);
        }
        Err(e) => sane_message(e.status, FlxStatus::FLX_ERR_SESSION, &e.message),
    }
}

/// Options::set. Input: name, a newline, value. On error nothing changes; setting the same value
/// twice gives the same options.
pub fn options(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (name, value) = text.split_once('\n').unwrap_or((text, ""));
    // Files: only relative names inside the current directory (never a device, never /proc).
    if name == "ca_file" && (value.starts_with('/') || value.contains("..") || value.contains('~')) {
        return;
    }
    let mut o = Options::default();
    let before = format!("{o:?}");
    match o.set(name, value) {
        Ok(_) => {
            let once = format!("{o:?}");
            o.set(name, value).expect("the same value twice");
            assert_eq!(format!("{o:?}"), once, "setting {name} twice changed the result");
        }
        Err(e) => {
            sane_message(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT, &e.message);
            assert_eq!(format!("{o:?}"), before, "a refused {name} changed the options");
        }
    }
}

/// What the transport reads from the world besides the body: Retry-After, api_url, no_proxy.
/// Input: three fields separated by newlines.
pub fn response_headers(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut parts = text.splitn(3, '\n');
    let (a, b, c) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if let Some(d) = parse_retry_after(a) {
        let _ = d.min(MAX_RETRY_AFTER);
    }
    match Endpoint::parse(b) {
        Ok(e) => {
            // Schemes are case-insensitive (RFC 3986): "HTTPS://" is accepted as https.
            let url = e.token_url(c).to_ascii_lowercase();
            assert!(url.starts_with("https://") || url.starts_with("http://"), "{url}");
        }
        Err(e) => sane_message(e.status, FlxStatus::FLX_ERR_INVALID_ARGUMENT, &e.message),
    }
    let _ = no_proxy_matches(a, c);
    let _ = no_proxy_matches(c, b);
}
