use bytes::Bytes;

use crate::error::Error;

/// Longest key: the width of the original's `kv.key varchar(64)`.
pub const MAX_KEY_CHARS: usize = 64;

/// A document key: 1 to 64 characters of `A-Z a-z 0-9 - _ .` (python-rein uses 32 of
/// `A-Z0-9`). The charset keeps keys safe in URLs and logs, and excludes the separators the
/// signed messages of other routes use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key(String);

impl Key {
    pub fn parse(s: &str) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid("key", "empty"));
        }
        if s.len() > MAX_KEY_CHARS {
            return Err(Error::invalid(
                "key",
                format!("longer than {MAX_KEY_CHARS} characters"),
            ));
        }
        if !s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(Error::invalid(
                "key",
                "only A-Z, a-z, 0-9, '-', '_' and '.' are allowed",
            ));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A stored value: non-empty UTF-8 of at most `max` bytes. Empty values are refused because
/// `key + "" + address + nonce` would be the signed text of a delete of the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value(String);

impl Value {
    pub fn parse(s: String, max: usize) -> Result<Self, Error> {
        if s.is_empty() {
            return Err(Error::invalid("value", "empty"));
        }
        if s.len() > max {
            return Err(Error::ValueTooLarge(max));
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// A stored value as `/get` answers it: its JSON string, encoded once (the read cache keeps
/// it so), and the value's length in bytes, which is what transfer counts.
#[derive(Debug, Clone)]
pub struct EncodedValue {
    json: Bytes,
    len: usize,
}

impl EncodedValue {
    pub fn encode(value: &str) -> Self {
        Self {
            json: Bytes::from(serde_json::Value::from(value).to_string()),
            len: value.len(),
        }
    }

    pub fn json(&self) -> &Bytes {
        &self.json
    }

    /// The value's own length in bytes.
    pub fn size(&self) -> usize {
        self.len
    }
}

/// Storage a document takes: its key and value in UTF-8 bytes.
pub fn stored_size(key: &Key, value: &Value) -> i64 {
    // In memory, and both are bounded (64 chars, max_value_bytes), far below i64::MAX.
    i64::try_from(key.0.len() + value.0.len()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys() {
        assert!(Key::parse("IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2").is_ok());
        assert!(Key::parse(&"a".repeat(64)).is_ok());
        for bad in ["", "a b", "a/b", "a%", "ключ", "a,b", "a:b"] {
            assert!(Key::parse(bad).is_err(), "{bad}");
        }
        assert!(Key::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn encoded_values_are_json_strings() {
        let value = EncodedValue::encode("a\"é\n");
        assert_eq!(&value.json()[..], "\"a\\\"é\\n\"".as_bytes());
        assert_eq!(value.size(), 5);
    }

    #[test]
    fn values_are_counted_in_bytes() {
        assert!(Value::parse("é".repeat(4096), 8192).is_ok());
        assert!(matches!(
            Value::parse("é".repeat(4097), 8192),
            Err(Error::ValueTooLarge(8192))
        ));
        assert!(Value::parse(String::new(), 8192).is_err());
        let key = Key::parse("k").unwrap();
        let value = Value::parse("é".to_owned(), 10).unwrap();
        assert_eq!(stored_size(&key, &value), 3);
    }
}
