//! Base58Check P2PKH addresses and WIF private keys.
//!
//! Only pay-to-public-key-hash addresses are supported: a `signmessage` signature proves
//! control of one public key, and only P2PKH addresses name a single key's HASH160.

use std::fmt;
use std::str::FromStr;

use ripemd::Ripemd160;
use secp256k1::{PublicKey, SecretKey};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// P2PKH version byte of mainnet addresses (`1...`).
const MAINNET_P2PKH: u8 = 0x00;
/// P2PKH version byte of testnet/regtest/signet addresses (`m...`/`n...`).
const TESTNET_P2PKH: u8 = 0x6f;
/// WIF version byte of mainnet private keys (`5...`, `K...`, `L...`).
const MAINNET_WIF: u8 = 0x80;
/// WIF version byte of testnet private keys (`9...`, `c...`).
const TESTNET_WIF: u8 = 0xef;

/// A 25-byte Base58Check string is at most 34 characters (35 leaves room for nothing
/// valid). Refusing longer input up front keeps hostile input away from the quadratic
/// base58 decoder.
const MAX_ADDRESS_CHARS: usize = 35;
/// A 38-byte WIF (compressed) is 52 characters.
const MAX_WIF_CHARS: usize = 53;

/// The Bitcoin network an address or key belongs to, as told by its version byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// Version byte 0x00 (addresses) / 0x80 (WIF).
    Mainnet,
    /// Version byte 0x6f (addresses) / 0xef (WIF); also used by regtest and signet.
    Testnet,
}

impl Network {
    /// The P2PKH address version byte of this network.
    pub const fn p2pkh_version(self) -> u8 {
        match self {
            Network::Mainnet => MAINNET_P2PKH,
            Network::Testnet => TESTNET_P2PKH,
        }
    }

    /// The network of a P2PKH address version byte, if it is one we accept.
    pub const fn from_p2pkh_version(version: u8) -> Option<Self> {
        match version {
            MAINNET_P2PKH => Some(Network::Mainnet),
            TESTNET_P2PKH => Some(Network::Testnet),
            _ => None,
        }
    }

    /// The WIF private-key version byte of this network.
    pub const fn wif_version(self) -> u8 {
        match self {
            Network::Mainnet => MAINNET_WIF,
            Network::Testnet => TESTNET_WIF,
        }
    }

    const fn as_str(self) -> &'static str {
        match self {
            Network::Mainnet => "mainnet",
            Network::Testnet => "testnet",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A network name other than `mainnet` or `testnet`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Bitcoin network {0:?} (expected \"mainnet\" or \"testnet\")")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("mainnet") {
            Ok(Network::Mainnet)
        } else if s.eq_ignore_ascii_case("testnet") {
            Ok(Network::Testnet)
        } else {
            Err(UnknownNetwork(s.to_owned()))
        }
    }
}

/// Why a string is not an acceptable P2PKH address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("address is empty")]
    Empty,
    #[error("address is {len} characters long, longer than any P2PKH address")]
    TooLong { len: usize },
    #[error("address has a non-base58 character at byte {index}")]
    InvalidCharacter { index: usize },
    #[error("address decodes to {len} bytes, expected 25 (version, HASH160, checksum)")]
    WrongLength { len: usize },
    #[error("address checksum does not match")]
    BadChecksum,
    #[error("address version byte {0:#04x} is not P2PKH mainnet (0x00) or testnet (0x6f)")]
    UnsupportedVersion(u8),
}

/// Why a string is not an acceptable WIF private key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WifError {
    #[error("WIF key is empty")]
    Empty,
    #[error("WIF key is {len} characters long, longer than any WIF key")]
    TooLong { len: usize },
    #[error("WIF key has a non-base58 character at byte {index}")]
    InvalidCharacter { index: usize },
    #[error("WIF key decodes to {len} bytes, expected 37 or 38")]
    WrongLength { len: usize },
    #[error("WIF key checksum does not match")]
    BadChecksum,
    #[error("WIF version byte {0:#04x} is not mainnet (0x80) or testnet (0xef)")]
    UnsupportedVersion(u8),
    #[error("WIF compression suffix is {0:#04x}, expected 0x01")]
    BadCompressionFlag(u8),
    #[error("WIF key is not a valid secp256k1 secret key (zero or not below the curve order)")]
    InvalidSecretKey,
}

/// Failures of Base58Check decoding shared by addresses and WIF keys.
enum Base58CheckError {
    Empty,
    TooLong(usize),
    InvalidCharacter(usize),
    WrongLength(usize),
    BadChecksum,
}

