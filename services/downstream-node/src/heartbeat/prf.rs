//! KeyedPRF(seed, R).eval(0): a number in [0, R) drawn with AES-256-CFB8 keyed by the seed.
//!
//! The original means to bump a nonce per attempt but resets it, so every attempt encrypts
//! the same block and only the CFB-8 stream moves on; that quirk is part of the wire format.

use aes::Aes256;
use aes::cipher::{BlockEncrypt, KeyInit};
use sha2::{Digest, Sha256};

/// CFB with 8-bit segments, IV = 16 zero bytes, the stream running on across calls.
struct Cfb8 {
    cipher: Aes256,
    register: [u8; 16],
}

impl Cfb8 {
    fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: Aes256::new(key.into()),
            register: [0; 16],
        }
    }

    fn encrypt(&mut self, data: &mut [u8]) {
        for byte in data {
            let mut block = self.register.into();
            self.cipher.encrypt_block(&mut block);
            *byte ^= block[0];
            self.register.rotate_left(1);
            self.register[15] = *byte;
        }
    }
}

/// The PRF over arbitrary ranges, as big-endian byte strings (leading zeros allowed). Returns
/// the result as big-endian bytes of `ceil(bit_length(R) / 8)` bytes, or `None` for R = 0.
pub fn keyed_prf_bytes(seed: &[u8; 32], range_be: &[u8]) -> Option<Vec<u8>> {
    let first = range_be.iter().position(|&b| b != 0)?;
    let range = range_be.get(first..)?;
    let top = *range.first()?;
    let len = range.len();
    // Every bit up to the top bit of R (`top` is not 0, so this keeps at least one).
    let top_mask = u8::MAX >> top.leading_zeros();

    let digest = Sha256::digest(b"0");
    let mut input = vec![0u8; len];
    // Truncated to `len` bytes, or zero-padded when the range is wider than 256 bits.
    for (slot, byte) in input.iter_mut().zip(digest.iter()) {
        *slot = *byte;
    }

    let mut stream = Cfb8::new(seed);
    loop {
        let mut block = input.clone();
        stream.encrypt(&mut block);
        if let Some(first) = block.first_mut() {
            *first &= top_mask;
        }
        if block.as_slice() < range {
            return Some(block);
        }
    }
}

/// The PRF for ranges that fit in a `u64` (every file offset); `range` must be at least 1.
pub fn keyed_prf(seed: &[u8; 32], range: u64) -> u64 {
    let bytes = range.to_be_bytes();
    let Some(out) = keyed_prf_bytes(seed, &bytes) else {
        return 0;
    };
    out.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b))
}
