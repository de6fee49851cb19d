//! File-system steps the storage layer is built from.

use std::fs::{self, File, TryLockError};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;

use crate::domain::TailsHash;

/// Bytes read at once when hashing a stored file.
const READ_BUFFER: usize = 256 * 1024;

/// A new temp file in `dir`, locked for as long as it lives.
pub(super) fn create_temp(dir: &Path) -> io::Result<NamedTempFile> {
    for _ in 0..8 {
        let temp = tempfile::Builder::new()
            .prefix("upload-")
            .suffix(".part")
            .tempfile_in(dir)?;
        match temp.as_file().try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => continue,
            Err(TryLockError::Error(err)) => return Err(err),
        }
        // A cleaner may have locked, unlinked and released the file between our create and
        // our lock; then the path no longer names our file.
        if same_file(temp.path(), temp.as_file()) {
            return Ok(temp);
        }
    }
    Err(io::Error::other(
        "cannot create a temp file that stays ours",
    ))
}

pub(super) fn same_file(path: &Path, file: &File) -> bool {
    match (fs::metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

pub(super) fn hash_file(mut file: File) -> io::Result<TailsHash> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; READ_BUFFER];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(buffer.get(..read).unwrap_or_default());
    }
    Ok(TailsHash::from_digest(hasher.finalize()))
}
