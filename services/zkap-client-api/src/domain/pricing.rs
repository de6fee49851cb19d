//! ZKAPAuthorizer's price: `N * ceil(ceil(size / k) / pass_value)` passes per file, summed,
//! for one lease period of `31 days - lease.min-time-remaining`. Tahoe's share overhead is
//! ignored, as in the original. Arithmetic is checked.

/// One lease period: ZKAPAuthorizer's 31 days.
pub const LEASE_PERIOD_SECONDS: u64 = 31 * 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pricing {
    pub shares_needed: u32,
    pub shares_total: u32,
    pub pass_value: u64,
    pub lease_min_time_remaining: u64,
}

/// Why a `calculate-price` body was refused; the messages are the original's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("could not parse request body")]
    Unparsable,
    #[error("request body must be a JSON object")]
    NotAnObject,
    #[error("could not read `version` and `sizes` properties")]
    MissingProperties,
    #[error("did not find required version number 1 in request")]
    WrongVersion,
    #[error("did not find required positive integer sizes list in request")]
    BadSizes,
    #[error("the price of these sizes is too large to compute")]
    Overflow,
}

impl Pricing {
    /// Passes for one file of `size` bytes. `shares_needed` and `pass_value` are nonzero
    /// (checked with the settings).
    pub fn passes_for_file(&self, size: u64) -> Option<u128> {
        let share_size = u128::from(size).div_ceil(u128::from(self.shares_needed.max(1)));
        let per_share = share_size.div_ceil(u128::from(self.pass_value.max(1)));
        per_share.checked_mul(u128::from(self.shares_total))
    }

    pub fn price(&self, sizes: &[u64]) -> Result<u128, PriceError> {
        sizes.iter().try_fold(0u128, |total, &size| {
            self.passes_for_file(size)
                .and_then(|passes| total.checked_add(passes))
                .ok_or(PriceError::Overflow)
        })
    }

    /// Seconds one payment keeps the data stored.
    pub fn period(&self) -> u64 {
        LEASE_PERIOD_SECONDS.saturating_sub(self.lease_min_time_remaining)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT: Pricing = Pricing {
        shares_needed: 3,
        shares_total: 10,
        pass_value: 1_048_576,
        lease_min_time_remaining: 0,
    };

    #[test]
    fn the_specs_example() {
        let ten_mib: u64 = 10 * 1024 * 1024;
        assert_eq!(ten_mib.div_ceil(3), 3_495_254);
        assert_eq!(DEFAULT.price(&[ten_mib]), Ok(40));
        assert_eq!(DEFAULT.period(), 2_678_400);
    }

    #[test]
    fn vectors() {
        let mib = 1_048_576;
        for (sizes, price) in [
            (vec![], 0),
            (vec![0], 0),
            (vec![1], 10),
            (vec![3 * mib], 10),
            (vec![3 * mib + 1], 20),
            (vec![3 * mib, 3 * mib + 1, 0, 1], 40),
            (
                vec![u64::MAX],
                10 * u128::from(u64::MAX).div_ceil(3).div_ceil(mib.into()),
            ),
        ] {
            assert_eq!(DEFAULT.price(&sizes), Ok(price), "{sizes:?}");
        }
        let other = Pricing {
            shares_needed: 1,
            shares_total: 1,
            pass_value: 1,
            lease_min_time_remaining: 86_400,
        };
        assert_eq!(other.price(&[5, 7]), Ok(12));
        assert_eq!(other.period(), 2_592_000);
    }
}
