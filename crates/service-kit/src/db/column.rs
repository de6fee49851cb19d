//! Checked conversions between domain numbers and the signed integer columns SQL offers. A
//! stored value outside its domain type's range is a corrupt row and is reported as one (a
//! deserialisation error naming the column), never read as 0 or clamped.

use std::fmt::Display;

/// A stored value its domain type cannot hold.
#[derive(Debug, thiserror::Error)]
#[error("corrupt row: column {column} holds {value}, which {target} cannot hold")]
pub struct Corrupt {
    pub column: &'static str,
    pub value: String,
    pub target: &'static str,
}

impl From<Corrupt> for diesel::result::Error {
    fn from(corrupt: Corrupt) -> Self {
        diesel::result::Error::DeserializationError(Box::new(corrupt))
    }
}

/// Reads `value` of `column` as `T`.
pub fn read<T, S>(column: &'static str, value: S) -> Result<T, Corrupt>
where
    T: TryFrom<S>,
    S: Display + Copy,
{
    T::try_from(value).map_err(|_| Corrupt {
        column,
        value: value.to_string(),
        target: std::any::type_name::<T>(),
    })
}

/// A domain value too large for the column that stores it.
#[derive(Debug, thiserror::Error)]
#[error("{value} does not fit column {column}")]
pub struct TooLarge {
    pub column: &'static str,
    pub value: String,
}

impl From<TooLarge> for diesel::result::Error {
    fn from(too_large: TooLarge) -> Self {
        diesel::result::Error::SerializationError(Box::new(too_large))
    }
}

/// Converts `value` for storing in `column`.
pub fn write<T, S>(column: &'static str, value: S) -> Result<T, TooLarge>
where
    T: TryFrom<S>,
    S: Display + Copy,
{
    T::try_from(value).map_err(|_| TooLarge {
        column,
        value: value.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_range_values_convert() {
        assert_eq!(read::<u32, i64>("n", 7).ok(), Some(7));
        assert_eq!(write::<i32, u64>("n", 7).ok(), Some(7));
    }

    #[test]
    fn negative_counts_are_corruption_not_zero() {
        let message = read::<u64, i64>("vouchers.token_count", -3)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(
            message,
            "corrupt row: column vouchers.token_count holds -3, which u64 cannot hold"
        );
        let diesel_error: diesel::result::Error = Corrupt {
            column: "c",
            value: "-1".into(),
            target: "u32",
        }
        .into();
        assert!(matches!(
            diesel_error,
            diesel::result::Error::DeserializationError(_)
        ));
    }

    #[test]
    fn values_too_large_for_their_column_are_refused() {
        assert!(write::<i32, u64>("vouchers.counter", u64::MAX).is_err());
    }
}
