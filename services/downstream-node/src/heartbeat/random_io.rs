//! RandomIO: the seekable pseudo-random file a farmer regenerates from a contract's seed.
//!
//! `key = SHA256(seed text)`, byte `i` = AES-256(key, u128_be(i / 16 + 1))[i % 16]: AES-256-CTR
//! with a full 128-bit big-endian counter starting at 1.

use std::borrow::Cow;

use aes::Aes256;
use aes::cipher::{KeyIvInit, StreamCipher, StreamCipherSeek};
use sha2::{Digest, Sha256};

use super::chunk_hash::ChunkSource;

type Ctr = ctr::Ctr128BE<Aes256>;

/// The counter block of byte 0; the original starts counting at 1, not 0.
const FIRST_COUNTER: [u8; 16] = 1u128.to_be_bytes();

#[derive(Clone)]
pub struct RandomIo {
    key: [u8; 32],
}

impl RandomIo {
    /// The stream of a seed string (its UTF-8 bytes are hashed, hex seeds are not decoded).
    pub fn new(seed: &str) -> Self {
        Self {
            key: Sha256::digest(seed.as_bytes()).into(),
        }
    }

    /// Fills `buf` with the stream bytes starting at `offset`.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) {
        buf.fill(0);
        let mut cipher = Ctr::new(&self.key.into(), &FIRST_COUNTER.into());
        cipher.seek(offset);
        cipher.apply_keystream(buf);
    }

    /// The first `size` bytes: the file `RandomIO(seed).genfile(size)` writes.
    pub fn generate(&self, size: usize) -> Vec<u8> {
        let mut file = vec![0; size];
        self.read_at(0, &mut file);
        file
    }
}

/// `RandomIO(seed, size)`: the stream truncated to `size`, read window by window so the
/// node never holds a whole contract file in memory.
#[derive(Clone)]
pub struct RandomFile {
    stream: RandomIo,
    size: u64,
}

impl RandomFile {
    pub fn new(seed: &str, size: u64) -> Self {
        Self {
            stream: RandomIo::new(seed),
            size,
        }
    }
}

impl ChunkSource for RandomFile {
    fn len(&self) -> u64 {
        self.size
    }

    fn window(&self, offset: u64, len: u64) -> Cow<'_, [u8]> {
        // Saturating on purpose, as Python slicing: a window reaching past the end stops
        // there, one starting past it is empty.
        let end = offset.saturating_add(len).min(self.size);
        // Exact on 64-bit targets; elsewhere a window beyond the address space could not be
        // held, and an empty one fails the proof instead of aborting the node.
        let len = usize::try_from(end.saturating_sub(offset)).unwrap_or(0);
        let mut buf = vec![0; len];
        self.stream.read_at(offset, &mut buf);
        Cow::Owned(buf)
    }
}