impl From<Base58CheckError> for AddressError {
    fn from(e: Base58CheckError) -> Self {
        match e {
            Base58CheckError::Empty => AddressError::Empty,
            Base58CheckError::TooLong(len) => AddressError::TooLong { len },
            Base58CheckError::InvalidCharacter(index) => AddressError::InvalidCharacter { index },
            Base58CheckError::WrongLength(len) => AddressError::WrongLength { len },
            Base58CheckError::BadChecksum => AddressError::BadChecksum,
        }
    }
}

impl From<Base58CheckError> for WifError {
    fn from(e: Base58CheckError) -> Self {
        match e {
            Base58CheckError::Empty => WifError::Empty,
            Base58CheckError::TooLong(len) => WifError::TooLong { len },
            Base58CheckError::InvalidCharacter(index) => WifError::InvalidCharacter { index },
            Base58CheckError::WrongLength(len) => WifError::WrongLength { len },
            Base58CheckError::BadChecksum => WifError::BadChecksum,
        }
    }
}

fn double_sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// RIPEMD-160 of SHA-256: what P2PKH addresses commit to.
pub(crate) fn hash160(data: &[u8]) -> [u8; 20] {
    Ripemd160::digest(Sha256::digest(data)).into()
}

/// Base58 decoding plus checksum check; returns the payload (version byte included).
///
/// `expected_lengths` are the acceptable decoded lengths including the 4 checksum bytes;
/// other lengths are reported before the checksum is looked at, so that a well-formed
/// string of the wrong kind (e.g. a WIF pasted as an address) gets the clearer error.
fn decode_base58check(
    s: &str,
    max_chars: usize,
    expected_lengths: &[usize],
) -> Result<Vec<u8>, Base58CheckError> {
    if s.is_empty() {
        return Err(Base58CheckError::Empty);
    }
    if s.len() > max_chars {
        return Err(Base58CheckError::TooLong(s.len()));
    }
    let mut bytes = bs58::decode(s).into_vec().map_err(|e| match e {
        bs58::decode::Error::InvalidCharacter { index, .. }
        | bs58::decode::Error::NonAsciiCharacter { index } => {
            Base58CheckError::InvalidCharacter(index)
        }
        // Other variants (buffer too small, check-mode errors) cannot occur when decoding
        // into a growable vector without check mode; treat them as unusable input.
        _ => Base58CheckError::InvalidCharacter(0),
    })?;
    if !expected_lengths.contains(&bytes.len()) {
        return Err(Base58CheckError::WrongLength(bytes.len()));
    }
    let Some((payload, checksum)) = bytes.split_last_chunk::<4>() else {
        return Err(Base58CheckError::WrongLength(bytes.len()));
    };
    if double_sha256(payload).first_chunk::<4>() != Some(checksum) {
        return Err(Base58CheckError::BadChecksum);
    }
    let payload_len = payload.len();
    bytes.truncate(payload_len);
    Ok(bytes)
}

/// A P2PKH address (mainnet or testnet), the only kind a `signmessage` signature can be
/// checked against.
///
/// Holding the decoded form means verification compares 20 bytes instead of re-encoding
/// base58 per request. The canonical string is kept beside it, made once: base58 encoding is
/// quadratic and hashes twice, and services print and compare addresses as text several
/// times per request (it was 4 % of causeway's write thread).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BitcoinAddress {
    network: Network,
    hash160: [u8; 20],
    text: AddressText,
}

/// The longest Base58Check string of a 25-byte payload.
const P2PKH_CHARS: usize = 34;

/// An address's Base58Check string, inline so the address stays `Copy`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct AddressText {
    chars: [u8; P2PKH_CHARS],
    len: u8,
}

impl AddressText {
    fn encode(network: Network, hash160: &[u8; 20]) -> Self {
        let mut payload = [0u8; 21];
        let [version, hash @ ..] = &mut payload;
        *version = network.p2pkh_version();
        *hash = *hash160;
        let mut chars = [0u8; P2PKH_CHARS];
        // 25 bytes never need more than 34 characters.
        let len = bs58::encode(payload)
            .with_check()
            .onto(&mut chars[..])
            .unwrap_or_default();
        Self {
            chars,
            len: u8::try_from(len).unwrap_or_default(),
        }
    }

