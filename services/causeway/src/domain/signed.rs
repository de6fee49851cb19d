//! The exact texts each route has signed, and their verification.
//!
//! Keys cannot contain `,` or `:` and addresses and nonces are base58/hex, so no text of one
//! route can be read as the text of another.

use service_kit::bitcoin::{
    BitcoinAddress, SignatureError, message_digest, message_digest_of, verify_digest,
};

use super::key::{Key, Value};
use super::nonce::Nonce;
use crate::error::Error;

/// `/put`: the digest of `key + value + signature_address + nonce` (python-rein `cli.py`,
/// causeway `cserver.py`), hashed in place: the value can be large.
pub fn put_digest(key: &Key, value: &Value, signer: &BitcoinAddress, nonce: &Nonce) -> [u8; 32] {
    message_digest_of(&[
        key.as_str(),
        value.as_str(),
        signer.as_str(),
        nonce.as_str(),
    ])
}

/// `/delete`: the digest of `key + address + nonce`, as the original intended.
pub fn delete_digest(key: &Key, signer: &BitcoinAddress, nonce: &Nonce) -> [u8; 32] {
    message_digest_of(&[key.as_str(), signer.as_str(), nonce.as_str()])
}

/// `/address`: `contact + "," + address`.
pub fn address_message(contact: &str, address: &BitcoinAddress) -> String {
    format!("{contact},{address}")
}

/// `/balance` (new): `"balance," + owner + "," + nonce`.
pub fn balance_message(owner: &BitcoinAddress, nonce: &Nonce) -> String {
    format!("balance,{owner},{nonce}", nonce = nonce.as_str())
}

/// What the replay table remembers of an accepted request: the digest of its signed text
/// (the one the signature signs). The text, not the signature, because ECDSA signatures are
/// malleable (negating `s` gives a second valid signature of the same text).
pub fn replay_digest(digest: &[u8; 32]) -> String {
    hex::encode(digest)
}

/// Strict Bitcoin Core verification; `refused` is the route's own 401.
pub fn verify(
    signer: &BitcoinAddress,
    signature: &str,
    message: &str,
    refused: Error,
) -> Result<(), Error> {
    verify_signed(signer, signature, message_digest(message), refused)
}

/// [`verify`] of a text by its digest.
pub fn verify_signed(
    signer: &BitcoinAddress,
    signature: &str,
    digest: [u8; 32],
    refused: Error,
) -> Result<(), Error> {
    match verify_digest(signer, signature.trim(), digest) {
        Ok(()) => Ok(()),
        Err(SignatureError::AddressMismatch | SignatureError::Unrecoverable) => Err(refused),
        Err(malformed) => Err(Error::MalformedSignature(malformed.to_string())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const BOB: &str = "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub";

    #[test]
    fn rein_put_vector() {
        let key = Key::parse("IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2").unwrap();
        let value = Value::parse("hello world".to_owned(), 8192).unwrap();
        let signer = BitcoinAddress::parse(BOB).unwrap();
        let nonce = Nonce::parse("0123456789abcdef0123456789abcdef").unwrap();
        let message = format!("{}{}{BOB}{}", key.as_str(), value.as_str(), nonce.as_str());
        let digest = put_digest(&key, &value, &signer, &nonce);
        assert_eq!(digest, message_digest(&message));
        assert_eq!(
            replay_digest(&digest),
            "4d2415d4df72d45f020ba292b7fceadc1360453b3545d4d27d4d42fc40e9bc8a"
        );
        let sig = "HyI4CUUxo5ep6d+wf5Ad+IeizCCsMbIRg/utIzGzqqdzZtqnHlcYrm9pAVlksLbzyP98noPVVO7fna6NFPLLGDo=";
        assert!(verify(&signer, sig, &message, Error::IncorrectSignature).is_ok());
        let cleared = format!("G{}", &sig[1..]);
        assert!(matches!(
            verify(&signer, &cleared, &message, Error::IncorrectSignature),
            Err(Error::IncorrectSignature)
        ));
        assert!(matches!(
            verify(&signer, "not base64!", &message, Error::IncorrectSignature),
            Err(Error::MalformedSignature(_))
        ));
    }

    #[test]
    fn address_route_vector() {
        let signer = BitcoinAddress::parse(BOB).unwrap();
        let message = address_message("bob@example.com", &signer);
        let sig = "H9OXAeXSbEr4t5XCX5m8lkxWdZ37IqdMEY2CG3jytlTWMqAA8JSORdephK3OSZ9/jbPxa5ZzMAzBMoOtvAKpntQ=";
        assert!(verify(&signer, sig, &message, Error::InvalidSignature).is_ok());
    }
}
