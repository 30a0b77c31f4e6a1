//! Logging like the guide's httpDebug, minus its leaks: one line per event, levels error / warn /
//! info / debug, off by default. Sinks: a callback (the C surface wraps a C function in one), an
//! append-only file, and stderr when FLX_LOG is set. Lines never carry a secret: callers build
//! them from non-secret facts, and the client redacts its secrets from every line it emits.

use crate::fork::{fork_generation, ForkLock};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Error = 1,
    Warn = 2,
    Info = 3,
    Debug = 4,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Error => "ERROR",
            Level::Warn => "WARN",
            Level::Info => "INFO",
            Level::Debug => "DEBUG",
        }
    }

    /// "off" is Ok(None); an unknown name is Err(()).
    #[allow(clippy::result_unit_err)]
    pub fn parse(s: &str) -> Result<Option<Level>, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "off" | "none" | "0" | "" => Ok(None),
            "error" | "1" => Ok(Some(Level::Error)),
            "warn" | "warning" | "2" => Ok(Some(Level::Warn)),
            "info" | "3" => Ok(Some(Level::Info)),
            "debug" | "4" => Ok(Some(Level::Debug)),
            _ => Err(()),
        }
    }
}

pub type Callback = Arc<dyn Fn(Level, &str) + Send + Sync>;

/// A callback and how many calls of it are running (set_callback waits for them to end).
struct CallbackSlot {
    callback: Callback,
    running: AtomicUsize,
}

/// Where lines go. Its lock is held only to copy these two pointers, never during I/O or a
/// callback, so a fork() can always take it (see fork.rs) and a child never inherits it held.
#[derive(Default)]
struct Sinks {
    callback: Option<Arc<CallbackSlot>>,
    file: Option<Arc<std::fs::File>>,
}

type SinksLock = std::sync::RwLock<Sinks>;

pub struct Logger {
    /// 0 = off, else the most verbose Level enabled.
    level: AtomicU8,
    stderr: AtomicBool,
    sinks: Arc<SinksLock>,
}

impl Default for Logger {
    fn default() -> Self {
        let sinks: Arc<SinksLock> = Arc::default();
        let lock: Arc<dyn ForkLock> = sinks.clone();
        crate::fork::register(&lock);
        Logger { level: AtomicU8::new(0), stderr: AtomicBool::new(false), sinks }
    }
}

impl ForkLock for SinksLock {
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()> {
        let generation = fork_generation();
        let guard = self.write().unwrap_or_else(|e| e.into_inner());
        // SAFETY: the Arc moved into the closure keeps the lock alive past the guard, which the
        // closure drops first.
        let guard: std::sync::RwLockWriteGuard<'static, Sinks> = unsafe { std::mem::transmute(guard) };
        Box::new(move || {
            let mut guard = guard;
            if fork_generation() != generation {
                // In the child: the parent's threads that were inside the callback are gone, so
                // the child gets a fresh slot for the same callback (nothing running). The old
                // slot's counter is left alone: a thread that forked from inside the callback
                // still decrements it when its callback returns, and nobody waits on it.
                if let Some(old) = guard.callback.take() {
                    guard.callback = Some(Arc::new(CallbackSlot { callback: old.callback.clone(), running: AtomicUsize::new(0) }));
                }
            }
            drop(guard);
            drop(self);
        })
    }
}

impl Logger {
    /// Off, unless FLX_LOG names a level: then that level, to stderr.
    pub fn from_env() -> Logger {
        let logger = Logger::default();
        if let Ok(v) = std::env::var("FLX_LOG") {
            if let Ok(Some(level)) = Level::parse(&v) {
                logger.set_level(Some(level));
                logger.stderr.store(true, Ordering::Relaxed);
            }
        }
        logger
    }

    pub fn set_level(&self, level: Option<Level>) {
        self.level.store(level.map_or(0, |l| l as u8), Ordering::Relaxed);
    }

    pub fn level(&self) -> Option<Level> {
        match self.level.load(Ordering::Relaxed) {
            1 => Some(Level::Error),
            2 => Some(Level::Warn),
            3 => Some(Level::Info),
            4 => Some(Level::Debug),
            _ => None,
        }
    }

