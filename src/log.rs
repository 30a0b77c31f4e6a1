//! Logging like the guide's httpDebug, minus its leaks: one line per event, levels error / warn /
//! info / debug, off by default. Sinks: a callback (the C surface wraps a C function in one), an
//! append-only file, and stderr when FLX_LOG is set. Lines never carry a secret: callers build
//! them from non-secret facts, and the client redacts its secrets from every line it emits.

use parking_lot::{Mutex, RwLock};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
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

pub struct Logger {
    /// 0 = off, else the most verbose Level enabled.
    level: AtomicU8,
    stderr: AtomicBool,
    callback: RwLock<Option<Callback>>,
    file: Mutex<Option<std::fs::File>>,
}

impl Default for Logger {
    fn default() -> Self {
        Logger { level: AtomicU8::new(0), stderr: AtomicBool::new(false), callback: RwLock::new(None), file: Mutex::new(None) }
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

    /// Replace the callback; returns once no call of the previous one is still running.
    /// (A callback must not replace the callback itself: that would wait for itself.)
    pub fn set_callback(&self, cb: Option<Callback>) {
        *self.callback.write() = cb;
    }

    /// Append to `path` from now on (None: stop). The file is opened now, so errors show here.
    pub fn set_file(&self, path: Option<&str>) -> std::io::Result<()> {
        let file = match path {
            Some(p) => Some(std::fs::OpenOptions::new().create(true).append(true).open(p)?),
            None => None,
        };
        *self.file.lock() = file;
        Ok(())
    }

    /// Send one event to every sink. The callback is called without any library lock held
    /// but this logger's, so it may call back into the library.
    pub fn emit(&self, level: Level, message: &str) {
        if !self.enabled(level) {
            return;
        }
        let message: String = message.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let line = format!("{} {} flexiti-auth: {}", utc_timestamp(crate::clock::unix_now()), level.name(), message);
        if self.stderr.load(Ordering::Relaxed) {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
        if let Some(f) = self.file.lock().as_mut() {
            // One write per line: with O_APPEND, lines from several processes do not interleave.
            let _ = f.write_all(format!("{line}\n").as_bytes());
        }
        // The read lock is held across the call, so set_callback (a write) returns only once no
        // call of the old callback is in progress: its user data may then be freed. Recursive,
        // because a callback may log again through the library.
        let cb = self.callback.read_recursive();
        if let Some(cb) = cb.as_ref() {
            cb(level, &line);
        }
    }
}

/// "2026-11-25T17:40:00Z".
pub fn utc_timestamp(unix: i64) -> String {
    let days = unix.div_euclid(86400);
    let secs = unix.rem_euclid(86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", secs / 3600, secs / 60 % 60, secs % 60)
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
    }

    #[test]
    fn levels_filter_and_callbacks_receive_lines() {
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
