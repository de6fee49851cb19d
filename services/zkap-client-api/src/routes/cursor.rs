//! The pages of `GET voucher`: `limit` and an opaque `cursor` naming where the last page ended.

use actix_web::web;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::domain::voucher::{After, Voucher};
use crate::error::Error;

/// Page size when a client sends `cursor` without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit`.
pub const MAX_LIMIT: u32 = 1000;
/// Marks cursors of this format, so a later format can be told apart.
const CURSOR_VERSION: &str = "v1";

/// `None` when the client asked for no page (neither `limit` nor `cursor`).
pub fn page_request(query: &str) -> Result<Option<(u32, Option<After>)>, Error> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| Error::invalid_details("invalid query string", e.to_string()))?
        .into_inner();
    let mut limit = None;
    let mut cursor = None;
    for (key, value) in pairs {
        let slot = match key.as_str() {
            "limit" => &mut limit,
            "cursor" => &mut cursor,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(Error::invalid_details(
                format!("invalid {key}"),
                format!("{key} given more than once"),
            ));
        }
    }
    if limit.is_none() && cursor.is_none() {
        return Ok(None);
    }
    let limit = match limit {
        None => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) && !text.starts_with('+') => n,
            _ => {
                return Err(Error::invalid_details(
                    "invalid limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                ));
            }
        },
    };
    let after = cursor.map(|text| decode_cursor(&text)).transpose()?;
    Ok(Some((limit, after)))
}

pub fn encode_cursor(after: &After) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{CURSOR_VERSION}:{}:{}",
        after.created, after.number
    ))
}

fn decode_cursor(text: &str) -> Result<After, Error> {
    let invalid = || {
        Error::invalid_details(
            "invalid cursor",
            "cursor must be a next-cursor value from an earlier page",
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(3, ':');
    let (Some(CURSOR_VERSION), Some(created), Some(number)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid());
    };
    let created = created.parse::<i64>().map_err(|_| invalid())?;
    let number = Voucher::parse(number).ok_or_else(invalid)?;
    Ok(After {
        created,
        number: number.as_str().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "lf9ZXdkBXvRbGaJfhAx8tIb4ZL8qBYTuvpY7nZrE0g8-";

    #[test]
    fn cursors_round_trip_and_reject_tampering() {
        let after = After {
            created: 1_663_677_296_123_456,
            number: GOOD.to_owned(),
        };
        let cursor = encode_cursor(&after);
        assert!(!cursor.contains(GOOD));
        assert_eq!(decode_cursor(&cursor).unwrap(), after);
        for bad in [
            "",
            "!!",
            &URL_SAFE_NO_PAD.encode("v2:1:x"),
            &URL_SAFE_NO_PAD.encode(format!("v1:x:{GOOD}")),
            &URL_SAFE_NO_PAD.encode("v1:1:short"),
            &URL_SAFE_NO_PAD.encode("v1:1"),
        ] {
            assert!(decode_cursor(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn only_limit_or_cursor_asks_for_a_page() {
        assert!(page_request("").unwrap().is_none());
        assert!(page_request("other=1").unwrap().is_none());
        assert_eq!(page_request("limit=5").unwrap(), Some((5, None)));
        assert_eq!(
            page_request(&format!(
                "cursor={}",
                encode_cursor(&After {
                    created: 7,
                    number: GOOD.to_owned()
                })
            ))
            .unwrap()
            .map(|(limit, _)| limit),
            Some(DEFAULT_LIMIT)
        );
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=1001",
            "limit=x",
            "limit=",
            "limit=+5",
            "limit=1&limit=2",
            "cursor=zz",
        ] {
            assert!(page_request(bad).is_err(), "{bad}");
        }
    }
}
