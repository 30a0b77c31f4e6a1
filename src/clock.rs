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

/// How far behind an exact clock the kernel's coarse twin may be for the cached check to answer
/// from it (seconds). Linux moves the coarse clocks at every timekeeping tick (1-10 ms) and, since
/// 6.2, forces a stalled timekeeping update forward after 5 ticks; 10 s is three orders of
/// magnitude above any lag they show, and costs exact reads only in a token's last 10-12 s.
#[cfg(any(target_os = "linux", target_os = "android"))]
const COARSE_LAG_BOUND: i128 = 10;

/// `unix_now() < deadline` from a CLOCK_REALTIME_COARSE reading, or None when the exact clock
/// must answer. The coarse clock is the exact one as of the kernel's last tick, so it is never
/// ahead of it: a coarse reading at or past the deadline means the exact one is too (false,
/// exact), and a coarse reading more than COARSE_LAG_BOUND seconds before it means the exact one
/// is still before it (true, exact while the coarse clock lags by less than that bound).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn coarse_wall_before(coarse: i128, deadline: i128) -> Option<bool> {
    if coarse >= deadline {
        Some(false)
    } else if coarse < deadline - COARSE_LAG_BOUND {
        Some(true)
    } else {
        None
    }
}

/// The kernel's two coarse clocks (wall and monotonic, a few ns each), read once for every check
/// one cached call makes: the expiry rule's and a polling token store's. Empty where there are
/// none (not Linux): every check then reads the clocks it needs itself.
#[derive(Clone, Copy, Debug)]
pub struct Coarse {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rt_ms: Option<i64>,
    #[cfg(any(target_os = "linux", target_os = "android"))]
    mono_ms: Option<i64>,
}

impl Coarse {
    #[inline]
    pub fn read() -> Coarse {
        Coarse {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            rt_ms: read_clock_ms(libc::CLOCK_REALTIME_COARSE),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            mono_ms: read_clock_ms(libc::CLOCK_MONOTONIC_COARSE),
        }
    }

    /// Milliseconds of the coarse monotonic clock, plus one (so never 0), or None.
    #[inline]
    pub fn steady_ms(&self) -> Option<u64> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            self.mono_ms.map(|ms| (ms as u64).wrapping_add(1))
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            None
        }
    }
}

/// `suspend_aware_now() < steady_deadline && unix_now() < wall_deadline`, exactly: the cached
/// path's whole clock question, answered from the two coarse clocks read at `now` outside the
/// last seconds before either deadline (see [`boot`] for the suspend-aware half), and from the
/// exact clocks there.
#[inline]
pub fn both_before(now: &Coarse, steady_deadline: i128, wall_deadline: i128) -> bool {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let (Some(rt), Some(mono)) = (now.rt_ms, now.mono_ms) {
            let wall = coarse_wall_before(rt.div_euclid(1000) as i128, wall_deadline);
            if wall == Some(false) {
                return false;
            }
            let steady = boot::coarse_before(rt, mono, steady_deadline).unwrap_or_else(|| (suspend_aware_now() as i128) < steady_deadline);
            return steady && wall.unwrap_or_else(|| (unix_now() as i128) < wall_deadline);
        }
    }
    let _ = now;
    (suspend_aware_now() as i128) < steady_deadline && (unix_now() as i128) < wall_deadline
}

/// The suspend-aware clock (CLOCK_BOOTTIME) from the coarse monotonic one. Linux has no coarse
/// BOOTTIME, but BOOTTIME = MONOTONIC + the time spent suspended, and that offset only grows, at
/// a resume, when the kernel adds the time slept to the wall clock and to it alike. So a sample of
/// the offset (a lower bound, in whole seconds) together with the wall clock's distance from the
/// monotonic one tells, from two coarse readings: while that distance has not moved (no resume,
/// no wall clock set since the sample), BOOTTIME lies within [coarse MONOTONIC + offset, that + 2
/// s + the coarse lag]. A moved distance, no sample yet, or a deadline inside that window sends
/// the check to the exact clock and takes a new sample; so does the first check in each second of
/// monotonic time. The one case the distance cannot show is a resume at the very moment the wall
/// clock is set back by the time slept (to within DISTANCE_TOLERANCE_MS): that is seen at the next
/// sample, within one second.
#[cfg(any(target_os = "linux", target_os = "android"))]
mod boot {
    use super::{read_clock_ms, COARSE_LAG_BOUND};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