    /// Cheap enough for the cached path: one relaxed load.
    #[inline]
    pub fn enabled(&self, level: Level) -> bool {
        self.level.load(Ordering::Relaxed) >= level as u8
    }

    fn sinks(&self) -> std::sync::RwLockReadGuard<'_, Sinks> {
        self.sinks.read().unwrap_or_else(|e| e.into_inner())
    }

    fn sinks_mut(&self) -> std::sync::RwLockWriteGuard<'_, Sinks> {
        self.sinks.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Replace the callback; returns once no call of the previous one is still running, so
    /// whatever it uses may be freed. (A callback must not replace the callback itself: that
    /// would wait for itself.)
    pub fn set_callback(&self, cb: Option<Callback>) {
        let new = cb.map(|callback| Arc::new(CallbackSlot { callback, running: AtomicUsize::new(0) }));
        let old = std::mem::replace(&mut self.sinks_mut().callback, new);
        if let Some(old) = old {
            while old.running.load(Ordering::SeqCst) > 0 {
                std::thread::sleep(std::time::Duration::from_micros(200));
            }
        }
    }

    /// Append to `path` from now on (None: stop). The file is opened now, so errors show here.
    pub fn set_file(&self, path: Option<&str>) -> std::io::Result<()> {
        let file = match path {
            Some(p) => Some(Arc::new(std::fs::OpenOptions::new().create(true).append(true).open(p)?)),
            None => None,
        };
        self.sinks_mut().file = file;
        Ok(())
    }

    /// Send one event to every sink now. No lock of the logger is held while writing or calling
    /// back; callers must hold no lock of their own either (see `Deferred`).
    pub fn emit(&self, level: Level, message: &str) {
        if let Some(line) = self.line(level, message) {
            self.deliver(&line);
        }
    }

    /// One event as a finished line, stamped now; None when its level is off.
    pub fn line(&self, level: Level, message: &str) -> Option<Line> {
        if !self.enabled(level) {
            return None;
        }
        let message: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        Some(Line { level, text: format!("{} {} flexiti-auth: {}\n", utc_timestamp(crate::clock::unix_now()), level.name(), message) })
    }

    /// A key for this logger while it lives (for the re-entry check).
    fn id(&self) -> usize {
        Arc::as_ptr(&self.sinks) as *const u8 as usize
    }

    /// Whether this thread is inside this logger's callback right now (a callback calling back
    /// into the library on the same handle).
    pub fn in_own_callback(&self) -> bool {
        let id = self.id();
        IN_CALLBACK.try_with(|s| s.borrow().contains(&id)).unwrap_or(false)
    }

    /// Write a finished line to every sink. A line produced by a call the callback itself made
    /// on the same handle does not go back to that callback (it would recurse), only to the file
    /// and stderr.
    pub fn deliver(&self, line: &Line) {
        let (level, line) = (line.level, line.text.as_str());
        let (callback, file) = {
            let sinks = self.sinks();
            let slot = sinks.callback.clone().filter(|_| !self.in_own_callback());
            if let Some(slot) = &slot {
                slot.running.fetch_add(1, Ordering::SeqCst);
            }
            (slot, sinks.file.clone())
        };
        // One write per line: with O_APPEND, lines from several processes do not interleave;
        // and no stream lock that a forked child could inherit held.
        if self.stderr.load(Ordering::Relaxed) {
            write_stderr(line.as_bytes());
        }
        if let Some(f) = file {
            let _ = (&*f).write_all(line.as_bytes());
        }
        if let Some(slot) = callback {
            struct Done<'a>(&'a AtomicUsize, usize);
            impl Drop for Done<'_> {
                fn drop(&mut self) {
                    let _ = IN_CALLBACK.try_with(|s| {
                        let mut s = s.borrow_mut();
                        if let Some(i) = s.iter().rposition(|&x| x == self.1) {
                            s.remove(i);
                        }
                    });
                    self.0.fetch_sub(1, Ordering::SeqCst);
                }
            }
            let id = self.id();
            let _ = IN_CALLBACK.try_with(|s| s.borrow_mut().push(id));
            let _done = Done(&slot.running, id);
            // The callback is the caller's code: its panics are not the library's to hide.
            crate::quiet::outside(|| (slot.callback)(level, &line[..line.len() - 1]));
        }
    }
}

