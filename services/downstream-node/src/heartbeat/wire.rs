//! Byte strings on the wire are standard base64 with padding.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serializer};

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

pub mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        STANDARD.decode(text.as_bytes()).map_err(D::Error::custom)
    }
}

pub mod bytes32 {
    use super::*;

    pub fn serialize<S: Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let raw = super::bytes::deserialize(d)?;
        <[u8; 32]>::try_from(raw.as_slice())
            .map_err(|_| D::Error::custom(format!("expected 32 bytes, got {}", raw.len())))
    }
}

pub mod bytes_vec {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(items: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(items.len()))?;
        for item in items {
            seq.serialize_element(&encode(item))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let texts = <Vec<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        texts
            .iter()
            .map(|t| STANDARD.decode(t.as_bytes()).map_err(D::Error::custom))
            .collect()
    }
}

pub mod rows {
    use super::*;
    use serde::ser::SerializeSeq;

    pub fn serialize<S: Serializer>(rows: &[[Vec<u8>; 2]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(rows.len()))?;
        for [left, right] in rows {
            seq.serialize_element(&[encode(left), encode(right)])?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[Vec<u8>; 2]>, D::Error> {
        let texts = <Vec<[std::borrow::Cow<'de, str>; 2]>>::deserialize(d)?;
        texts
            .iter()
            .map(|[l, r]| {
                let left = STANDARD.decode(l.as_bytes()).map_err(D::Error::custom)?;
                let right = STANDARD.decode(r.as_bytes()).map_err(D::Error::custom)?;
                Ok([left, right])
            })
            .collect()
    }
}