    /// Bits of a sample holding the offset's lower bound in seconds (up to 194 days suspended).
    const OFFSET_BITS: u32 = 24;
    /// The wall-minus-monotonic distance in ms, modulo 2^40 ms (34 years).
    const DISTANCE_MASK: u64 = (1 << 40) - 1;
    /// How far the distance may move between two coarse readings without a resume or a clock
    /// set: the two coarse clocks move together at each tick, so only a tick between the two
    /// reads shows (a few ms).
    pub(super) const DISTANCE_TOLERANCE_MS: i64 = 50;
    /// BOOTTIME is at most this many seconds past the estimate (the ms of both readings, the
    /// offset rounded down, the coarse lag).
    const WINDOW: i128 = 2 + COARSE_LAG_BOUND;

    /// The last sample (0: none): distance << OFFSET_BITS | offset lower bound.
    static SAMPLE: AtomicU64 = AtomicU64::new(0);
    /// The monotonic second from which the next check takes a new sample.
    static NEXT_SAMPLE: AtomicI64 = AtomicI64::new(i64::MIN);

    fn distance(rt_ms: i64, mono_ms: i64) -> u64 {
        rt_ms.wrapping_sub(mono_ms) as u64 & DISTANCE_MASK
    }

    /// What a sample tells of `BOOTTIME < deadline` at the coarse readings given.
    #[derive(Debug, PartialEq, Eq)]
    pub(super) enum Answer {
        Known(bool),
        /// Too close to the deadline: the exact clock answers.
        Close,
        /// No sample, or the wall clock moved against the monotonic one since it was taken.
        Stale,
    }

    pub(super) fn decide(sample: u64, rt_ms: i64, mono_ms: i64, deadline: i128) -> Answer {
        if sample == 0 {
            return Answer::Stale;
        }
        let moved = distance(rt_ms, mono_ms).wrapping_sub(sample >> OFFSET_BITS) & DISTANCE_MASK;
        let moved = if moved > DISTANCE_MASK / 2 { DISTANCE_MASK + 1 - moved } else { moved };
        if moved > DISTANCE_TOLERANCE_MS as u64 {
            return Answer::Stale;
        }
        let low = mono_ms.div_euclid(1000) as i128 + (sample & ((1 << OFFSET_BITS) - 1)) as i128;
        if low >= deadline {
            Answer::Known(false)
        } else if low + WINDOW < deadline {
            Answer::Known(true)
        } else {
            Answer::Close
        }
    }

    /// A sample from exact readings: BOOTTIME first, then MONOTONIC, so their difference is at
    /// most the offset (a lower bound); the distance from the coarse pair, as checks read it.
    pub(super) fn sample() -> Option<u64> {
        let boot = read_clock_ms(libc::CLOCK_BOOTTIME)?;
        let mono = read_clock_ms(libc::CLOCK_MONOTONIC)?;
        let offset = boot.saturating_sub(mono).max(0) / 1000;
        if offset >= 1 << OFFSET_BITS {
            return None;
        }
        let rt = read_clock_ms(libc::CLOCK_REALTIME_COARSE)?;
        let mono_coarse = read_clock_ms(libc::CLOCK_MONOTONIC_COARSE)?;
        Some(distance(rt, mono_coarse) << OFFSET_BITS | offset as u64)
    }

    /// `suspend_aware_now() < deadline` from the coarse clocks (read one after the other, wall
    /// first), or None.
    #[inline]
    pub(super) fn coarse_before(rt_ms: i64, mono_ms: i64, deadline: i128) -> Option<bool> {
        if mono_ms.div_euclid(1000) >= NEXT_SAMPLE.load(Relaxed) {
            resample(mono_ms);
            return None;
        }
        match decide(SAMPLE.load(Relaxed), rt_ms, mono_ms, deadline) {
            Answer::Known(answer) => Some(answer),
            Answer::Close => None,
            Answer::Stale => {
                resample(mono_ms);
                None
            }
        }
    }

    #[cold]
    fn resample(mono_ms: i64) {
        SAMPLE.store(sample().unwrap_or(0), Relaxed);
        NEXT_SAMPLE.store(mono_ms.div_euclid(1000).saturating_add(1), Relaxed);
    }
}

fn system_time_secs() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs().min(i64::MAX as u64) as i64,
        Err(e) => -(e.duration().as_secs().min(i64::MAX as u64) as i64),
    }
}

/// A clock's (seconds, nanoseconds) (tv_sec rounds towards minus infinity: right before 1970 too).
#[cfg(unix)]
#[inline]
fn read_timespec(clock: libc::clockid_t) -> Option<(i64, i64)> {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: ts is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    #[allow(clippy::unnecessary_cast)] // time_t and c_long are 32-bit on some targets
    (rc == 0).then_some((ts.tv_sec as i64, ts.tv_nsec as i64))
}

