//! Bitcoin Core `signmessage`/`verifymessage`: 65-byte compact recoverable ECDSA
//! signatures over a double-SHA-256 of the prefixed message.

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use secp256k1::ecdsa::{RecoverableSignature, RecoveryId};
use secp256k1::{All, Message, PublicKey, Secp256k1, SecretKey};
use sha2::{Digest, Sha256};

use super::address::{BitcoinAddress, hash160};

/// Building a context precomputes multiplication tables (milliseconds of work); one shared,
/// randomised context keeps verification at the cost of the recovery itself.
static SECP: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

/// `0x18` (the length of the text that follows) and the text: Bitcoin's domain separator,
/// so a signed message can never be a valid transaction signature.
const MESSAGE_MAGIC: &[u8] = b"\x18Bitcoin Signed Message:\n";

/// Header bytes 27..=34: 27 + recovery id (0..=3) + 4 when the key is compressed.
const HEADER_BASE: u8 = 27;
const HEADER_COMPRESSED: u8 = 4;

/// Why a signature does not prove control of an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("signature is not valid standard base64: {0}")]
    InvalidBase64(#[from] base64::DecodeError),
    #[error("signature is {len} bytes, expected 65 (header, r, s)")]
    WrongLength { len: usize },
    #[error("signature header byte {0} is outside 27..=34")]
    InvalidHeader(u8),
    #[error("no public key can be recovered from the signature")]
    Unrecoverable,
    #[error("signature was not made by the key of the given address")]
    AddressMismatch,
}

/// Feeds the Bitcoin variable-length encoding of `n` to `sink`.
fn encode_varint(n: u64, mut sink: impl FnMut(&[u8])) {
    if let Ok(byte) = u8::try_from(n)
        && byte < 0xfd
    {
        sink(&[byte]);
    } else if let Ok(short) = u16::try_from(n) {
        sink(&[0xfd]);
        sink(&short.to_le_bytes());
    } else if let Ok(word) = u32::try_from(n) {
        sink(&[0xfe]);
        sink(&word.to_le_bytes());
    } else {
        sink(&[0xff]);
        sink(&n.to_le_bytes());
    }
}

/// The 32-byte digest `signmessage` signs:
/// SHA-256(SHA-256(0x18 "Bitcoin Signed Message:\n" || varint(len) || message)).
pub fn message_digest(message: &str) -> [u8; 32] {
    message_digest_of(&[message])
}

/// [`message_digest`] of the concatenation of `parts`, without building it (a signed text
/// that carries a large value need not be copied to be hashed).
pub fn message_digest_of(parts: &[&str]) -> [u8; 32] {
    let len: usize = parts.iter().map(|part| part.len()).sum();
    let mut hasher = Sha256::new();
    hasher.update(MESSAGE_MAGIC);
    // usize is at most 64 bits on every target Rust supports, so this is lossless.
    encode_varint(len as u64, |bytes| hasher.update(bytes));
    for part in parts {
        hasher.update(part.as_bytes());
    }
    Sha256::digest(hasher.finalize()).into()
}

/// Decodes the strict wire form: padded standard base64 of exactly 65 bytes.
fn decode_signature(signature_b64: &str) -> Result<(u8, [u8; 64]), SignatureError> {
    let bytes = STANDARD.decode(signature_b64)?;
    let len = bytes.len();
    let sig = <[u8; 65]>::try_from(bytes).map_err(|_| SignatureError::WrongLength { len })?;
    let [header, rs @ ..] = sig;
    Ok((header, rs))
}

fn recover(
    digest: &Message,
    rs: &[u8; 64],
    recid: RecoveryId,
) -> Result<PublicKey, SignatureError> {
    let sig =
        RecoverableSignature::from_compact(rs, recid).map_err(|_| SignatureError::Unrecoverable)?;
    SECP.recover_ecdsa(digest, &sig)
        .map_err(|_| SignatureError::Unrecoverable)
}

fn key_hash160(key: &PublicKey, compressed: bool) -> [u8; 20] {
    if compressed {
        hash160(&key.serialize())
    } else {
        hash160(&key.serialize_uncompressed())
    }
}

/// Strict verification, exactly as Bitcoin Core `verifymessage` (and python-bitcoinlib,
/// which Causeway used) decide it.
///
/// The header byte selects the recovery id and whether the signer's address uses the
/// compressed key encoding; the recovered key is hashed in that one encoding only. The
/// address is rebuilt with the given address's own version byte, so comparing HASH160s is
/// the same as comparing address strings (a signature does not commit to a network: a
/// testnet signature verifies against the mainnet address of the same key, as in Core).
pub fn verify_message(
    address: &BitcoinAddress,
    signature_b64: &str,
    message: &str,
) -> Result<(), SignatureError> {
    verify_digest(address, signature_b64, message_digest(message))
}