    /// `s` as given, when it is short enough (a string that decoded to a valid address is
    /// its canonical form: base58 is bijective).
    fn given(s: &str) -> Option<Self> {
        let mut chars = [0u8; P2PKH_CHARS];
        chars.get_mut(..s.len())?.copy_from_slice(s.as_bytes());
        Some(Self {
            chars,
            len: u8::try_from(s.len()).ok()?,
        })
    }

    fn as_str(&self) -> &str {
        let chars = self.chars.get(..usize::from(self.len)).unwrap_or_default();
        // The base58 alphabet is ASCII.
        std::str::from_utf8(chars).unwrap_or_default()
    }
}

impl BitcoinAddress {
    /// Parses a Base58Check P2PKH address, verifying its checksum and version byte.
    pub fn parse(s: &str) -> Result<Self, AddressError> {
        let payload = decode_base58check(s, MAX_ADDRESS_CHARS, &[25])?;
        let Some((&version, rest)) = payload.split_first() else {
            return Err(AddressError::WrongLength { len: payload.len() });
        };
        let network = Network::from_p2pkh_version(version)
            .ok_or(AddressError::UnsupportedVersion(version))?;
        let hash160 = <[u8; 20]>::try_from(rest).map_err(|_| AddressError::WrongLength {
            len: payload.len() + 4,
        })?;
        let text = AddressText::given(s).unwrap_or_else(|| AddressText::encode(network, &hash160));
        Ok(BitcoinAddress {
            network,
            hash160,
            text,
        })
    }

    /// The address of a HASH160 on a network.
    pub fn from_hash160(network: Network, hash160: [u8; 20]) -> Self {
        let text = AddressText::encode(network, &hash160);
        BitcoinAddress {
            network,
            hash160,
            text,
        }
    }

    /// The P2PKH address of a public key; `compressed` picks the 33- or 65-byte encoding,
    /// which yields two different addresses for the same key.
    pub fn from_public_key(public_key: &PublicKey, compressed: bool, network: Network) -> Self {
        let hash160 = if compressed {
            hash160(&public_key.serialize())
        } else {
            hash160(&public_key.serialize_uncompressed())
        };
        Self::from_hash160(network, hash160)
    }

    /// The network named by the version byte.
    pub const fn network(&self) -> Network {
        self.network
    }

    /// The version byte (0x00 or 0x6f).
    pub const fn version(&self) -> u8 {
        self.network.p2pkh_version()
    }

    /// HASH160 (RIPEMD-160 of SHA-256) of the serialised public key.
    pub const fn hash160(&self) -> [u8; 20] {
        self.hash160
    }

    /// The canonical Base58Check string.
    pub fn as_str(&self) -> &str {
        self.text.as_str()
    }
}

impl fmt::Display for BitcoinAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for BitcoinAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BitcoinAddress({self})")
    }
}

impl FromStr for BitcoinAddress {
    type Err = AddressError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BitcoinAddress::parse(s)
    }
}

impl TryFrom<&str> for BitcoinAddress {
    type Error = AddressError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        BitcoinAddress::parse(s)
    }
}

impl Serialize for BitcoinAddress {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for BitcoinAddress {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = BitcoinAddress;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a Base58Check P2PKH Bitcoin address")
            }

            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
                BitcoinAddress::parse(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(Visitor)
    }
}

/// Decodes a WIF private key into the key, whether its address uses the compressed
/// public-key encoding, and its network.
///
/// Exists so tests, tools and fixtures can sign with the same keys Bitcoin wallets export.
pub fn parse_wif(wif: &str) -> Result<(SecretKey, bool, Network), WifError> {
    let payload = decode_base58check(wif, MAX_WIF_CHARS, &[37, 38])?;
    let wrong_length = WifError::WrongLength {
        len: payload.len() + 4,
    };
    let Some((&version, rest)) = payload.split_first() else {
        return Err(wrong_length);
    };
    let Some((key, suffix)) = rest.split_first_chunk::<32>() else {
        return Err(wrong_length);
    };
    let compressed = match suffix {
        [] => false,
        [0x01] => true,
        [flag] => return Err(WifError::BadCompressionFlag(*flag)),
        _ => return Err(wrong_length),
    };
    let network = match version {
        MAINNET_WIF => Network::Mainnet,
        TESTNET_WIF => Network::Testnet,
        other => return Err(WifError::UnsupportedVersion(other)),
    };
    let secret = SecretKey::from_byte_array(key).map_err(|_| WifError::InvalidSecretKey)?;
    Ok((secret, compressed, network))
}
