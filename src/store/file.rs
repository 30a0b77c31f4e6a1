//! The file store (`token_store=file:/abs/dir`): one directory on this machine, one sealed
//! record per key.
//!
//! Per key (the hex digest of api_url + token path + client_id + scope):
//! - `<key>.token`: the sealed record, 0600, replaced only by writing `.<key>.<pid>.<n>.tmp` and
//!   renaming it over (a reader sees the old record or the new one; a process killed mid-write
//!   leaves at most a stray temporary file, never a torn record).
//! - `.locks/<key>`: the key's flight lock (flock, through std's `File::lock`: the kernel drops it
//!   when its holder dies) and, in its 8 bytes, the key's generation: a counter mapped shared
//!   into every process using the key and bumped after each store, so a cached call learns that
//!   the record changed with one memory read. No secret. In a subdirectory of its own (0700), so
//!   the directory holds one file per key and nobody takes a mapped file for a store file
//!   (truncating a mapped file faults the processes that map it).
//!
//! The directory must be owned by this process's user with no group or other permissions
//! (0700, like ssh's ~/.ssh); a record file with broader permissions or another owner is never
//! read.
//!
//! On Windows the same files with LockFileEx, a polled generation and no permission check: see
//! `windows.rs`.

use super::{error, Loaded, Slot, SlotLock, TokenStore};
use crate::error::{quote, Error, Result};
use std::path::{Path, PathBuf};

pub struct FileStore {
    dir: PathBuf,
    describe: String,
    /// Windows: `store_check_ms`, shared with every slot (see `windows.rs`).
    #[cfg(windows)]
    check_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FileStore {
    /// Check (and create, 0700, when missing) the store directory.
    pub fn open(path: &str) -> Result<FileStore> {
        let dir = Path::new(path);
        if !dir.is_absolute() {
            return Err(Error::invalid(format!("option token_store: {} is not an absolute directory path (file:/abs/dir)", quote(path))));
        }
        imp::prepare_dir(dir)?;
        Ok(FileStore {
            dir: dir.to_owned(),
            describe: format!("file:{}", dir.display()),
            #[cfg(windows)]
            check_ms: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(1000)),
        })
    }
}

impl TokenStore for FileStore {
    fn describe(&self) -> &str {
        &self.describe
    }

    fn open(&self, key: &str) -> Result<Box<dyn Slot>> {
        #[cfg(windows)]
        return Ok(Box::new(imp::FileSlot::open(&self.dir, key, self.check_ms.clone())?));
        #[cfg(not(windows))]
        Ok(Box::new(imp::FileSlot::open(&self.dir, key)?))
    }

