//! Redaction of secrets from text a server (or a proxy, or a WAF) may have echoed back.
//!
//! A secret can come back in several spellings: as sent in the form body (percent-encoded, with
//! upper- or lower-case hex, a space as `+` or `%20`), JSON-escaped (`\/`, `\"`, `\uXXXX`),
//! raw, or only in part. So the text is searched in three views: as it is, and decoded (percent
//! escapes, JSON escapes, and `+` read as a space or as itself). Every run of at least
//! [`RUN`] bytes that also occurs in a secret (the whole secret when it is shorter) is
//! replaced in the original text by "[redacted]", whatever spelling it had there.
//!
//! Secrets shorter than [`MIN_SECRET`] bytes cannot be searched for without redacting ordinary
//! words: the client_secret is refused at that length (Client::new), and a token that short
//! from the server is redacted only where it stands alone (not inside a longer word).

use std::collections::HashSet;

/// A run of this many bytes of a secret, found anywhere, is redacted.
pub const RUN: usize = 12;
/// Secrets at least this long are redacted wherever they occur.
pub const MIN_SECRET: usize = 4;

const MARK: &str = "[redacted]";

/// One byte of a view, with the span of the original text it was decoded from.
#[derive(Clone, Copy)]
struct Unit {
    byte: u8,
    start: usize,
    end: usize,
}

/// The text decoded: percent escapes (either hex case), `+` as a space when `plus_is_space`, and
/// JSON string escapes. Anything that is not a valid escape stays as it is.
fn decoded(text: &[u8], plus_is_space: bool) -> Vec<Unit> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'%' && i + 2 < text.len() {
            if let (Some(h), Some(l)) = (hex(text[i + 1]), hex(text[i + 2])) {
                out.push(Unit { byte: h << 4 | l, start: i, end: i + 3 });
                i += 3;
                continue;
            }
        }
        if b == b'+' && plus_is_space {
            out.push(Unit { byte: b' ', start: i, end: i + 1 });
            i += 1;
            continue;
        }
        if b == b'\\' && i + 1 < text.len() {
            if let Some((ch, len)) = json_escape(&text[i..]) {
                let mut buf = [0u8; 4];
                for &byte in ch.encode_utf8(&mut buf).as_bytes() {
                    out.push(Unit { byte, start: i, end: i + len });
                }
                i += len;
                continue;
            }
        }
        out.push(Unit { byte: b, start: i, end: i + 1 });
        i += 1;
    }
    out
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn hex4(s: &[u8]) -> Option<u32> {
    if s.len() < 4 {
        return None;
    }
    s[..4].iter().try_fold(0u32, |acc, &b| hex(b).map(|d| acc << 4 | d as u32))
}

