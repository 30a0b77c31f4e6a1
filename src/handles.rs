//! Handles for the C surface: a handle is a number (slot index + generation) looked up in a
//! table, never a pointer the library dereferences. A handle whose entry was removed stays
//! refused forever: its slot may be reused, but only under a later generation, and a
//! (slot, generation) pair is never issued twice (a slot whose generations are used up is
//! retired). So a stale handle can never reach another handle's value, whatever was created since,
//! and a bogus value (a random pointer, zeroed memory) is refused without reading any memory
//! it points at.
//!
//! Lookups are lock-free: the slot array grows in chunks that never move or go away, and each
//! slot publishes its entry through arc-swap, whose guard costs no shared write (threads sharing a
//! handle share no cache line they write). Insert and remove take one short lock (held across
//! fork(), see fork.rs). An entry removed while other threads still use it lives until they are
//! done: removing frees nothing under a caller's feet.
//!
//! Per-handle flags belong in [`Entry`] (set at insert, read by whoever looks the handle up).
//! Beside its value an entry carries a view: a small immutable snapshot of the value's state
//! (a client's current token) that the owner republishes with [`Table::publish`], so that one
//! lookup gives both the value and that state (the cached token path makes one arc-swap load,
//! not one for the handle and another for the token).

use crate::fork::{register, ForkLock};
use arc_swap::{ArcSwapOption, Guard};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};

/// Bits of a handle that name the slot; the rest hold the generation (never 0, so neither is a
/// handle). 64-bit: 16 M live handles, 2^40 generations per slot. 32-bit: 65 536 live
/// handles, 65 535 generations per slot (about 4.3 billion handles per process in all).
#[cfg(target_pointer_width = "64")]
const SLOT_BITS: u32 = 24;
#[cfg(not(target_pointer_width = "64"))]
const SLOT_BITS: u32 = 16;
const MAX_SLOTS: usize = 1 << SLOT_BITS;
const MAX_GENERATION: usize = usize::MAX >> SLOT_BITS;

/// Chunk k holds FIRST_CHUNK << k slots; together they cover MAX_SLOTS.
const FIRST_CHUNK: usize = 256;
const CHUNKS: usize = SLOT_BITS as usize - 7;

/// A freed slot is reused only once this many freed slots wait (oldest first), so a slot's
/// generations go slowly even when one handle is created and freed in a loop.
const REUSE_AFTER: usize = 1024;

/// What a slot holds: the value with the generation it was issued under, and its latest view.
pub struct Entry<T, V> {
    generation: usize,
    /// Inserted with insert_persistent: the C surface never removes it (flx_client_persistent).
    persistent: bool,
    pub value: Arc<T>,
    pub view: V,
}

type Slot<T, V> = ArcSwapOption<Entry<T, V>>;

struct Writer {
    /// Slots never used so far start at this index.
    fresh: usize,
    /// Freed slots with the generation their next entry gets, oldest first.
    freed: VecDeque<(usize, usize)>,
}

pub struct Table<T, V = ()> {
    chunks: [AtomicPtr<Slot<T, V>>; CHUNKS],
    writer: Mutex<Writer>,
    fork_hook: Once,
    _values: PhantomData<Arc<Entry<T, V>>>,
}

/// A looked-up entry: dereferences to the value, which stays alive while this is held, and
/// holds the view as it was published when the handle was looked up.
pub struct Ref<T, V = ()>(Guard<Option<Arc<Entry<T, V>>>>);

impl<T, V> Ref<T, V> {
    #[inline]
    fn entry(&self) -> &Entry<T, V> {
        // A Ref is only made from a guard holding Some (see Table::get).
        self.0.as_ref().expect("a Ref holds an entry")
    }

    /// Whether the entry was inserted with [`Table::insert_persistent`].
    pub fn is_persistent(&self) -> bool {
        self.entry().persistent
    }

    /// The view published last before this lookup.
    #[inline]
    pub fn view(&self) -> &V {
        &self.entry().view
    }

    /// The value itself, kept alive independently of this guard.
    pub fn to_arc(&self) -> Arc<T> {
        Arc::clone(&self.entry().value)
    }
}

impl<T, V> std::ops::Deref for Ref<T, V> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        &self.entry().value
    }
}

/// Why an insert failed: every slot is live, or (32-bit) every generation has been used.
#[derive(Debug)]
pub struct Full;

