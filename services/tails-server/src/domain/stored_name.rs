use std::fmt;

use super::{RevRegId, RevRegIdError, TailsHash};

/// The name a tails file is stored under: its registry id (`PUT /{id}`) or its hash
/// (`PUT /hash/{hash}`). Both live in one flat directory, as in the original, so an existing
/// storage directory can be served unchanged. Neither kind can start with `.`, which keeps
/// the server's own temp, lock and hash subdirectories out of the namespace.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StoredName {
    Id(RevRegId),
    Hash(TailsHash),
}

impl StoredName {
    /// For `GET /{name}`: a registry id, or a hash (files uploaded by hash are served there
    /// too, as in the original).
    pub fn parse(text: &str) -> Result<Self, RevRegIdError> {
        match RevRegId::parse(text) {
            Ok(id) => Ok(Self::Id(id)),
            Err(err) => TailsHash::parse(text).map(Self::Hash).map_err(|_| err),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Id(id) => id.as_str(),
            Self::Hash(hash) => hash.as_str(),
        }
    }
}

impl fmt::Display for StoredName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
