//! Panics inside library calls stay quiet. A panic inside an entry point is caught at the C
//! boundary and becomes FLX_ERR_INTERNAL; without this, Rust's panic hook would first print its
//! message (which could quote anything the library was handling) to the host's stderr (PHP-FPM's
//! log, a POS terminal's console). The hook installed here stays silent for panics on a thread
//! that is inside a library call, and hands every other panic (the host's own Rust code, a Rust
//! log callback, other threads) to the hook that was installed before, unchanged.

use std::cell::Cell;
use std::sync::Once;

thread_local! {
    /// How many library calls this thread is inside (a callback may call in again).
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

static INSTALL: Once = Once::new();

fn install() {
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !inside() {
                previous(info);
            }
        }));
    });
}

/// Whether this thread is inside a library call right now.
pub fn inside() -> bool {
    DEPTH.try_with(|d| d.get() > 0).unwrap_or(false)
}

/// Marks this thread as inside a library call until dropped.
pub struct Inside(());

impl Inside {
    #[inline]
    pub fn enter() -> Inside {
        install();
        let _ = DEPTH.try_with(|d| d.set(d.get() + 1));
        Inside(())
    }
}

impl Drop for Inside {
    #[inline]
    fn drop(&mut self) {
        let _ = DEPTH.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}

/// Run the caller's code (a log callback) as outside the library: its panics are its own.
pub fn outside<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = DEPTH.try_with(|d| d.set(self.0));
        }
    }
    let _restore = Restore(DEPTH.try_with(|d| d.replace(0)).unwrap_or(0));
    f()
}
