//! The expiry rule of the Flexiti guide, computed exactly for every int64 input.

/// The guide's rule: `now - created_at >= expires_in - threshold`, evaluated in 128-bit so no
/// input can overflow or wrap. A lifetime at or below the threshold is always expired.
pub fn is_access_token_expired(created_at: i64, expires_in: i64, now: i64, threshold: i64) -> bool {
    is_age_expired(now as i128 - created_at as i128, expires_in, threshold)
}

/// The same rule for a token whose age (seconds) is already known.
pub fn is_age_expired(age: i128, expires_in: i64, threshold: i64) -> bool {
    let usable_life = expires_in as i128 - threshold as i128;
    usable_life <= 0 || age >= usable_life
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundary_of_the_guide_rule() {
        // 1200 s lifetime, 60 s threshold: valid for ages 0..1139, expired from 1140 on.
        assert!(!is_access_token_expired(1000, 1200, 1000 + 1139, 60));
        assert!(is_access_token_expired(1000, 1200, 1000 + 1140, 60));
        assert!(!is_access_token_expired(1000, 1200, 1000, 60));
    }

    #[test]
    fn lifetime_at_or_below_threshold_is_always_expired() {
        assert!(is_access_token_expired(0, 60, 0, 60));
        assert!(is_access_token_expired(0, 10, -100, 60));
        assert!(!is_access_token_expired(0, 61, 0, 60));
    }

    #[test]
    fn extreme_inputs_do_not_wrap() {
        assert!(is_access_token_expired(i64::MIN, 1200, i64::MAX, 60));
        assert!(!is_access_token_expired(i64::MAX, 1200, i64::MIN, 60));
        assert!(!is_access_token_expired(0, i64::MAX, i64::MAX - 1, i64::MIN + 1) );
        assert!(is_access_token_expired(0, i64::MIN, 0, i64::MAX));
        assert!(!is_access_token_expired(0, i64::MAX, 0, i64::MIN));
    }
}
