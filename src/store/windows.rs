//! The file store on Windows (`token_store=file:C:\dir` or `C:\dir`): the same files as on
//! Unix (`<key>.token`, `.locks/<key>`), with what Windows offers in place of what it lacks.
//!
//! - Lock: std's `File::lock` (LockFileEx, exclusive, the whole file) on `.locks/<key>`, opened
//!   without FILE_SHARE_DELETE so the lock file cannot be removed while a process has it open.
//!   Windows releases the lock of a process that dies (after a delay the system does not bound).
//! - Writes: a temporary file in the directory, flushed, closed, then `std::fs::rename`d over the
//!   record (which replaces it on Windows); readers open the record with FILE_SHARE_DELETE so a
//!   reader never blocks the replacement and sees the old record or the new one.
//! - Generation: no shared mapping here. The slot polls: the record is read again once
//!   `store_check_ms` (1000 ms by default) has passed since it was last read, and a record
//!   different from the one last read or written is a new generation. So a `use_cache` call may
//!   hand out a token another process has replaced for at most `store_check_ms` (0: the record is
//!   read on every cached call); a non-cache call always re-reads the record under the lock.
//! - Permissions: Windows has no Unix modes and this version reads no ACL. Checked: the store
//!   path is a directory and not a symbolic link or other reparse point; a record that is a
//!   reparse point or not a regular file is never read. Not checked: owner or ACL of the
//!   directory or its files; they get what the directory's ACL inheritance gives them. The
//!   records are sealed with a key derived from the client secret all the same.

use super::*;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::windows::fs::OpenOptionsExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const FILE_SHARE_READ: u32 = 0x1;
const FILE_SHARE_WRITE: u32 = 0x2;
const FILE_SHARE_DELETE: u32 = 0x4;
/// Open a symbolic link (or other reparse point) itself, not what it points to.
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

const LOCKS: &str = ".locks";

fn shown(p: &Path) -> String {
    quote(&p.display().to_string())
}

use crate::clock::Coarse;
use crate::store::{LockWait, Polled};

pub fn prepare_dir(dir: &Path) -> Result<()> {
    if let Err(e) = std::fs::create_dir_all(dir) {
        return Err(error(format!("option token_store: cannot create the directory {}: {e}", shown(dir))));
    }
    check_dir(dir).map_err(|e| error(format!("option token_store: {}", e.message)))
}

/// A store directory is a directory, not a symbolic link or junction to one.
fn check_dir(dir: &Path) -> Result<()> {
    let md = std::fs::symlink_metadata(dir).map_err(|e| error(format!("cannot read the store directory {}: {e}", shown(dir))))?;
    if md.file_type().is_symlink() {
        return Err(error(format!("the store path {} is a symbolic link: refused", shown(dir))));
    }
    if !md.is_dir() {
        return Err(error(format!("the store path {} is not a directory", shown(dir))));
    }
    Ok(())
}

pub struct FileSlot {
    dir: PathBuf,
    name: String,
    token: PathBuf,
    lock: PathBuf,
    /// Windows has no shared counter mapping here: reads find out.
    polled: Polled,
}

impl FileSlot {
    pub fn open(dir: &Path, key: &str, check_ms: Arc<AtomicU64>) -> Result<FileSlot> {
        check_dir(dir)?;
        let slot = FileSlot {
            dir: dir.to_owned(),
            name: key.to_owned(),
            token: dir.join(format!("{key}.token")),
            lock: dir.join(LOCKS).join(key),
            polled: Polled::new(check_ms),
        };
        slot.open_lock()?;
        Ok(slot)
    }