/// A JSON escape at the start of `s` (which begins with a backslash): the char and its length.
fn json_escape(s: &[u8]) -> Option<(char, usize)> {
    let simple = match s.get(1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let hi = hex4(&s[2..])?;
            if (0xD800..0xDC00).contains(&hi) {
                // A surrogate pair: \uD83D\uDE00.
                if s.get(6) == Some(&b'\\') && s.get(7) == Some(&b'u') {
                    let lo = hex4(&s[8..])?;
                    if (0xDC00..0xE000).contains(&lo) {
                        let c = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
                        return char::from_u32(c).map(|c| (c, 12));
                    }
                }
                return None;
            }
            return char::from_u32(hi).map(|c| (c, 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

/// Pack up to RUN (at most 16) bytes into a key; windows of one secret all have one length.
fn key(w: &[u8]) -> u128 {
    let mut k = 0u128;
    for &b in w {
        k = k << 8 | b as u128;
    }
    k
}

/// Mark, in `hide`, the original span of every window of the view that matches a window of the
/// secret: runs of at least RUN bytes of a secret (or the whole secret, when shorter).
fn mark(view: &[Unit], secret: &[u8], windows: &HashSet<u128>, hide: &mut [bool]) {
    let k = secret.len().min(RUN);
    if view.len() < k {
        return;
    }
    let short = secret.len() < MIN_SECRET;
    let mask = if k == 16 { u128::MAX } else { (1u128 << (8 * k)) - 1 };
    let mut rolling = key(&view[..k - 1].iter().map(|u| u.byte).collect::<Vec<u8>>());
    for i in 0..=view.len() - k {
        rolling = (rolling << 8 | view[i + k - 1].byte as u128) & mask;
        if !windows.contains(&rolling) {
            continue;
        }
        if short {
            // A very short secret only where it stands alone, not inside a longer word.
            let before = i.checked_sub(1).map(|j| view[j].byte);
            let after = view.get(i + k).map(|u| u.byte);
            if before.is_some_and(word_byte) || after.is_some_and(word_byte) {
                continue;
            }
        }
        for u in &view[i..i + k] {
            hide[u.start..u.end].iter_mut().for_each(|h| *h = true);
        }
    }
}

fn word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b >= 0x80 || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `text` with every spelling of every non-empty secret, and every run of RUN bytes of one,
/// replaced by "[redacted]".
pub fn redact(text: &str, secrets: &[&str]) -> String {
    let secrets: Vec<&[u8]> = secrets.iter().map(|s| s.as_bytes()).filter(|s| !s.is_empty()).collect();
    if secrets.is_empty() || text.is_empty() {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let raw: Vec<Unit> = bytes.iter().enumerate().map(|(i, &b)| Unit { byte: b, start: i, end: i + 1 }).collect();
    let escaped = bytes.iter().any(|&b| matches!(b, b'%' | b'+' | b'\\'));
    let views: Vec<Vec<Unit>> = if escaped { vec![raw, decoded(bytes, true), decoded(bytes, false)] } else { vec![raw] };
    let mut hide = vec![false; bytes.len()];
    for secret in &secrets {
        let k = secret.len().min(RUN);
        let windows: HashSet<u128> = secret.windows(k).map(key).collect();
        for view in &views {
            mark(view, secret, &windows, &mut hide);
        }
    }
    if !hide.contains(&true) {
        return text.to_owned();
    }
    // Whole characters only: widen each hidden span to char boundaries.
    for i in 0..bytes.len() {
        if hide[i] {
            let mut j = i;
            while j > 0 && !text.is_char_boundary(j) {
                j -= 1;
                hide[j] = true;
            }
            let mut j = i + 1;
            while j < bytes.len() && !text.is_char_boundary(j) {
                hide[j] = true;
                j += 1;
            }
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if hide[i] {
            out.push_str(MARK);
            while i < bytes.len() && hide[i] {
                i += 1;
            }
        } else {
            let start = i;
            while i < bytes.len() && !hide[i] {
                i += 1;
            }
            out.push_str(&text[start..i]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "Zx9+Qw3/kP0 a~b\"c\\d\u{e9}e";

    fn form(s: &str, lower: bool, plus: bool) -> String {
        let mut out = String::new();
        for &b in s.as_bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => out.push(b as char),
                b' ' if plus => out.push('+'),
                _ if lower => out.push_str(&format!("%{b:02x}")),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    }

    #[test]
    fn every_spelling_is_redacted() {
        let spellings = [
            S.to_owned(),
            form(S, false, true),
            form(S, true, true),
            form(S, false, false),
            form(S, true, false),
            serde_json::to_string(S).unwrap().trim_matches('"').to_owned(),
            // PHP's json_encode: "\/" and \u escapes for non-ASCII.
            S.replace('\\', "\\\\").replace('"', "\\\"").replace('/', "\\/").replace('\u{e9}', "\\u00e9"),
            S.chars().map(|c| format!("\\u{:04x}", c as u32)).collect(),
        ];
        for s in spellings {
            let text = format!("error: bad client_secret={s}&scope=x (echo)");
            let out = redact(&text, &[S]);
            assert_eq!(out, "error: bad client_secret=[redacted]&scope=x (echo)", "spelling {s}");
        }
    }

    #[test]
    fn runs_of_a_secret_are_redacted_and_other_text_is_not() {
        let secret = "abcdefghijklmnopqrstuvwxyz012345";
        assert_eq!(redact("prefix ghijklmnopqrs suffix", &[secret]), "prefix [redacted] suffix");
        assert_eq!(redact("cut: abcdefghijkl…", &[secret]), "cut: [redacted]…");
        assert_eq!(redact("eleven: abcdefghijk.", &[secret]), "eleven: abcdefghijk.");
        assert_eq!(redact("nothing here", &[secret]), "nothing here");
        assert_eq!(redact("x%61bcdefghijk%6cy", &[secret]), "x[redacted]y");
    }

    #[test]
    fn short_secrets() {
        // 4..11 bytes: the whole secret wherever it occurs.
        assert_eq!(redact("key=Ab+1 and xAb+1x", &["Ab+1"]), "key=[redacted] and x[redacted]x");
        // Under 4 bytes: only where it stands alone.
        assert_eq!(redact("{\"access_token\":\"ab\"} about", &["ab"]), "{\"access_token\":\"[redacted]\"} about");
        assert_eq!(redact("token=%61b", &["ab"]), "token=[redacted]");
    }

    #[test]
    fn odd_input_never_panics() {
        for text in ["%", "%4", "\\", "\\u12", "\\ud83d\\u0041", "é%C3%A9", "+++", "%zz\\q"] {
            let _ = redact(text, &["é", "abcd", "%", "\\"]);
        }
        assert_eq!(redact("caf\\u00e9 latte", &["café latte"]), "[redacted]");
    }
}
