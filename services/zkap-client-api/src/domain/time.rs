//! Timestamps are stored as microseconds since the Unix epoch on every backend and shown as
//! UTC ISO-8601 with six fraction digits and `+00:00`, like Python's `isoformat()`: one uniform
//! format, because GridSync compares `finished` values as strings.

use chrono::{DateTime, Utc};

/// Microseconds since the Unix epoch.
pub type Micros = i64;

pub fn now() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn iso(micros: Micros) -> String {
    DateTime::<Utc>::from_timestamp_micros(micros)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .format("%Y-%m-%dT%H:%M:%S%.6f+00:00")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_python_isoformat() {
        assert_eq!(
            iso(1_663_677_296_123_456),
            "2022-09-20T12:34:56.123456+00:00"
        );
        assert_eq!(
            iso(1_663_677_296_000_000),
            "2022-09-20T12:34:56.000000+00:00"
        );
        assert!(iso(now()).ends_with("+00:00"));
    }
}