    fn open_lock(&self) -> Result<File> {
        let sub = self.dir.join(LOCKS);
        match std::fs::create_dir(&sub) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(error(format!("cannot create {}: {e}", shown(&sub)))),
        }
        let f = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(&self.lock)
            .map_err(|e| error(format!("cannot open the store lock file {}: {e}", shown(&self.lock))))?;
        let md = f.metadata().map_err(|e| error(format!("cannot read the store lock file {}: {e}", shown(&self.lock))))?;
        if !md.is_file() || md.file_type().is_symlink() {
            return Err(error(format!("the store lock file {} is not a regular file: not trusted", shown(&self.lock))));
        }
        Ok(f)
    }

    fn read_record(&self) -> Result<Option<Vec<u8>>> {
        let path = &self.token;
        let f = match OpenOptions::new()
            .read(true)
            .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
            .open(path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(format!("cannot open the store file {}: {e}", shown(path)))),
        };
        let md = f.metadata().map_err(|e| error(format!("cannot read the store file {}: {e}", shown(path))))?;
        if md.file_type().is_symlink() || !md.is_file() {
            return Err(error(format!("the store file {} is a link or not a regular file: not trusted, not read", shown(path))));
        }
        let mut record = Vec::new();
        f.take(crate::store::MAX_RECORD_BYTES as u64 + 1)
            .read_to_end(&mut record)
            .map_err(|e| error(format!("cannot read the store file {}: {e}", shown(path))))?;
        Ok(Some(record))
    }
}

impl Slot for FileSlot {
    #[inline]
    fn generation(&self) -> u64 {
        self.polled.generation()
    }

    #[inline]
    fn check_due(&self, now: &Coarse) -> bool {
        self.polled.check_due(now)
    }

    fn load(&self) -> Result<Loaded> {
        self.polled.checked();
        let record = self.read_record()?;
        let generation = self.polled.observe(record.as_deref());
        Ok(Loaded { record, generation })
    }

    fn lock(&self, timeout: Duration) -> Result<Option<Box<dyn SlotLock + '_>>> {
        check_dir(&self.dir)?;
        let deadline = Instant::now() + timeout;
        let file = self.open_lock()?;
        let mut pause = Duration::from_millis(1);
        // This store learns of records only by reading them, so the generation a call started
        // with may be up to store_check_ms old: what tells another process's result from a
        // record stored before this call is the record as it was when the lock was first found
        // held (read right then), or nothing at all when it was free at once (README "Web farm":
        // a call that waited on no one sends its own refresh).
        let mut wait = LockWait::Free;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Some(Box::new(FileLock { slot: self, _file: file, wait }))),
                Err(std::fs::TryLockError::WouldBlock) => {
                    if wait == LockWait::Free {
                        wait = LockWait::HeldAt(self.load().map_or_else(|_| self.generation(), |l| l.generation));
                    }
                    let now = Instant::now();
                    if now >= deadline {
                        return Ok(None);
                    }
                    std::thread::sleep(pause.min(deadline - now));
                    pause = (pause * 2).min(Duration::from_millis(4));
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(error(format!("cannot lock the store lock file {}: {e}", shown(&self.lock)))),
            }
        }
    }

    fn location(&self) -> String {
        format!("store file {}", shown(&self.token))
    }
}

struct FileLock<'a> {
    slot: &'a FileSlot,
    /// Closing it releases the lock.
    _file: File,
    wait: LockWait,
}

impl SlotLock for FileLock<'_> {
    fn wait(&self) -> LockWait {
        self.wait
    }

    fn store(&mut self, record: &[u8]) -> Result<u64> {
        let slot = self.slot;
        check_dir(&slot.dir)?;
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let tmp = slot.dir.join(format!(".{}.{}.{}.tmp", slot.name, std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
        let written = (|| {
            let mut f = OpenOptions::new().write(true).create_new(true).share_mode(0).open(&tmp)?;
            f.write_all(record)?;
            f.sync_data()?;
            drop(f);
            // Windows before 10 1607 (no POSIX rename) refuses to replace a file that a reader
            // has open at this moment: try again shortly, a reader holds it for one small read.
            let mut tries = 0;
            loop {
                match std::fs::rename(&tmp, &slot.token) {
                    Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && tries < 50 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(2));
                    }
                    other => break other,
                }
            }
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(error(format!("cannot write the store file {}: {e}", shown(&slot.token))));
        }
        slot.polled.checked();
        Ok(slot.polled.observe(Some(record)))
    }
}
