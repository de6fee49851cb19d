//! Publishing a staged upload under its final name: under the name's lock, once, atomically.

use std::fs::{self, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;

use super::files::{create_temp, same_file, sync_dir};
use super::{Staged, Storage, blocking};
use crate::domain::{StoredName, TailsHash};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("already stored")]
    Exists,
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl Storage {
    /// Publishes `staged` as `name`; `Exists` when the name is already taken.
    pub async fn publish(
        self: &Arc<Self>,
        staged: Staged,
        name: StoredName,
    ) -> Result<(), PublishError> {
        let storage = Arc::clone(self);
        let hash = staged.hash.clone();
        let published = blocking("publish", move || {
            Ok(storage.publish_blocking(staged, &name).map(|()| name))
        })
        .await??;
        self.remember(&published, hash);
        Ok(())
    }

    fn publish_blocking(&self, staged: Staged, name: &StoredName) -> Result<(), PublishError> {
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.locks.join(format!("{name}.lock")))?;
        lock.lock()?;
        let target = self.root.join(name.as_str());
        if fs::symlink_metadata(&target).is_ok() {
            return Err(PublishError::Exists);
        }
        if let StoredName::Id(_) = name {
            self.write_hash_record(name, &staged.hash)?;
        }
        fs::set_permissions(staged.file.path(), Permissions::from_mode(0o644))?;
        match fs::hard_link(staged.file.path(), &target) {
            Ok(()) => {}
            Err(err) if err.kind() == io::ErrorKind::AlreadyExists => {
                // NFS answers a retried LINK whose first reply was lost with EEXIST although
                // the link is ours; anything else is a writer that does not take our lock.
                if !same_file(&target, staged.file.as_file()) {
                    if let StoredName::Id(_) = name {
                        let _ = fs::remove_file(self.hashes.join(name.as_str()));
                    }
                    return Err(PublishError::Exists);
                }
            }
            Err(err) => return Err(err.into()),
        }
        sync_dir(&self.root)?;
        drop(staged);
        Ok(())
    }

    pub(super) fn write_hash_record(&self, name: &StoredName, hash: &TailsHash) -> io::Result<()> {
        // Not fsynced: a record lost or torn by a crash fails to parse and is recomputed.
        let mut record = create_temp(&self.tmp)?;
        record.write_all(hash.as_str().as_bytes())?;
        record
            .persist(self.hashes.join(name.as_str()))
            .map_err(|e| e.error)?;
        Ok(())
    }
}
