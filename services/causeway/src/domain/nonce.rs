use rand::RngCore;

use super::time::Clock;
use crate::error::Error;

/// 32 lowercase hex characters (128 random bits). Anything else, the empty string and null
/// included, is never a valid nonce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce(String);

impl Nonce {
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.len() == 32 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(Error::BadNonce)
        }
    }

    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(hex::encode(bytes))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `Ok` when this is `current` (the owner's nonce and when it was issued) and still live.
    pub fn check(&self, current: Option<(String, i64)>, clock: Clock) -> Result<(), Error> {
        match current {
            Some((stored, issued))
                if stored == self.0 && clock.now < issued.saturating_add(clock.nonce_ttl) =>
            {
                Ok(())
            }
            _ => Err(Error::BadNonce),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn nonces() {
        let n = Nonce::random();
        assert_eq!(Nonce::parse(n.as_str()).ok(), Some(n.clone()));
        assert_ne!(Nonce::random(), n);
        for bad in [
            "",
            "0123",
            &"A".repeat(32),
            &"g".repeat(32),
            &"a".repeat(33),
        ] {
            assert!(Nonce::parse(bad).is_err(), "{bad}");
        }
    }
}
