//! fork(): a child process inherits memory, not threads. A lock that another thread held at the
//! instant of fork() stays locked in the child forever, and pooled sockets would be shared by
//! parent and child. So: before fork() every client's state lock is taken (briefly held locks
//! only; never the lock of a request in flight), released on both sides after it, and the child
//! counts a new fork generation, which tells each client to drop its connections and flight.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

// std's Mutex here (not parking_lot's): on Linux it is one futex word with no process-wide
// queue of waiters, so the child can release a lock its parent's threads were waiting on
// without handing it to (or waking) a thread that does not exist in the child.

/// Bumped in every child right after fork().
static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

/// The state locks of live clients, taken around fork().
static LOCKS: Mutex<Vec<Weak<dyn ForkLock>>> = Mutex::new(Vec::new());

/// Something whose lock must not be held by a vanished thread in a child.
pub trait ForkLock: Send + Sync {
    /// Take the lock; the returned closure releases it (called once, after fork, on either side).
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()>;
}

pub fn fork_generation() -> u64 {
    install_hooks();
    FORK_GENERATION.load(Ordering::Acquire)
}

fn registry() -> MutexGuard<'static, Vec<Weak<dyn ForkLock>>> {
    LOCKS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Register a lock to be held across fork(); it is forgotten once dropped.
pub fn register(lock: &Arc<dyn ForkLock>) {
    install_hooks();
    let mut locks = registry();
    // Forget dropped locks once the list has doubled since the last sweep: O(1) per registration
    // on average (a sweep on every registration made creating n clients cost O(n^2)).
    if locks.len() >= 2 * SWEPT_LEN.load(Ordering::Relaxed).max(16) {
        locks.retain(|w| w.strong_count() > 0);
        SWEPT_LEN.store(locks.len(), Ordering::Relaxed);
    }
    locks.push(Arc::downgrade(lock));
}

/// Length of the registry after its last sweep (read and written with the registry locked).
static SWEPT_LEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// What prepare() took, until parent() or child() releases it. Only the forking thread touches
/// it, while it holds the registry lock. (No fork on Windows: none of this exists there.)
#[cfg(unix)]
struct Held {
    releases: Vec<Box<dyn FnOnce()>>,
    registry: Option<MutexGuard<'static, Vec<Weak<dyn ForkLock>>>>,
}

#[cfg(unix)]
struct HeldCell(std::cell::UnsafeCell<Held>);
// SAFETY: see Held: accessed only by the thread that holds the registry lock.
#[cfg(unix)]
unsafe impl Sync for HeldCell {}
#[cfg(unix)]
static HELD: HeldCell = HeldCell(std::cell::UnsafeCell::new(Held { releases: Vec::new(), registry: None }));

#[cfg(unix)]
fn install_hooks() {
    static HOOK: once_cell::sync::OnceCell<()> = once_cell::sync::OnceCell::new();
    extern "C" fn prepare() {
        // Order: the registry, then each client's lock. Library code never takes the registry
        // while holding a client's lock, so this cannot deadlock.
        let registry = registry();
        let locks: Vec<Arc<dyn ForkLock>> = registry.iter().filter_map(Weak::upgrade).collect();
        // SAFETY: this thread now holds the registry lock (see Held).
        let held = unsafe { &mut *HELD.0.get() };
        held.releases = locks.into_iter().map(|l| l.hold_for_fork()).collect();
        held.registry = Some(registry);
    }
    extern "C" fn release() {
        // SAFETY: prepare() ran on this thread (or on the parent's copy of it, in the child).
        let held = unsafe { &mut *HELD.0.get() };
        for r in held.releases.drain(..) {
            r();
        }
        drop(held.registry.take());
    }
    extern "C" fn in_child() {
        FORK_GENERATION.fetch_add(1, Ordering::AcqRel);
        release();
    }
    HOOK.get_or_init(|| {
        // SAFETY: registering handlers; they only touch this module's statics and client locks.
        unsafe {
            libc::pthread_atfork(Some(prepare), Some(release), Some(in_child));
        }
        pin_library_in_memory(in_child as *const libc::c_void);
    });
}

#[cfg(not(unix))]
fn install_hooks() {}

/// The fork handlers live in this library's code: if a host (PHP, Python) unloaded the library
/// and forked later, the child would jump into unmapped memory. Pin the library once they exist.
#[cfg(all(unix, any(target_os = "linux", target_os = "android")))]
fn pin_library_in_memory(addr: *const libc::c_void) {
    // SAFETY: dladdr only reads loader tables; dlopen with RTLD_NOLOAD never loads anything new,
    // it only adds RTLD_NODELETE to the already-loaded object. The handle is kept on purpose.
    unsafe {
        let mut info: libc::Dl_info = std::mem::zeroed();
        if libc::dladdr(addr, &mut info) != 0 && !info.dli_fname.is_null() {
            libc::dlopen(info.dli_fname, libc::RTLD_NOW | libc::RTLD_NOLOAD | libc::RTLD_NODELETE);
        }
    }
}

#[cfg(all(unix, not(any(target_os = "linux", target_os = "android"))))]
fn pin_library_in_memory(_addr: *const libc::c_void) {}