fn locate(index: usize) -> (usize, usize) {
    let n = index / FIRST_CHUNK + 1;
    let chunk = (usize::BITS - 1 - n.leading_zeros()) as usize;
    (chunk, index - FIRST_CHUNK * ((1 << chunk) - 1))
}

impl<T: Send + Sync + 'static, V: Send + Sync + 'static> Table<T, V> {
    pub const fn new() -> Self {
        Table {
            chunks: [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS],
            writer: Mutex::new(Writer { fresh: 0, freed: VecDeque::new() }),
            fork_hook: Once::new(),
            _values: PhantomData,
        }
    }

    fn slot(&self, index: usize) -> Option<&Slot<T, V>> {
        if index >= MAX_SLOTS {
            return None;
        }
        let (chunk, offset) = locate(index);
        let base = self.chunks[chunk].load(Ordering::Acquire);
        if base.is_null() {
            return None;
        }
        // SAFETY: a non-NULL chunk pointer points at FIRST_CHUNK << chunk slots that are never
        // freed (see grow), and offset is below that.
        Some(unsafe { &*base.add(offset) })
    }

    fn lock_writer(&'static self) -> MutexGuard<'static, Writer> {
        self.fork_hook.call_once(|| {
            // The writer lock is held across fork() like a client's state lock, so a child never
            // inherits it locked by a thread that does not exist there. Registered for good.
            let lock: Arc<dyn ForkLock> = Arc::new(WriterFork(self));
            register(&lock);
            std::mem::forget(lock);
        });
        self.writer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Make sure slot `index` exists (writer lock held).
    fn grow(&self, index: usize) {
        let (chunk, _) = locate(index);
        if self.chunks[chunk].load(Ordering::Acquire).is_null() {
            let slots: Box<[Slot<T, V>]> = (0..FIRST_CHUNK << chunk).map(|_| ArcSwapOption::empty()).collect();
            // Leaked on purpose: lookups may hold references into it at any time.
            let base = Box::leak(slots).as_mut_ptr();
            self.chunks[chunk].store(base, Ordering::Release);
        }
    }

    /// Store `value` with its first view and return its handle (never 0).
    pub fn insert(&'static self, value: T, view: V) -> Result<usize, Full> {
        self.insert_entry(value, view, false)
    }

    /// Like insert, with the entry's persistent flag set (see Ref::is_persistent).
    pub fn insert_persistent(&'static self, value: T, view: V) -> Result<usize, Full> {
        self.insert_entry(value, view, true)
    }

    fn insert_entry(&'static self, value: T, view: V, persistent: bool) -> Result<usize, Full> {
        let mut w = self.lock_writer();
        let (index, generation) = if w.freed.len() > REUSE_AFTER || w.fresh >= MAX_SLOTS {
            w.freed.pop_front().ok_or(Full)?
        } else {
            let index = w.fresh;
            w.fresh += 1;
            self.grow(index);
            (index, 1)
        };
        let slot = self.slot(index).expect("slot exists once grown");
        slot.store(Some(Arc::new(Entry { generation, persistent, value: Arc::new(value), view })));
        Ok(generation << SLOT_BITS | index)
    }

    /// The live entry behind `handle`, or None: never issued, removed, or not a handle at all.
    #[inline]
    pub fn get(&self, handle: usize) -> Option<Ref<T, V>> {
        let slot = self.slot(handle & (MAX_SLOTS - 1))?;
        let guard = slot.load();
        match &*guard {
            Some(e) if e.generation == handle >> SLOT_BITS => Some(Ref(guard)),
            _ => None,
        }
    }

    /// Take the entry out of the table: from now on `handle` is refused. Returns the entry (drop
    /// it outside any lock of yours; other threads may still hold it), or None when `handle`
    /// is not live.
    pub fn remove(&'static self, handle: usize) -> Option<Arc<Entry<T, V>>> {
        let index = handle & (MAX_SLOTS - 1);
        let generation = handle >> SLOT_BITS;
        let mut w = self.lock_writer();
        let slot = self.slot(index)?;
        if slot.load().as_ref().is_none_or(|e| e.generation != generation) {
            return None;
        }
        let old = slot.swap(None);
        if generation < MAX_GENERATION {
            w.freed.push_back((index, generation + 1));
        }
        old
    }

    /// Replace the view of the live entry `handle` (the value stays); a removed handle is left
    /// alone. Returns whether it was live. Lock-free; the caller orders publications of one
    /// handle (a client publishes with its state lock held). The previous entry is released
    /// when the last lookup holding it is done.
    pub fn publish(&self, handle: usize, view: V) -> bool
    where
        V: Clone,
    {
        let Some(slot) = self.slot(handle & (MAX_SLOTS - 1)) else {
            return false;
        };
        let generation = handle >> SLOT_BITS;
        let mut live = false;
        slot.rcu(|current| match current {
            Some(e) if e.generation == generation => {
                live = true;
                Some(Arc::new(Entry { generation, persistent: e.persistent, value: Arc::clone(&e.value), view: view.clone() }))
            }
            other => {
                live = false;
                other.clone()
            }
        });
        live
    }
}

impl<T: Send + Sync + 'static, V: Send + Sync + 'static> Default for Table<T, V> {
    fn default() -> Self {
        Self::new()
    }
}

struct WriterFork<T: 'static, V: 'static>(&'static Table<T, V>);

impl<T: Send + Sync + 'static, V: Send + Sync + 'static> ForkLock for WriterFork<T, V> {
    fn hold_for_fork(self: Arc<Self>) -> Box<dyn FnOnce()> {
        let guard = self.0.writer.lock().unwrap_or_else(|e| e.into_inner());
        Box::new(move || drop(guard))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_covers_every_slot_once() {
        let mut expected = (0, 0);
        for index in 0..FIRST_CHUNK * 15 {
            assert_eq!(locate(index), expected, "index {index}");
            expected.1 += 1;
            if expected.1 == FIRST_CHUNK << expected.0 {
                expected = (expected.0 + 1, 0);
            }
        }
        let (last_chunk, _) = locate(MAX_SLOTS - 1);
        assert!(last_chunk < CHUNKS);
    }

    #[test]
    fn a_removed_handle_is_refused_forever_even_when_its_slot_is_reused() {
        static TABLE: Table<u32> = Table::new();
        let first = TABLE.insert(7, ()).unwrap();
        assert_eq!(*TABLE.get(first).unwrap(), 7);
        assert_eq!(TABLE.remove(first).map(|e| *e.value), Some(7));
        assert!(TABLE.get(first).is_none());
        assert!(TABLE.remove(first).is_none(), "a second remove is refused");
        // Churn until the first slot is reused under a later generation.
        let mut reused = None;
        for i in 0..4 * REUSE_AFTER as u32 {
            let h = TABLE.insert(i, ()).unwrap();
            if h & (MAX_SLOTS - 1) == first & (MAX_SLOTS - 1) {
                reused = Some(h);
                break;
            }
            TABLE.remove(h).unwrap();
        }
        let reused = reused.expect("the first slot is reused");
        assert_ne!(reused, first);
        assert!(TABLE.get(first).is_none(), "the stale handle must not reach the new entry");
        assert!(TABLE.remove(first).is_none());
        assert!(TABLE.get(reused).is_some());
        for bogus in [0usize, 1, usize::MAX, 0xdead_beef, MAX_SLOTS - 1] {
            assert!(TABLE.get(bogus).is_none(), "{bogus:#x}");
        }
    }

    #[test]
    fn a_view_is_published_to_the_live_entry_only() {
        static TABLE: Table<u32, Option<Arc<String>>> = Table::new();
        let h = TABLE.insert(1, None).unwrap();
        let before = TABLE.get(h).unwrap();
        assert!(TABLE.publish(h, Some(Arc::new("t1".into()))));
        // A lookup made before keeps the view it saw; a new one sees the new view, same value.
        assert_eq!(*before.view(), None);
        let after = TABLE.get(h).unwrap();
        assert_eq!(after.view().as_deref().map(String::as_str), Some("t1"));
        assert!(Arc::ptr_eq(&before.to_arc(), &after.to_arc()));
        drop((before, after));
        // A stale generation of the same slot, and a removed handle, are never resurrected.
        let stale = (h >> SLOT_BITS) + 1 << SLOT_BITS | h & (MAX_SLOTS - 1);
        assert!(!TABLE.publish(stale, None));
        assert_eq!(TABLE.get(h).unwrap().view().as_deref().map(String::as_str), Some("t1"));
        let removed = TABLE.remove(h).unwrap();
        assert!(!TABLE.publish(h, Some(Arc::new("t2".into()))));
        assert!(TABLE.get(h).is_none());
        assert_eq!(removed.view.as_deref().map(String::as_str), Some("t1"));
    }
}
