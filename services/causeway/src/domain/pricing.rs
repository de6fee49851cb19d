use std::fmt;

/// An amount in satoshis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Sats(pub u64);

impl Sats {
    /// BTC as decimal text without trailing zeros ("0.001"), as the original's `str(PRICE)`
    /// printed it and python-rein shows it to the user.
    pub fn to_btc_string(self) -> String {
        let whole = self.0 / 100_000_000;
        let frac = self.0 % 100_000_000;
        if frac == 0 {
            return whole.to_string();
        }
        let digits = format!("{frac:08}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    }

    pub fn to_btc(self) -> f64 {
        self.0 as f64 / 100_000_000.0
    }
}

impl fmt::Display for Sats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} sat", self.0)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Sats;

    #[test]
    fn btc_text() {
        assert_eq!(Sats(100_000).to_btc_string(), "0.001");
        assert_eq!(Sats(0).to_btc_string(), "0");
        assert_eq!(Sats(150_000_000).to_btc_string(), "1.5");
        assert_eq!(Sats(1).to_btc_string(), "0.00000001");
    }
}
