//! `Idempotency-Key` on `POST passes`: a client that lost the answer (a dropped connection, a
//! crash) sends the same request with the same key again and gets the same passes, instead of
//! spending more tokens while the first ones are lost.

use sha2::{Digest, Sha256};

use super::time::Micros;

/// How long a key is remembered: a retry later than this spends new tokens.
pub const RETENTION_MICROS: Micros = 24 * 60 * 60 * 1_000_000;

/// A client-chosen key: 1 to 255 visible ASCII characters (a UUID, typically).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<Self, String> {
        let usable =
            !text.is_empty() && text.len() <= 255 && text.bytes().all(|b| b.is_ascii_graphic());
        if usable {
            Ok(Self(text.to_owned()))
        } else {
            Err("Idempotency-Key must be 1 to 255 visible ASCII characters".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a key is bound to: the message and count of the request that first used it.
pub fn request_hash(message: &str, count: u64) -> String {
    let mut digest = Sha256::new();
    digest.update(count.to_be_bytes());
    digest.update(message.as_bytes());
    digest
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_hashes() {
        assert!(IdempotencyKey::parse("3f2c1a9e-1b2c-4d5e-8f90-0123456789ab").is_ok());
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("has space").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert_eq!(request_hash("m", 1), request_hash("m", 1));
        assert_ne!(request_hash("m", 1), request_hash("m", 2));
        assert_ne!(request_hash("m", 1), request_hash("n", 1));
        assert_eq!(request_hash("m", 1).len(), 64);
    }
}