/// Whole seconds of a clock.
#[cfg(unix)]
#[inline]
fn read_clock(clock: libc::clockid_t) -> Option<i64> {
    read_timespec(clock).map(|(secs, _)| secs)
}

/// A clock in whole milliseconds (wrapping past i64: only differences of nearby readings and
/// whole seconds of sane ones are used).
#[cfg(any(target_os = "linux", target_os = "android"))]
#[inline]
fn read_clock_ms(clock: libc::clockid_t) -> Option<i64> {
    read_timespec(clock).map(|(secs, nanos)| secs.wrapping_mul(1000).wrapping_add(nanos / 1_000_000))
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

    /// `both_before(s, w)` against the exact clocks read around it, for deadlines on both sides
    /// of now, in and out of the coarse clocks' bounds (rounds that straddle a second are redone).
    #[test]
    fn both_before_agrees_with_the_exact_clocks() {
        let offsets: Vec<i128> = (-30..=30).collect();
        let mut compared = 0;
        for &steady_offset in &offsets {
            for &wall_offset in offsets.iter().step_by(3) {
                for _ in 0..1000 {
                    let before = Now::read();
                    let answer = both_before(&Coarse::read(), before.steady as i128 + steady_offset, before.wall as i128 + wall_offset);
                    let after = Now::read();
                    if before.wall == after.wall && before.steady == after.steady {
                        assert_eq!(answer, steady_offset > 0 && wall_offset > 0, "steady now{steady_offset:+}, wall now{wall_offset:+}");
                        compared += 1;
                        break;
                    }
                }
            }
        }
        assert!(compared > 1000, "the clocks kept crossing seconds ({compared} rounds compared)");
    }

    #[test]
    fn both_before_at_the_extremes() {
        assert!(both_before(&Coarse::read(), i128::MAX, i128::MAX));
        assert!(!both_before(&Coarse::read(), i128::MIN, i128::MAX));
        assert!(!both_before(&Coarse::read(), i128::MAX, i128::MIN));
        assert!(!both_before(&Coarse::read(), i128::MAX, unix_now() as i128 - 1));
        assert!(!both_before(&Coarse::read(), suspend_aware_now() as i128 - 1, i128::MAX));
    }

    /// The suspend-aware estimate, on made-up readings: a sample with a 100 s offset taken when
    /// the wall clock was 1_000_000 s ahead of the monotonic one.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    #[test]
    fn the_boottime_estimate_answers_only_when_it_is_sure() {
        use boot::{decide, Answer, DISTANCE_TOLERANCE_MS};
        let distance_ms: i64 = 1_000_000_000;
        let sample = (distance_ms as u64) << 24 | 100;
        let mono_ms = 5_000_500; // 5000.5 s: BOOTTIME is at least 5100 s
        let rt_ms = mono_ms + distance_ms;
        // Far from the deadline either way: answered.
        assert_eq!(decide(sample, rt_ms, mono_ms, 5100), Answer::Known(false));
        assert_eq!(decide(sample, rt_ms, mono_ms, 4000), Answer::Known(false));
        assert_eq!(decide(sample, rt_ms, mono_ms, 5113), Answer::Known(true));
        // Within the window past the estimate: the exact clock answers.
        for deadline in 5101..=5112 {
            assert_eq!(decide(sample, rt_ms, mono_ms, deadline), Answer::Close, "deadline {deadline}");
        }
        // A tick between the two coarse reads is not a resume.
        assert_eq!(decide(sample, rt_ms + 4, mono_ms, 6000), Answer::Known(true));
        assert_eq!(decide(sample, rt_ms - DISTANCE_TOLERANCE_MS, mono_ms, 6000), Answer::Known(true));
        // A resume (the wall clock moved ahead of the monotonic one by the time slept), or the
        // wall clock set either way: the sample no longer holds, however far the deadline.
        for moved in [DISTANCE_TOLERANCE_MS + 1, 3_600_000, -DISTANCE_TOLERANCE_MS - 1, -86_400_000] {
            assert_eq!(decide(sample, rt_ms + moved, mono_ms, 1 << 40), Answer::Stale, "moved {moved} ms");
        }
        // No sample yet.
        assert_eq!(decide(0, rt_ms, mono_ms, 1 << 40), Answer::Stale);
        // A real sample: the offset is a lower bound of BOOTTIME - MONOTONIC.
        let real = boot::sample().expect("Linux has CLOCK_BOOTTIME");
        let offset = (real & ((1 << 24) - 1)) as i64;
        assert!(offset <= suspend_aware_now() - read_clock(libc::CLOCK_MONOTONIC).unwrap());
    }
}
