//! Finding the multipart delimiter in part bodies quickly.

use std::rc::Rc;

/// The longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// `CRLF--boundary` with a Horspool skip table: on file data most positions are skipped
/// `len` bytes at a time.
#[derive(Clone)]
pub struct Delimiter {
    bytes: Rc<[u8]>,
    skip: Rc<[u8; 256]>,
}

impl Delimiter {
    /// The delimiter of a boundary of 1 to [`MAX_BOUNDARY`] bytes.
    pub fn new(boundary: &str) -> Result<Self, String> {
        let refused = || format!("multipart boundary must be 1 to {MAX_BOUNDARY} characters");
        if !(1..=MAX_BOUNDARY).contains(&boundary.len()) {
            return Err(refused());
        }
        let bytes: Vec<u8> = [b"\r\n--", boundary.as_bytes()].concat();
        // At most 4 + MAX_BOUNDARY bytes: the length and every skip fit a `u8`, which keeps
        // the table small, and the conversion cannot fail.
        let len = u8::try_from(bytes.len()).map_err(|_| refused())?;
        let mut skip = [len; 256];
        for (i, byte) in (0..len - 1).zip(&bytes) {
            skip[usize::from(*byte)] = len - 1 - i;
        }
        Ok(Self {
            bytes: bytes.into(),
            skip: Rc::new(skip),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn find(&self, haystack: &[u8]) -> Option<usize> {
        let needle = &*self.bytes;
        let last = needle.len() - 1;
        let mut at = 0;
        while let Some(window) = haystack.get(at..at + needle.len()) {
            let end = window[last];
            if end == needle[last] && window == needle {
                return Some(at);
            }
            at += usize::from(self.skip[usize::from(end)]);
        }
        None
    }

    /// The length of the longest proper prefix of the delimiter that `haystack` ends with.
    pub fn partial_suffix(&self, haystack: &[u8]) -> usize {
        let needle = &*self.bytes;
        (1..needle.len().min(haystack.len() + 1))
            .rev()
            .find(|&k| haystack.ends_with(&needle[..k]))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_of_rfc_length_only() {
        let longest = "b".repeat(MAX_BOUNDARY);
        let delimiter = Delimiter::new(&longest).unwrap();
        let haystack = format!("data\r\n--{longest}--");
        assert_eq!(delimiter.find(haystack.as_bytes()), Some(4));
        assert!(Delimiter::new("").is_err());
        assert!(Delimiter::new(&format!("{longest}b")).is_err());
    }
}
