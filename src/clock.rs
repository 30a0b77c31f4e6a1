//! Clocks. A token's age must not shrink when the wall clock is set back,
//! nor stop growing while a terminal sleeps, so ages use the larger of two clocks.

use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock unix seconds (negative before 1970). clock_gettime directly on Unix: SystemTime's
/// duration_since and its Result cost as much again as the clock read.
pub fn unix_now() -> i64 {
    #[cfg(unix)]
    {
        read_clock(libc::CLOCK_REALTIME).unwrap_or_else(system_time_secs)
    }
    #[cfg(not(unix))]
    {
        system_time_secs()
    }
}

/// How far behind the exact wall clock the kernel's coarse one may be for `wall_before` to answer
/// from it (seconds). Linux moves the coarse clock at every timekeeping tick (1-10 ms) and, since
/// 6.2, forces a stalled timekeeping update forward after 5 ticks; 10 s is three orders of
/// magnitude above any lag it shows, and costs an exact read only in a token's last 10 s.
#[cfg(any(target_os = "linux", target_os = "android"))]
const COARSE_LAG_BOUND: i128 = 10;

/// `unix_now() < deadline`, exactly, mostly from CLOCK_REALTIME_COARSE (a few ns, against about
/// 17 for the exact clock on a KVM guest). The coarse clock is the exact one as of the kernel's
/// last tick, so it is never ahead of it: a coarse reading at or past the deadline means the exact
/// one is too (false, exact), and a coarse reading more than COARSE_LAG_BOUND seconds before it
/// means the exact one is still before it (true, exact while the coarse clock lags by less than
/// that bound). In between, and wherever the coarse clock is missing, the exact clock answers.
#[inline]
pub fn wall_before(deadline: i128) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Some(coarse) = read_clock(libc::CLOCK_REALTIME_COARSE) {
            let coarse = coarse as i128;
            if coarse >= deadline {
                return false;
            }
            if coarse < deadline - COARSE_LAG_BOUND {
                return true;
            }
        }
    }
    (unix_now() as i128) < deadline
}

fn system_time_secs() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(e) => -(e.duration().as_secs().min(i64::MAX as u64) as i64),
    }
}

/// Whole seconds of a clock (tv_sec rounds towards minus infinity: right before 1970 too).
#[cfg(unix)]
#[inline]
fn read_clock(clock: libc::clockid_t) -> Option<i64> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    #[allow(clippy::unnecessary_cast)] // time_t is 32-bit on some targets
    let secs = ts.tv_sec as i64;
    (rc == 0).then_some(secs)
}

/// Seconds on a clock that never goes back and keeps counting through suspend
/// (CLOCK_BOOTTIME on Linux; CLOCK_MONOTONIC elsewhere, which counts sleep on macOS;
/// GetTickCount64 on Windows, which counts sleep and hibernation).
#[cfg(unix)]
#[inline]
pub fn suspend_aware_now() -> i64 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const CLOCK: libc::clockid_t = libc::CLOCK_BOOTTIME;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const CLOCK: libc::clockid_t = libc::CLOCK_MONOTONIC;
    read_clock(CLOCK).unwrap_or_else(fallback_monotonic)
}

#[cfg(windows)]
pub fn suspend_aware_now() -> i64 {
    #[link(name = "kernel32")]
    extern "system" {
        fn GetTickCount64() -> u64;
    }
    // SAFETY: no arguments, no failure (Windows Vista and later). Milliseconds since boot,
    // sleep and hibernation included (QueryUnbiasedInterruptTime is the one that leaves them out).
    (unsafe { GetTickCount64() } / 1000) as i64
}

#[cfg(not(any(unix, windows)))]
pub fn suspend_aware_now() -> i64 {
    fallback_monotonic()
}

#[cfg(not(windows))]
fn fallback_monotonic() -> i64 {
    use once_cell::sync::Lazy;
    use std::time::Instant;
    static START: Lazy<Instant> = Lazy::new(Instant::now);
    START.elapsed().as_secs() as i64
}

/// Both clocks read at one moment.
#[derive(Clone, Copy, Debug)]
pub struct Now {
    pub wall: i64,
    pub steady: i64,
}

impl Now {
    pub fn read() -> Now {
        Now { wall: unix_now(), steady: suspend_aware_now() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `wall_before(d)` against `unix_now() < d` read around it, for deadlines on both sides of
    /// now, in and out of the coarse clock's bound (rounds that straddle a second are redone).
    #[test]
    fn wall_before_agrees_with_the_exact_clock() {
        for offset in -30i128..=30 {
            let mut checked = false;
            for _ in 0..1000 {
                let before = unix_now() as i128;
                let answer = wall_before(before + offset);
                let after = unix_now() as i128;
                if before == after {
                    assert_eq!(answer, before < before + offset, "deadline now{offset:+}");
                    checked = true;
                    break;
                }
            }
            assert!(checked, "the clock kept crossing seconds");
        }
    }

    #[test]
    fn wall_before_at_the_extremes() {
        assert!(wall_before(i128::MAX));
        assert!(!wall_before(i128::MIN));
        assert!(!wall_before(unix_now() as i128 - 1));
    }
}