    #[cfg(windows)]
    fn configure(&self, settings: &super::StoreSettings) {
        let ms = settings.check_interval.as_millis().min(u64::MAX as u128) as u64;
        self.check_ms.store(ms, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Windows (LockFileEx through std's `File::lock`, a polled generation): see `windows.rs`.
#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

#[cfg(unix)]
mod imp {
    use super::*;
    use std::fs::{File, OpenOptions};
    use std::io::{Read, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    use std::os::fd::AsRawFd;
    use std::sync::atomic::{AtomicI32, AtomicPtr, AtomicU64, Ordering};
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// Lock files open in this process for a flight, so that a child made by fork() closes its
    /// copies: a flock belongs to the open file, which the child's copy would keep open (and
    /// locked) after the parent's thread releases it, for as long as the child lives. No lock
    /// here, so the child handler cannot find it held by a thread that does not exist there.
    const HELD_SLOTS: usize = 64;
    static HELD: [AtomicI32; HELD_SLOTS] = [const { AtomicI32::new(-1) }; HELD_SLOTS];

    fn install_child_handler() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        extern "C" fn close_inherited_locks() {
            for slot in &HELD {
                let fd = slot.swap(-1, Ordering::AcqRel);
                if fd >= 0 {
                    // SAFETY: an inherited descriptor of a lock file whose owner (a thread of the
                    // parent) does not exist here; nothing else in the child uses it.
                    unsafe { libc::close(fd) };
                }
            }
        }
        // SAFETY: registering a handler that only touches HELD and closes descriptors.
        ONCE.call_once(|| unsafe {
            libc::pthread_atfork(None, None, Some(close_inherited_locks));
        });
    }

    /// Remember `fd` for the child handler (None when every slot is taken: then a fork while
    /// this lock is held leaves the child holding it, as it would without this).
    fn remember(fd: i32) -> Option<usize> {
        install_child_handler();
        HELD.iter().position(|s| s.compare_exchange(-1, fd, Ordering::AcqRel, Ordering::Relaxed).is_ok())
    }

    fn forget(slot: Option<usize>) {
        if let Some(i) = slot {
            HELD[i].store(-1, Ordering::Release);
        }
    }

    fn euid() -> u32 {
        // SAFETY: geteuid cannot fail.
        unsafe { libc::geteuid() }
    }

    pub fn prepare_dir(dir: &Path) -> Result<()> {
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir) {
            return Err(error(format!("option token_store: cannot create the directory {}: {e}", quote(&dir.display().to_string()))));
        }
        check_dir(dir).map(|_| ()).map_err(|e| error(format!("option token_store: {}", e.message)))
    }

    /// A store directory is trusted only when it is this user's and nobody else's (0700).
    fn check_dir(dir: &Path) -> Result<std::fs::Metadata> {
        let shown = quote(&dir.display().to_string());
        let md = std::fs::metadata(dir).map_err(|e| error(format!("cannot read the store directory {shown}: {e}")))?;
        if !md.is_dir() {
            return Err(error(format!("the store path {shown} is not a directory")));
        }
        if md.uid() != euid() {
            return Err(error(format!(
                "the store directory {shown} is owned by uid {}, not by this process's user (uid {}): refused",
                md.uid(),
                euid()
            )));
        }
        if md.mode() & 0o077 != 0 {
            return Err(error(format!(
                "the store directory {shown} has mode {:04o}, broader than 0700: refused (chmod 700 it)",
                md.mode() & 0o7777
            )));
        }
        Ok(md)
    }

    /// Where the lock files (with their generation counters) live: a subdirectory of their own,
    /// so that no file a person or a script would take for the store's (`*.token`) is mapped. A
    /// mapped file truncated under a running process faults it (SIGBUS) on its next read.
    const LOCKS: &str = ".locks";

    /// Open (creating it, 0600, in the 0700 subdirectory, made again if removed) a key's lock file.
    fn open_lock(dir: &Path, path: &Path) -> Result<File> {
        let sub = dir.join(LOCKS);
        match std::fs::DirBuilder::new().mode(0o700).create(&sub) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(error(format!("cannot create {}: {e}", shown(&sub)))),
        }
        let md = std::fs::symlink_metadata(&sub).map_err(|e| error(format!("cannot read {}: {e}", shown(&sub))))?;
        if !md.is_dir() || md.uid() != euid() || md.mode() & 0o077 != 0 {
            return Err(error(format!("{} is not a directory of this user's alone (0700): not trusted", shown(&sub))));
        }
        open_lock_file(path)
    }

    /// The generation counter: the first 8 bytes of a lock file, mapped shared.
    struct Mapping {
        ptr: *mut libc::c_void,
        dev: u64,
        ino: u64,
    }

    // SAFETY: the mapping is only read and written through atomic operations.
    unsafe impl Send for Mapping {}
    unsafe impl Sync for Mapping {}

    const MAP_LEN: usize = 8;

    impl Mapping {
        /// Map the counter of the lock file `like` (already open) through a descriptor of its
        /// own, opened from `path` and checked to be the same file. Never through `like`: a
        /// mapping keeps its open file alive, and a flock belongs to the open file, so mapping
        /// a locked descriptor would keep the lock for as long as the mapping lives. (The mapping
        /// also pins the inode, so a lock file removed and made again has another (dev, ino).)
        fn new(like: &File, path: &Path) -> std::io::Result<Mapping> {
            let want = like.metadata()?;
            let file = OpenOptions::new().read(true).write(true).custom_flags(libc::O_NOFOLLOW).open(path)?;
            let md = file.metadata()?;
            if (md.dev(), md.ino()) != (want.dev(), want.ino()) {
                return Err(std::io::Error::other("replaced while being mapped"));
            }
            if md.len() < MAP_LEN as u64 {
                file.set_len(MAP_LEN as u64)?;
            }
            // SAFETY: a shared mapping of the first 8 bytes of a file at least that long.
            let ptr = unsafe {
                libc::mmap(std::ptr::null_mut(), MAP_LEN, libc::PROT_READ | libc::PROT_WRITE, libc::MAP_SHARED, std::os::fd::AsRawFd::as_raw_fd(&file), 0)
            };
            if ptr == libc::MAP_FAILED {
                return Err(std::io::Error::last_os_error());
            }
            Ok(Mapping { ptr, dev: md.dev(), ino: md.ino() })
        }

        fn counter(&self) -> *mut AtomicU64 {
            self.ptr as *mut AtomicU64
        }
    }

    impl Drop for Mapping {
        fn drop(&mut self) {
            // SAFETY: mapped in Mapping::new with this length, unmapped once.
            unsafe { libc::munmap(self.ptr, MAP_LEN) };
        }
    }

    pub struct FileSlot {
        dir: PathBuf,
        name: String,
        token: PathBuf,
        lock: PathBuf,
        /// The counter of the generation file in use, read by the cached path with one load.
        counter: AtomicPtr<AtomicU64>,
        /// Every mapping made for this slot (a lock file removed and made again is mapped
        /// anew), kept until the slot is dropped so `counter` never dangles.
        maps: Mutex<Vec<Mapping>>,
    }

    fn shown(p: &Path) -> String {
        quote(&p.display().to_string())
    }

    fn open_lock_file(path: &Path) -> Result<File> {
        open_own_file(path, "store lock file")
    }

    /// Open (creating it, 0600) a file of the store that holds no secret and is never renamed.
    fn open_own_file(path: &Path, what: &str) -> Result<File> {
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| error(format!("cannot open the {what} {}: {e}", shown(path))))?;
        let md = f.metadata().map_err(|e| error(format!("cannot read the {what} {}: {e}", shown(path))))?;
        if !md.is_file() || md.uid() != euid() || md.mode() & 0o022 != 0 {
            return Err(error(format!(
                "the {what} {} is not a regular file of this user writable only by it (mode {:04o}, uid {}): not trusted",
                shown(path),
                md.mode() & 0o7777,
                md.uid()
            )));
        }
        Ok(f)
    }

    impl FileSlot {
        pub fn open(dir: &Path, key: &str) -> Result<FileSlot> {
            check_dir(dir)?;
            let lock = dir.join(LOCKS).join(key);
            let f = open_lock(dir, &lock)?;
            let map = Mapping::new(&f, &lock).map_err(|e| error(format!("cannot map the store lock file {}: {e}", shown(&lock))))?;
            Ok(FileSlot {
                dir: dir.to_owned(),
                name: key.to_owned(),
                token: dir.join(format!("{key}.token")),
                lock,
                counter: AtomicPtr::new(map.counter()),
                maps: Mutex::new(vec![map]),
            })
        }

        /// Map `locked` (the lock file this process just locked) if it is not the one mapped
        /// last (the lock file was removed and made again).
        fn remap_if_replaced(&self, locked: &File, id: (u64, u64)) -> Result<()> {
            let mut maps = self.maps.lock().unwrap_or_else(|e| e.into_inner());
            if Some(id) == maps.last().map(|m| (m.dev, m.ino)) {
                return Ok(());
            }
            let m = Mapping::new(locked, &self.lock).map_err(|e| error(format!("cannot map the store lock file {}: {e}", shown(&self.lock))))?;
            self.counter.store(m.counter(), Ordering::Release);
            maps.push(m);
            Ok(())
        }

        fn counter(&self) -> &AtomicU64 {
            // SAFETY: points into a mapping kept in self.maps until self is dropped; page-aligned.
            unsafe { &*self.counter.load(Ordering::Acquire) }
        }
    }

    impl Slot for FileSlot {
        #[inline]
        fn generation(&self) -> u64 {
            self.counter().load(Ordering::Acquire)
        }

        fn load(&self) -> Result<Loaded> {
            let generation = self.generation();
            let path = &self.token;
            let f = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Loaded { record: None, generation }),
                Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                    return Err(error(format!("the store file {} is a symbolic link: not trusted, not read", shown(path))))
                }
                Err(e) => return Err(error(format!("cannot open the store file {}: {e}", shown(path)))),
            };
            let md = f.metadata().map_err(|e| error(format!("cannot read the store file {}: {e}", shown(path))))?;
            if !md.is_file() {
                return Err(error(format!("the store file {} is not a regular file: not trusted, not read", shown(path))));
            }
            if md.uid() != euid() {
                return Err(error(format!("the store file {} is owned by uid {}, not this user (uid {}): not trusted, not read", shown(path), md.uid(), euid())));
            }
            if md.mode() & 0o077 != 0 {
                return Err(error(format!(
                    "the store file {} has mode {:04o}, broader than 0600: not trusted, not read",
                    shown(path),
                    md.mode() & 0o7777
                )));
            }
            let mut record = Vec::new();
            f.take(super::super::MAX_RECORD_BYTES as u64 + 1)
                .read_to_end(&mut record)
                .map_err(|e| error(format!("cannot read the store file {}: {e}", shown(path))))?;
            Ok(Loaded { record: Some(record), generation })
        }

        fn lock(&self, timeout: Duration) -> Result<Option<Box<dyn SlotLock + '_>>> {
            check_dir(&self.dir)?;
            let deadline = Instant::now() + timeout;
            loop {
                let f = HeldFile::new(open_lock(&self.dir, &self.lock)?);
                let mut pause = Duration::from_millis(1);
                loop {
                    match f.file.try_lock() {
                        Ok(()) => break,
                        Err(std::fs::TryLockError::WouldBlock) => {
                            let now = Instant::now();
                            if now >= deadline {
                                return Ok(None);
                            }
                            std::thread::sleep(pause.min(deadline - now));
                            pause = (pause * 2).min(Duration::from_millis(4));
                        }
                        Err(std::fs::TryLockError::Error(e)) => {
                            return Err(error(format!("cannot lock the store lock file {}: {e}", shown(&self.lock))))
                        }
                    }
                }
                // The lock must be on the file others open now (it may have been removed and
                // made again between open and lock).
                let mine = f.file.metadata().map_err(|e| error(format!("cannot read the store lock file {}: {e}", shown(&self.lock))))?;
                match std::fs::symlink_metadata(&self.lock) {
                    Ok(now) if now.dev() == mine.dev() && now.ino() == mine.ino() => {}
                    _ if Instant::now() < deadline => continue,
                    _ => return Ok(None),
                }
                self.remap_if_replaced(&f.file, (mine.dev(), mine.ino()))?;
                return Ok(Some(Box::new(FileLock { slot: self, _file: f })));
            }
        }

        fn location(&self) -> String {
            format!("store file {}", shown(&self.token))
        }
    }

    /// A lock file open for a flight, known to the fork child handler while open.
    struct HeldFile {
        file: File,
        slot: Option<usize>,
    }

    impl HeldFile {
        fn new(file: File) -> HeldFile {
            let slot = remember(file.as_raw_fd());
            HeldFile { file, slot }
        }
    }

    impl Drop for HeldFile {
        fn drop(&mut self) {
            // Forgotten before `file` closes: the child handler must never close a number
            // that was closed here and reused.
            forget(self.slot.take());
        }
    }

    struct FileLock<'a> {
        slot: &'a FileSlot,
        /// Closing it releases the flock.
        _file: HeldFile,
    }

    impl SlotLock for FileLock<'_> {
        fn store(&mut self, record: &[u8]) -> Result<u64> {
            let slot = self.slot;
            let dir = check_dir(&slot.dir)?;
            // A directory made read-only refuses writes even to root.
            if dir.mode() & 0o200 == 0 {
                return Err(error(format!("the store directory {} is read-only (mode {:04o}): the token was not stored", shown(&slot.dir), dir.mode() & 0o7777)));
            }
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let tmp = slot.dir.join(format!(".{}.{}.{}.tmp", slot.name, std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
            let written = (|| {
                let mut f = OpenOptions::new().write(true).create_new(true).mode(0o600).custom_flags(libc::O_NOFOLLOW).open(&tmp)?;
                f.write_all(record)?;
                f.sync_data()?;
                std::fs::rename(&tmp, &slot.token)
            })();
            if let Err(e) = written {
                let _ = std::fs::remove_file(&tmp);
                return Err(error(format!("cannot write the store file {}: {e}", shown(&slot.token))));
            }
            Ok(slot.counter().fetch_add(1, Ordering::AcqRel).wrapping_add(1))
        }
    }
}
