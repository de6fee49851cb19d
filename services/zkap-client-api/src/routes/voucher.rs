//! `PUT voucher`, `GET voucher` (optionally paginated), `GET voucher/<V>`.

use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::AppState;
use crate::db::vouchers::{self, After};
use crate::domain::time;
use crate::domain::voucher::{Voucher, VoucherState};
use crate::error::ApiError;

const ONE_KEY: &str = "request object must have exactly one key: 'voucher'";

/// `{"voucher": V}` exactly; the content type is not checked, as in the original. Every 400
/// carries the original's reason as `error` and what exactly was wrong as `details`.
fn parse_put(body: &[u8]) -> Result<Voucher, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request_details("json request body required", e.to_string()))?;
    let Value::Object(object) = value else {
        return Err(ApiError::bad_request_details(
            "request body must be a JSON object",
            format!("got {}", json_kind(&value)),
        ));
    };
    if object.len() != 1 {
        return Err(ApiError::bad_request_details(
            ONE_KEY,
            format!("got {} keys", object.len()),
        ));
    }
    let voucher = object
        .get("voucher")
        .ok_or_else(|| ApiError::bad_request_details(ONE_KEY, "the one key is not 'voucher'"))?;
    let Some(text) = voucher.as_str() else {
        return Err(ApiError::BadVoucher {
            details: format!("'voucher' must be a string, got {}", json_kind(voucher)),
        });
    };
    Voucher::parse(text).ok_or_else(|| ApiError::bad_voucher(text))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Adds the voucher and starts redeeming it. Idempotent: a voucher already redeeming, redeemed
/// or double-spent is left alone; an unpaid or failed one is retried now.
pub async fn put(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let voucher = parse_put(&body)?;
    let expected = state.default_token_count;
    let permit = state.redeemer.try_reserve();
    let starts_now = permit.is_some();
    let (status, new) = state
        .db
        .run({
            let voucher = voucher.clone();
            move |conn| {
                let (status, new) =
                    vouchers::add(conn, &voucher, expected, starts_now, time::now())?;
                if matches!(
                    status.state,
                    VoucherState::Unpaid { .. } | VoucherState::Error { .. }
                ) {
                    vouchers::retry_now(conn, &voucher, time::now())?;
                }
                Ok::<_, ApiError>((status, new))
            }
        })
        .await?;
    match status.state {
        VoucherState::Unpaid { .. } | VoucherState::Error { .. } => state.redeemer.start(voucher),
        VoucherState::Pending { .. } | VoucherState::Redeeming { .. } => {
            state.redeemer.ensure_running(voucher, permit);
        }
        VoucherState::Redeemed { .. } | VoucherState::DoubleSpend { .. } => {}
    }
    if new {
        log::info!("voucher added");
    }
    Ok(HttpResponse::Ok().finish())
}

/// Page size when a client sends `cursor` without `limit`.
pub const DEFAULT_LIMIT: u32 = 100;
/// Largest `limit`.
pub const MAX_LIMIT: u32 = 1000;
/// Marks cursors of this format, so a later format can be told apart.
const CURSOR_VERSION: &str = "v1";

/// Without a query string (GridSync): every voucher, `{"vouchers": [...]}`, as the original.
/// With `limit` and/or `cursor`: one page in the same order (created, then number) plus
/// `next-cursor`, an opaque string to pass back as `cursor`, or null on the last page.
/// Unknown parameters are ignored.
pub async fn list(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some((limit, after)) = page_request(req.query_string())? else {
        let statuses = state.db.run(vouchers::list).await?;
        let vouchers: Vec<_> = statuses.iter().map(|s| s.to_json()).collect();
        return Ok(HttpResponse::Ok().json(json!({ "vouchers": vouchers })));
    };
    let (statuses, more) = state
        .db
        .run(move |conn| vouchers::page(conn, after.as_ref(), limit))
        .await?;
    let next = match statuses.last() {
        Some(last) if more => Value::String(encode_cursor(&After {
            created: last.created,
            number: last.voucher.as_str().to_owned(),
        })),
        _ => Value::Null,
    };
    let vouchers: Vec<_> = statuses.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok().json(json!({ "vouchers": vouchers, "next-cursor": next })))
}

/// `None` when the client asked for no page (neither `limit` nor `cursor`).
fn page_request(query: &str) -> Result<Option<(u32, Option<After>)>, ApiError> {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query)
        .map_err(|e| ApiError::bad_request_details("invalid query string", e.to_string()))?
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
            return Err(ApiError::bad_request_details(
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
                return Err(ApiError::bad_request_details(
                    "invalid limit",
                    format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                ));
            }
        },
    };
    let after = cursor.map(|text| decode_cursor(&text)).transpose()?;
    Ok(Some((limit, after)))
}

fn encode_cursor(after: &After) -> String {
    URL_SAFE_NO_PAD.encode(format!(
        "{CURSOR_VERSION}:{}:{}",
        after.created, after.number
    ))
}

fn decode_cursor(text: &str) -> Result<After, ApiError> {
    let invalid = || {
        ApiError::bad_request_details(
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

pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let text = path.into_inner();
    let voucher = Voucher::parse(&text).ok_or_else(|| ApiError::bad_voucher(&text))?;
    let status = state
        .db
        .run(move |conn| vouchers::get(conn, &voucher))
        .await?
        .ok_or(ApiError::UnknownVoucher)?;
    Ok(HttpResponse::Ok().json(status.to_json()))
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
