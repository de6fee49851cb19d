//! Finding a stored tails file to serve.

use std::path::PathBuf;

use crate::app::AppState;
use crate::domain::{StoredName, TailsHash};
use crate::error::Error;

/// A stored file: where it is and its tails hash (its `ETag`).
#[derive(Debug)]
pub struct Stored {
    pub path: PathBuf,
    pub hash: TailsHash,
}

/// The file stored as `name`; `NotFound` when there is none.
pub async fn locate(state: &AppState, name: &StoredName) -> Result<Stored, Error> {
    match state.storage.locate(name).await? {
        Some((path, hash)) => Ok(Stored { path, hash }),
        None => Err(Error::NotFound),
    }
}
