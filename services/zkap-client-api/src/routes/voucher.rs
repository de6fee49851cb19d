//! `PUT voucher`, `GET voucher` (optionally paginated), `GET voucher/<V>`, and the status
//! object GridSync reads.

use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use super::cursor::encode_cursor;
use super::extract::{Body, PageQuery, VoucherPath};
use crate::app::AppState;
use crate::domain::time::iso;
use crate::domain::voucher::{Voucher, VoucherState, VoucherStatus};
use crate::error::Error;
use crate::ops::vouchers;

/// Adds the voucher and starts redeeming it (see [`vouchers::redeem`]).
pub async fn put(
    state: web::Data<AppState>,
    Body(voucher): Body<Voucher>,
) -> Result<HttpResponse, Error> {
    vouchers::redeem(&state, voucher).await?;
    Ok(HttpResponse::Ok().finish())
}

/// Without a query string (GridSync): every voucher, `{"vouchers": [...]}`, as the original.
/// With `limit` and/or `cursor`: one page in the same order (created, then number) plus
/// `next-cursor`, an opaque string to pass back as `cursor`, or null on the last page.
/// Unknown parameters are ignored.
pub async fn list(
    state: web::Data<AppState>,
    PageQuery(page): PageQuery,
) -> Result<HttpResponse, Error> {
    let Some(page) = page else {
        let statuses = vouchers::list(&state).await?;
        return Ok(HttpResponse::Ok().json(json!({ "vouchers": statuses_json(&statuses) })));
    };
    let (statuses, next) = vouchers::page(&state, page).await?;
    let next = next.map_or(Value::Null, |after| Value::String(encode_cursor(&after)));
    Ok(HttpResponse::Ok()
        .json(json!({ "vouchers": statuses_json(&statuses), "next-cursor": next })))
}

pub async fn get(
    state: web::Data<AppState>,
    VoucherPath(voucher): VoucherPath,
) -> Result<HttpResponse, Error> {
    let status = vouchers::show(&state, voucher).await?;
    Ok(HttpResponse::Ok().json(status.to_json()))
}

fn statuses_json(statuses: &[VoucherStatus]) -> Vec<Value> {
    statuses.iter().map(ToJson::to_json).collect()
}

/// The wire form of a voucher's status.
trait ToJson {
    fn to_json(&self) -> Value;
}

impl ToJson for VoucherState {
    /// The status-object `state` member: ZKAPAuthorizer's fields, plus `attempts` and
    /// `next-retry` for the retried states.
    fn to_json(&self) -> Value {
        let mut state = Map::new();
        state.insert("name".into(), json!(self.name()));
        let mut put = |key: &str, value: Value| {
            state.insert(key.to_owned(), value);
        };
        match self {
            VoucherState::Pending { counter } => put("counter", json!(counter)),
            VoucherState::Redeeming { started, counter } => {
                put("started", json!(iso(*started)));
                put("counter", json!(counter));
            }
            VoucherState::Redeemed {
                finished,
                token_count,
            } => {
                put("finished", json!(iso(*finished)));
                put("token-count", json!(token_count));
            }
            VoucherState::DoubleSpend { finished } => put("finished", json!(iso(*finished))),
            VoucherState::Unpaid {
                finished,
                counter,
                attempts,
                next_retry,
            }
            | VoucherState::Error {
                finished,
                counter,
                attempts,
                next_retry,
                ..
            } => {
                put("finished", json!(iso(*finished)));
                put("counter", json!(counter));
                put("attempts", json!(attempts));
                put("next-retry", json!(iso(*next_retry)));
                if let VoucherState::Error { details, .. } = self {
                    put("details", json!(details));
                }
            }
        }
        Value::Object(state)
    }
}

impl ToJson for VoucherStatus {
    fn to_json(&self) -> Value {
        json!({
            "number": self.voucher.as_str(),
            "expected-tokens": self.expected_tokens,
            "created": iso(self.created),
            "state": self.state.to_json(),
            "version": 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "lf9ZXdkBXvRbGaJfhAx8tIb4ZL8qBYTuvpY7nZrE0g8-";

    #[test]
    fn status_objects_have_zkapauthorizers_fields() {
        let status = VoucherStatus {
            voucher: Voucher::parse(GOOD).unwrap(),
            expected_tokens: 32768,
            created: 1_663_677_296_123_456,
            state: VoucherState::Redeemed {
                finished: 1_663_677_300_000_000,
                token_count: 32768,
            },
        };
        assert_eq!(
            status.to_json(),
            json!({
                "number": GOOD, "expected-tokens": 32768,
                "created": "2022-09-20T12:34:56.123456+00:00",
                "state": {"name": "redeemed", "finished": "2022-09-20T12:35:00.000000+00:00",
                          "token-count": 32768},
                "version": 1,
            })
        );
        let redeeming = VoucherState::Redeeming {
            started: 0,
            counter: 3,
        };
        assert_eq!(
            redeeming.to_json(),
            json!({"name": "redeeming", "started": "1970-01-01T00:00:00.000000+00:00", "counter": 3})
        );
        let error = VoucherState::Error {
            finished: 0,
            counter: 1,
            details: "boom".into(),
            attempts: 2,
            next_retry: 1_000_000,
        }
        .to_json();
        assert_eq!(error["details"], "boom");
        assert_eq!(error["next-retry"], "1970-01-01T00:00:01.000000+00:00");
        assert!(!VoucherState::Pending { counter: 0 }.is_final());
        assert!(VoucherState::DoubleSpend { finished: 0 }.is_final());
    }
}
