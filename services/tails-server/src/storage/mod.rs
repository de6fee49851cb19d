//! The storage directory, the service's persistence (the part `db/` plays in the other
//! services): one flat directory of tails files named by registry id or hash, plus three
//! hidden subdirectories of the server's own:
//!
//! - `.tmp/`: uploads in progress. Each is hashed as it is written, fsynced, then published
//!   by `link()` to its final name, which fails atomically when the name exists (also on
//!   NFS), so a reader never sees a partial file. Each temp file is `flock`ed while its upload
//!   lives; an unlocked one belongs to a dead process and is removed.
//! - `.locks/`: one lock file per name, held while a name is published, so that several
//!   processes (or machines sharing an NFS export) serialise on it.
//! - `.hashes/`: the tails hash of each file stored by registry id, for `ETag`.
//!
//! All blocking calls run on Tokio's blocking pool (plus, per upload, one scoped writeback
//! thread started from it), never on the executor threads.

mod direct;
mod files;
mod lookup;
mod publish;
mod upload;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use service_kit::health::{Outcome, free_bytes};

use crate::domain::{StoredName, TailsHash};

pub use publish::PublishError;
pub use upload::{Staged, Upload};

const TMP_DIR: &str = ".tmp";
const LOCK_DIR: &str = ".locks";
const HASH_DIR: &str = ".hashes";

#[derive(Debug)]
pub struct Storage {
    root: PathBuf,
    tmp: PathBuf,
    locks: PathBuf,
    hashes: PathBuf,
    hash_cache: Mutex<HashMap<String, TailsHash>>,
}

impl Storage {
    /// Creates the directories if needed and removes temp files left by dead processes.
    pub fn open(root: &Path) -> io::Result<Self> {
        let storage = Self {
            root: root.to_owned(),
            tmp: root.join(TMP_DIR),
            locks: root.join(LOCK_DIR),
            hashes: root.join(HASH_DIR),
            hash_cache: Mutex::new(HashMap::new()),
        };
        for dir in [&storage.root, &storage.tmp, &storage.locks, &storage.hashes] {
            fs::create_dir_all(dir)?;
        }
        let removed = storage.clean_stale_temps()?;
        if removed > 0 {
            log::info!("removed {removed} temp files of interrupted uploads");
        }
        Ok(storage)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes every temp file no live upload holds a lock on. Blocking.
    pub fn clean_stale_temps(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp)? {
            let path = entry?.path();
            let Ok(file) = File::open(&path) else {
                continue;
            };
            if !file.metadata().is_ok_and(|m| m.is_file()) {
                continue;
            }
            // Holding the lock while unlinking tells a creator racing with us (see
            // `files::create_temp`) that its file is gone.
            if file.try_lock().is_ok() && fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Whether `name` is stored.
    pub async fn contains(&self, name: &StoredName) -> io::Result<bool> {
        tokio::fs::try_exists(self.root.join(name.as_str())).await
    }

    /// Stored names containing `substring`, sorted.
    pub async fn matching(&self, substring: String) -> io::Result<Vec<String>> {
        let root = self.root.clone();
        blocking("listing", move || {
            let mut names = Vec::new();
            for entry in fs::read_dir(&root)? {
                let entry = entry?;
                let Ok(name) = entry.file_name().into_string() else {
                    continue;
                };
                if name.contains(&substring)
                    && StoredName::parse(&name).is_ok()
                    && entry.file_type().is_ok_and(|t| t.is_file())
                {
                    names.push(name);
                }
            }
            names.sort();
            Ok(names)
        })
        .await
    }

    /// Readiness: a file can be created, written, synced and removed.
    pub async fn check_writable(&self) -> Outcome {
        let tmp = self.tmp.clone();
        let probe = blocking("storage probe", move || {
            let mut file = files::create_temp(&tmp)?;
            file.write_all(b"ready")?;
            file.as_file().sync_all()?;
            file.close()
        });
        match probe.await {
            Ok(()) => Outcome::Ok,
            // Full: downloads are still served, so the replica stays in service.
            Err(err) if is_full(&err) => {
                let free = free_bytes(&self.root).unwrap_or(0);
                Outcome::Degraded(format!("storage full: {free} bytes free ({err})"))
            }
            Err(err) => Outcome::Unready(format!("storage not writable: {err}")),
        }
    }
}

/// The file system refused a write for want of space (or quota).
pub fn is_full(err: &io::Error) -> bool {
    use io::ErrorKind;
    matches!(
        err.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

/// Runs blocking file work on Tokio's blocking pool; a task that died is an I/O error.
async fn blocking<T, F>(what: &str, work: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| io::Error::other(format!("{what} task failed: {e}")))?
}
