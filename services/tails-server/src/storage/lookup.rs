//! Finding a stored file and its tails hash (the `ETag`), recorded in `.hashes/` and cached.

use std::fs::{self, File};
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use super::files::hash_file;
use super::{Storage, blocking};
use crate::domain::{StoredName, TailsHash};

/// Beyond this many entries the ETag cache starts over; it only saves re-reading `.hashes/`.
const HASH_CACHE_MAX: usize = 100_000;

impl Storage {
    /// The path and tails hash of a stored file; `None` when it is not stored.
    pub async fn locate(
        self: &Arc<Self>,
        name: &StoredName,
    ) -> io::Result<Option<(PathBuf, TailsHash)>> {
        let path = self.root.join(name.as_str());
        if !tokio::fs::try_exists(&path).await? {
            return Ok(None);
        }
        let hash = match name {
            StoredName::Hash(hash) => Some(hash.clone()),
            StoredName::Id(_) => match self.cached_hash(name) {
                Some(hash) => Some(hash),
                None => {
                    let storage = Arc::clone(self);
                    let name = name.clone();
                    blocking("hash", move || storage.hash_of(&name)).await?
                }
            },
        };
        Ok(hash.map(|hash| (path, hash)))
    }

    fn cached_hash(&self, name: &StoredName) -> Option<TailsHash> {
        lock(&self.hash_cache).get(name.as_str()).cloned()
    }

    pub(super) fn remember(&self, name: &StoredName, hash: TailsHash) {
        let mut cache = lock(&self.hash_cache);
        if cache.len() >= HASH_CACHE_MAX {
            cache.clear();
        }
        cache.insert(name.as_str().to_owned(), hash);
    }

    /// From `.hashes/`, or computed from the file (one written by the original server) and
    /// recorded. Blocking.
    fn hash_of(&self, name: &StoredName) -> io::Result<Option<TailsHash>> {
        let recorded = fs::read_to_string(self.hashes.join(name.as_str()))
            .ok()
            .and_then(|text| TailsHash::parse(text.trim()).ok());
        let hash = match recorded {
            Some(hash) => hash,
            None => {
                let file = match File::open(self.root.join(name.as_str())) {
                    Ok(file) => file,
                    Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(err) => return Err(err),
                };
                let hash = hash_file(file)?;
                if let Err(err) = self.write_hash_record(name, &hash) {
                    log::warn!("cannot record the hash of {name}: {err}");
                }
                hash
            }
        };
        self.remember(name, hash.clone());
        Ok(Some(hash))
    }
}

/// The cache holds no invariant a panicking holder could break, so a poisoned lock is used as
/// it is.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
