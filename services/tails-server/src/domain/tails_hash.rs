use std::fmt;

use sha2::digest::Output;
use sha2::{Digest, Sha256};

/// `tailsHash`: base58 (Bitcoin alphabet) of the SHA-256 of the whole tails file.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TailsHash(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("Tails hash is not valid: {0}.")]
pub struct TailsHashError(pub String);

impl TailsHash {
    /// Accepts only the base58 text of exactly 32 bytes, so the text is canonical and safe as
    /// a file name.
    pub fn parse(text: &str) -> Result<Self, TailsHashError> {
        let invalid = || TailsHashError(shorten(text));
        if text.is_empty() || text.len() > 44 {
            return Err(invalid());
        }
        let mut bytes = [0u8; 32];
        match bs58::decode(text).onto(&mut bytes) {
            Ok(32) => Ok(Self(text.to_owned())),
            _ => Err(invalid()),
        }
    }

    pub fn from_digest(digest: Output<Sha256>) -> Self {
        Self(bs58::encode(digest).into_string())
    }

    pub fn of(bytes: &[u8]) -> Self {
        Self::from_digest(Sha256::digest(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TailsHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Echoing a client's input in an error: keep it short and printable.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 300;
    let printable: String = text
        .chars()
        .map(|c| if c.is_control() { '\u{FFFD}' } else { c })
        .take(MAX)
        .collect();
    if text.chars().count() > MAX {
        format!("{printable}…")
    } else {
        printable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_examples() {
        assert_eq!(
            TailsHash::of(&[0, 2]).as_str(),
            "J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E"
        );
        assert_eq!(
            TailsHash::of(&[0, 3]).as_str(),
            "6wSNs2NzKG1oWjde8rF6rX4GRV5aRbB3nhGQy6vJtdDn"
        );
        assert_eq!(
            TailsHash::of(&[0, 2, 1]).as_str(),
            "AXquTiy1DFXGaggHWiFnGGHT3wv9zFt41QdXsg3B1kJC"
        );
    }

    #[test]
    fn parses_only_32_byte_base58() {
        let good = "J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E";
        assert_eq!(TailsHash::parse(good).unwrap().as_str(), good);
        for bad in [
            "",
            "abc",
            "0OIl",
            "J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqd",
            "1J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E",
            "../J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E",
            "J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E\0",
        ] {
            assert!(TailsHash::parse(bad).is_err(), "{bad:?}");
        }
    }
}