/// [`verify_message`] of a text whose [`message_digest`] the caller already has.
pub fn verify_digest(
    address: &BitcoinAddress,
    signature_b64: &str,
    digest: [u8; 32],
) -> Result<(), SignatureError> {
    let (header, rs) = decode_signature(signature_b64)?;
    let flags = header
        .checked_sub(HEADER_BASE)
        .filter(|flags| *flags < 8)
        .ok_or(SignatureError::InvalidHeader(header))?;
    let recid = match flags & 3 {
        0 => RecoveryId::Zero,
        1 => RecoveryId::One,
        2 => RecoveryId::Two,
        _ => RecoveryId::Three,
    };
    let compressed = flags & HEADER_COMPRESSED != 0;
    let key = recover(&Message::from_digest(digest), &rs, recid)?;
    if key_hash160(&key, compressed) == address.hash160() {
        Ok(())
    } else {
        Err(SignatureError::AddressMismatch)
    }
}

/// Lenient verification, as Storj siggy (used by downstream-node) decides it, for services
/// that must keep accepting what downstream-node accepted.
///
/// The header byte is ignored; both public keys with x = r (recovery ids 0 and 1) are
/// tried, and each is accepted if either its compressed or its uncompressed HASH160 equals
/// the address's. This accepts signatures whose header names the wrong key encoding or
/// recovery id, which the strict rule rejects; it never accepts a signature by another key.
///
/// Deliberate differences from siggy: siggy reads any base64 (skipping junk characters)
/// and uses the first 65 bytes of longer input, crashing on shorter; here the signature
/// must be strict base64 of exactly 65 bytes. Siggy fails with an exception (downstream-node
/// answers 500) on addresses whose version is not 0x00; here testnet (0x6f) addresses are
/// evaluated by the same HASH160 comparison, since the signature does not depend on the
/// network and an internal error is not behaviour worth keeping. A caller that needs
/// downstream-node's refusal can check [`BitcoinAddress::network`] itself.
pub fn verify_message_lenient(
    address: &BitcoinAddress,
    signature_b64: &str,
    message: &str,
) -> Result<(), SignatureError> {
    let (_header, rs) = decode_signature(signature_b64)?;
    let digest = Message::from_digest(message_digest(message));
    let expected = address.hash160();
    let mut recovered_any = false;
    for recid in [RecoveryId::Zero, RecoveryId::One] {
        let Ok(key) = recover(&digest, &rs, recid) else {
            continue;
        };
        recovered_any = true;
        if key_hash160(&key, true) == expected || key_hash160(&key, false) == expected {
            return Ok(());
        }
    }
    if recovered_any {
        Err(SignatureError::AddressMismatch)
    } else {
        Err(SignatureError::Unrecoverable)
    }
}

/// Signs `message` as Bitcoin Core `signmessage` does, returning the base64 signature.
///
/// Nonces are RFC 6979 and S is normalised low (libsecp256k1 does both), so the output is
/// deterministic and byte-identical to Core's. `compressed` must match the key encoding of
/// the address the verifier will check, since the header byte records it.
pub fn sign_message(secret: &SecretKey, compressed: bool, message: &str) -> String {
    let digest = Message::from_digest(message_digest(message));
    let (recid, rs) = SECP
        .sign_ecdsa_recoverable(&digest, secret)
        .serialize_compact();
    let recid = match recid {
        RecoveryId::Zero => 0,
        RecoveryId::One => 1,
        RecoveryId::Two => 2,
        RecoveryId::Three => 3,
    };
    let mut sig = [0u8; 65];
    let [header, body @ ..] = &mut sig;
    *header = HEADER_BASE + recid + if compressed { HEADER_COMPRESSED } else { 0 };
    *body = rs;
    STANDARD.encode(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn varint(n: u64) -> Vec<u8> {
        let mut out = Vec::new();
        encode_varint(n, |b| out.extend_from_slice(b));
        out
    }

    #[test]
    fn varint_boundaries() {
        assert_eq!(varint(0), [0x00]);
        assert_eq!(varint(0xfc), [0xfc]);
        assert_eq!(varint(0xfd), [0xfd, 0xfd, 0x00]);
        assert_eq!(varint(0xfe), [0xfd, 0xfe, 0x00]);
        assert_eq!(varint(0xffff), [0xfd, 0xff, 0xff]);
        assert_eq!(varint(0x1_0000), [0xfe, 0x00, 0x00, 0x01, 0x00]);
        assert_eq!(varint(0xffff_ffff), [0xfe, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(
            varint(0x1_0000_0000),
            [0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00]
        );
        assert_eq!(varint(u64::MAX), [0xff; 9]);
    }

    /// The digest must switch varint form exactly where the message length crosses 0xfd.
    #[test]
    fn digest_uses_varint_of_length() {
        for len in [0usize, 0xfc, 0xfd, 0xffff, 0x1_0000] {
            let message = "a".repeat(len);
            let mut preimage = MESSAGE_MAGIC.to_vec();
            preimage.extend_from_slice(&varint(len as u64));
            preimage.extend_from_slice(message.as_bytes());
            let expected: [u8; 32] = Sha256::digest(Sha256::digest(&preimage)).into();
            assert_eq!(message_digest(&message), expected, "length {len}");
        }
    }
}
