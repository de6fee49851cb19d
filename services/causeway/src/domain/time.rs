use chrono::DateTime;

/// Seconds since the Unix epoch; all stored times use it so every backend agrees.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `%Y-%m-%d %H:%M:%S` in UTC: python-rein parses `created` with exactly this format.
pub fn format_timestamp(secs: i64) -> String {
    DateTime::from_timestamp(secs, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_default()
}

pub const DAY_SECS: i64 = 86_400;

/// When a request happens and how long nonces live.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    pub nonce_ttl: i64,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    #[test]
    fn format() {
        assert_eq!(super::format_timestamp(0), "1970-01-01 00:00:00");
        assert_eq!(
            super::format_timestamp(1_700_000_000),
            "2023-11-14 22:13:20"
        );
    }
}
