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

