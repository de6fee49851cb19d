//! Vouchers, their redemption states and the status object GridSync reads.

use std::fmt;

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::time::Micros;

/// Python's `b64decode(altchars=b"-_")`: padding optional, trailing bits ignored.
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// A syntactically valid voucher: exactly 44 characters of URL-safe base64 with at most two
/// trailing `=`. Nothing else is known about it until the issuer answers.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Voucher(String);

impl Voucher {
    pub const LENGTH: usize = 44;

    pub fn parse(text: &str) -> Option<Self> {
        if text.len() != Self::LENGTH {
            return None;
        }
        let data = text.trim_end_matches('=');
        let padding = text.len() - data.len();
        let alphabet = data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if padding > 2 || !alphabet || LENIENT_URL_SAFE.decode(text).is_err() {
            return None;
        }
        Some(Self(text.to_owned()))
    }

    /// The full voucher, for the wire and the database only; never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A voucher read back from our own database.
    pub(crate) fn from_trusted(text: String) -> Self {
        Self(text)
    }
}

/// Why `text` is not a voucher, for an error's `details`. Never repeats the text: it may be a
/// real voucher with a typo.
pub fn why_invalid(text: &str) -> String {
    const RULE: &str = "a voucher is exactly 44 characters of URL-safe base64 \
                        (A-Z a-z 0-9 - _) with at most two trailing '='";
    let chars = text.chars().count();
    let data = text.trim_end_matches('=');
    let why = if chars != Voucher::LENGTH {
        format!("got {chars} characters")
    } else if text.len() - data.len() > 2 {
        "got more than two trailing '='".to_owned()
    } else if let Some(bad) = data
        .chars()
        .position(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        format!(
            "character {} is not in the URL-safe base64 alphabet",
            bad + 1
        )
    } else if Voucher::parse(text).is_none() {
        "it does not decode as base64".to_owned()
    } else {
        return "the voucher is valid".to_owned();
    };
    format!("{RULE}; {why}")
}

/// Shortened: a voucher is a bearer secret until it is redeemed.
impl fmt::Display for Voucher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}…", self.0.get(..6).unwrap_or_default())
    }
}

impl fmt::Debug for Voucher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Voucher({self})")
    }
}

/// Where a voucher's redemption stands. Every state is persisted; `unpaid` and `error` carry
/// their retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoucherState {
    /// Waiting to redeem group `counter` (groups below it are done).
    Pending {
        counter: u32,
    },
    /// Group `counter` is being redeemed.
    Redeeming {
        started: Micros,
        counter: u32,
    },
    Redeemed {
        finished: Micros,
        token_count: u64,
    },
    DoubleSpend {
        finished: Micros,
    },
    Unpaid {
        finished: Micros,
        counter: u32,
        attempts: u32,
        next_retry: Micros,
    },
    Error {
        finished: Micros,
        counter: u32,
        details: String,
        attempts: u32,
        next_retry: Micros,
    },
}

impl VoucherState {
    pub fn name(&self) -> &'static str {
        match self {
            VoucherState::Pending { .. } => "pending",
            VoucherState::Redeeming { .. } => "redeeming",
            VoucherState::Redeemed { .. } => "redeemed",
            VoucherState::DoubleSpend { .. } => "double-spend",
            VoucherState::Unpaid { .. } => "unpaid",
            VoucherState::Error { .. } => "error",
        }
    }

    /// Nothing more will happen to this voucher.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            VoucherState::Redeemed { .. } | VoucherState::DoubleSpend { .. }
        )
    }
}

/// What `GET voucher/<V>` returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoucherStatus {
    pub voucher: Voucher,
    pub expected_tokens: u64,
    pub created: Micros,
    pub state: VoucherState,
}

/// Where a page of the voucher list starts: after this (created, number) in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub created: Micros,
    pub number: String,
}

/// One page of the voucher list: up to `limit` vouchers after `after`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub after: Option<After>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "lf9ZXdkBXvRbGaJfhAx8tIb4ZL8qBYTuvpY7nZrE0g8-";

    #[test]
    fn vouchers_are_44_url_safe_base64_characters() {
        assert_eq!(GOOD.len(), 44);
        assert!(Voucher::parse(GOOD).is_some());
        let padded = format!("{}=", &GOOD[..43]);
        assert!(Voucher::parse(&padded).is_some());
        let padded2 = format!("{}==", &GOOD[..42]);
        assert!(Voucher::parse(&padded2).is_some());
        for bad in [
            "",
            &GOOD[..43],
            &format!("{GOOD}a"),
            &format!("{}+", &GOOD[..43]),
            &format!("{}/", &GOOD[..43]),
            &format!("{}===", &GOOD[..41]),
            &format!("{}=a", &GOOD[..42]),
            &format!("{} ", &GOOD[..43]),
            "ééééééééééééééééééééééé",
        ] {
            assert!(Voucher::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_vouchers_are_explained_without_repeating_them() {
        let short = why_invalid(&GOOD[..43]);
        assert!(short.ends_with("got 43 characters"), "{short}");
        let plus = why_invalid(&format!("{}+", &GOOD[..43]));
        assert!(plus.ends_with("character 44 is not in the URL-safe base64 alphabet"));
        let padded = why_invalid(&format!("{}===", &GOOD[..41]));
        assert!(padded.ends_with("more than two trailing '='"), "{padded}");
        let inner = why_invalid(&format!("{}=a", &GOOD[..42]));
        assert!(inner.ends_with("character 43 is not in the URL-safe base64 alphabet"));
        assert!(why_invalid("é").ends_with("got 1 characters"));
        assert!(!why_invalid(&GOOD[..43]).contains(&GOOD[..43]));
    }

    #[test]
    fn vouchers_are_shortened_when_shown() {
        let voucher = Voucher::parse(GOOD).unwrap();
        assert_eq!(voucher.to_string(), "lf9ZXd…");
        assert!(!format!("{voucher:?}").contains(GOOD));
    }
}