thread_local! {
    /// The loggers whose callback this thread is running, innermost last.
    static IN_CALLBACK: std::cell::RefCell<Vec<usize>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// One finished log line (timestamped when the event happened).
pub struct Line {
    level: Level,
    text: String,
}

/// Lines produced while a lock is held, delivered only once the caller holds none: a callback
/// may call into the library again (even on the same handle), and a slow sink never holds up
/// other threads.
pub struct Deferred<'a> {
    logger: &'a Logger,
    lines: std::cell::RefCell<Vec<Line>>,
}

impl<'a> Deferred<'a> {
    pub fn new(logger: &'a Logger) -> Self {
        Deferred { logger, lines: std::cell::RefCell::new(Vec::new()) }
    }

    pub fn push(&self, level: Level, message: &str) {
        if let Some(line) = self.logger.line(level, message) {
            self.lines.borrow_mut().push(line);
        }
    }

    /// Deliver every line collected, in order. Call with no lock held.
    pub fn flush(self) {
        for line in self.lines.into_inner() {
            self.logger.deliver(&line);
        }
    }
}

#[cfg(unix)]
fn write_stderr(bytes: &[u8]) {
    // SAFETY: writing a valid buffer to fd 2; a short or failed write only loses a log line.
    unsafe {
        libc::write(2, bytes.as_ptr() as *const libc::c_void, bytes.len());
    }
}

#[cfg(not(unix))]
fn write_stderr(bytes: &[u8]) {
    let _ = std::io::stderr().write_all(bytes);
}

/// "2026-11-25T17:40:00Z" (ISO 8601, UTC). httpdate computes the civil date and time (as an
/// HTTP date, "Wed, 25 Nov 2026 17:40:00 GMT", rearranged here). It covers 1970 to 9999; a time
/// outside that range is written as its unix seconds after an `@` (GNU date's notation).
pub fn utc_timestamp(unix: i64) -> String {
    const LAST: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(0..=LAST).contains(&unix) {
        return format!("@{unix}");
    }
    let http = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(unix as u64));
    // "Sun, 06 Nov 1994 08:49:37 GMT": weekday, day, month, year, time, zone.
    let f: Vec<&str> = http.split(' ').collect();
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    match (f.get(1), f.get(2).and_then(|m| MONTHS.iter().position(|x| x == m)), f.get(3), f.get(4)) {
        (Some(day), Some(month), Some(year), Some(time)) => format!("{year}-{:02}-{day}T{time}Z", month + 1),
        _ => format!("@{unix}"),
    }
}

/// The first few characters of a token, enough to tell two apart in a log, never enough to use.
pub fn token_hint(token: &str) -> String {
    let prefix: String = token.chars().take(4).collect();
    if token.chars().count() > 12 {
        format!("{prefix}…")
    } else {
        "…".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(utc_timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc_timestamp(784111777), "1994-11-06T08:49:37Z");
        assert_eq!(utc_timestamp(1764000000), "2025-11-24T16:00:00Z");
        assert_eq!(utc_timestamp(951782400), "2000-02-29T00:00:00Z");
        assert_eq!(utc_timestamp(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(utc_timestamp(-1), "@-1");
        assert_eq!(utc_timestamp(253_402_300_800), "@253402300800");
        assert_eq!(utc_timestamp(i64::MIN), format!("@{}", i64::MIN));
    }

    #[test]
    fn levels_filter_and_callbacks_receive_lines() {
        use parking_lot::Mutex;
        let l = Logger::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s2 = seen.clone();
        l.set_callback(Some(Arc::new(move |lvl, line: &str| s2.lock().push((lvl, line.to_owned())))));
        l.emit(Level::Error, "off by default");
        l.set_level(Some(Level::Info));
        l.emit(Level::Debug, "too verbose");
        l.emit(Level::Warn, "a\nb");
        let seen = seen.lock();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0].0, Level::Warn);
        assert!(seen[0].1.ends_with("WARN flexiti-auth: a b"), "{}", seen[0].1);
    }

    #[test]
    fn hints_are_short() {
        assert_eq!(token_hint("3d8f373a0123456789abcdef"), "3d8f…");
        assert_eq!(token_hint("short"), "…");
    }
}
