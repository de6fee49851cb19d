//! The tails file layout: the version tag `00 02`, then `2·maxCredNum + 1` G2 points of 128
//! bytes each.

pub const VERSION_TAG: [u8; 2] = [0, 2];
pub const TAIL_SIZE: u64 = 128;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FormatError {
    #[error("Tails file must start with \"00 02\".")]
    Version,
    #[error("Tails file is not the correct size.")]
    Size,
    #[error(
        "Tails file is not the correct size: maxCredNum {max_cred_num} needs {expected} bytes, got {actual}."
    )]
    SizeForLedger {
        max_cred_num: u64,
        expected: u64,
        actual: u64,
    },
}

/// Size of the tails file of a registry with `max_cred_num` credentials; `None` on overflow.
pub const fn expected_size(max_cred_num: u64) -> Option<u64> {
    match max_cred_num.checked_mul(2) {
        Some(twice) if twice < u64::MAX / TAIL_SIZE - 1 => Some((twice + 1) * TAIL_SIZE + 2),
        _ => None,
    }
}

/// What the upload saw of a file: its first bytes and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TailsHead {
    pub first: [u8; 2],
    pub size: u64,
}

impl TailsHead {
    /// The original's checks in its order (version, then size), plus the size the ledger's
    /// `maxCredNum` implies when it gives one.
    pub fn check(&self, max_cred_num: Option<u64>) -> Result<(), FormatError> {
        if self.size < 2 || self.first != VERSION_TAG {
            return Err(FormatError::Version);
        }
        if !(self.size - 2).is_multiple_of(TAIL_SIZE) {
            return Err(FormatError::Size);
        }
        if let Some(max_cred_num) = max_cred_num {
            let expected = expected_size(max_cred_num);
            if expected != Some(self.size) {
                return Err(FormatError::SizeForLedger {
                    max_cred_num,
                    expected: expected.unwrap_or(u64::MAX),
                    actual: self.size,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(first: [u8; 2], size: u64) -> TailsHead {
        TailsHead { first, size }
    }

    #[test]
    fn sizes_from_the_spec() {
        assert_eq!(expected_size(4), Some(1_154));
        assert_eq!(expected_size(5), Some(1_410));
        assert_eq!(expected_size(1_000), Some(256_130));
        assert_eq!(expected_size(32_768), Some(8_388_738));
        assert_eq!(expected_size(u64::MAX), None);
    }

    #[test]
    fn checks_in_the_original_order() {
        assert_eq!(head([0, 2], 2).check(None), Ok(()));
        assert_eq!(head([0, 3], 2).check(None), Err(FormatError::Version));
        assert_eq!(head([0, 0], 1).check(None), Err(FormatError::Version));
        assert_eq!(head([0, 0], 0).check(None), Err(FormatError::Version));
        assert_eq!(head([0, 2], 3).check(None), Err(FormatError::Size));
        assert_eq!(head([0, 3], 3).check(None), Err(FormatError::Version));
        assert_eq!(head([0, 2], 1_410).check(Some(5)), Ok(()));
        assert!(matches!(
            head([0, 2], 1_154).check(Some(5)),
            Err(FormatError::SizeForLedger {
                expected: 1_410,
                ..
            })
        ));
    }

    #[test]
    fn original_messages() {
        assert_eq!(
            FormatError::Version.to_string(),
            "Tails file must start with \"00 02\"."
        );
        assert_eq!(
            FormatError::Size.to_string(),
            "Tails file is not the correct size."
        );
    }
}
