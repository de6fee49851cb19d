//! Farmer tokens (bearer secrets) and the public farmer ids derived from them.

use std::fmt;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// 16 random bytes, written as 32 lowercase hex characters; the farmer unhexlifies it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct FarmerToken([u8; 16]);

impl FarmerToken {
    pub fn generate() -> Self {
        let mut raw = [0; 16];
        rand::thread_rng().fill_bytes(&mut raw);
        Self(raw)
    }

    /// Exactly 32 lowercase hex characters, as the node issues them.
    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let raw = hex::decode(text).ok()?;
        Some(Self(raw.try_into().ok()?))
    }

    pub fn as_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The first 20 hex characters of SHA-256 over the raw 16 bytes (not the hex text).
    pub fn farmer_id(&self) -> FarmerId {
        let digest = Sha256::digest(self.0);
        FarmerId(hex::encode(&digest[..10]))
    }
}

impl fmt::Debug for FarmerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex = self.as_hex();
        write!(f, "FarmerToken({}…)", hex.get(..6).unwrap_or_default())
    }
}

/// The public id of a farmer (20 lowercase hex characters).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FarmerId(String);

impl FarmerId {
    pub fn parse(text: &str) -> Option<Self> {
        let ok = text.len() == 20 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        ok.then(|| Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn farmer_id_hashes_the_raw_bytes() {
        let token = FarmerToken::parse("00112233445566778899aabbccddeeff").unwrap();
        assert_eq!(token.farmer_id().as_str(), "a8faed6abbf35c12a4b2");
        assert_eq!(token.as_hex(), "00112233445566778899aabbccddeeff");
    }

    #[test]
    fn only_lowercase_hex_of_the_right_length_parses() {
        assert!(FarmerToken::parse("00112233445566778899AABBCCDDEEFF").is_none());
        assert!(FarmerToken::parse("00112233445566778899aabbccddee").is_none());
        assert!(FarmerToken::parse("zz112233445566778899aabbccddeeff").is_none());
        assert!(FarmerToken::parse("").is_none());
        let generated = FarmerToken::generate();
        assert_eq!(FarmerToken::parse(&generated.as_hex()), Some(generated));
        assert!(FarmerId::parse("a8faed6abbf35c12a4b2").is_some());
        assert!(FarmerId::parse("a8faed6abbf35c12a4b").is_none());
    }
}
