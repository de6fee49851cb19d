//! ChunkHash: HMAC-SHA256 keyed by a challenge seed over a PRF-chosen window of the file.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::prf::keyed_prf;

/// Where the checked window comes from: the farmer's file in memory, or the node's
/// regenerated RandomIO stream.
pub trait ChunkSource {
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Up to `len` bytes from `offset`, cut short at the end of the file (Python slicing).
    fn window(&self, offset: u64, len: u64) -> Cow<'_, [u8]>;
}

impl ChunkSource for [u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn window(&self, offset: u64, len: u64) -> Cow<'_, [u8]> {
        // Saturating on purpose, as Python slicing: bounds past the end stop at the end.
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        let end = usize::try_from(offset.saturating_add(len))
            .unwrap_or(usize::MAX)
            .min(<[u8]>::len(self));
        Cow::Borrowed(self.get(start..end).unwrap_or_default())
    }
}

impl ChunkSource for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn window(&self, offset: u64, len: u64) -> Cow<'_, [u8]> {
        self.as_slice().window(offset, len)
    }
}

/// `int(check_fraction * filesz)` in IEEE double arithmetic, truncated, as encode computes it.
pub fn chunk_size(filesz: u64, check_fraction: f64) -> u64 {
    let size = check_fraction * filesz as f64;
    if size.is_finite() && size > 0.0 {
        size as u64
    } else {
        0
    }
}

/// The leaf blob for one challenge seed.
pub fn chunk_hash<S: ChunkSource + ?Sized>(
    file: &S,
    seed: &[u8; 32],
    filesz: u64,
    chunksz: u64,
) -> [u8; 32] {
    let chunksz = chunksz.min(filesz);
    let offset = keyed_prf(seed, (filesz - chunksz).saturating_add(1));
    let window = file.window(offset, chunksz);
    hmac_sha256(seed, &[&window])
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC accepts keys of every length, so this never takes the `else` branch.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}
