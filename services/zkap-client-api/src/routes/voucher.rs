//! `PUT voucher`, `GET voucher`, `GET voucher/<V>`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::{AppState, json_object};
use crate::db::vouchers;
use crate::domain::time;
use crate::domain::voucher::{Voucher, VoucherState};
use crate::error::ApiError;

/// `{"voucher": V}` exactly; the content type is not checked, as in the original.
fn parse_put(body: &[u8]) -> Result<Voucher, ApiError> {
    let object = json_object(
        body,
        "json request body required",
        "request body must be a JSON object",
    )?;
    if object.len() != 1 {
        return Err(ApiError::bad_request(
            "request object must have exactly one key: 'voucher'",
        ));
    }
    let voucher = object.get("voucher").ok_or_else(|| {
        ApiError::bad_request("request object must have exactly one key: 'voucher'")
    })?;
    voucher
        .as_str()
        .and_then(Voucher::parse)
        .ok_or(ApiError::BadVoucher)
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

pub async fn list(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let statuses = state.db.run(vouchers::list).await?;
    let vouchers: Vec<_> = statuses.iter().map(|s| s.to_json()).collect();
    Ok(HttpResponse::Ok().json(json!({ "vouchers": vouchers })))
}

pub async fn get(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let voucher = Voucher::parse(&path.into_inner()).ok_or(ApiError::BadVoucher)?;
    let status = state
        .db
        .run(move |conn| vouchers::get(conn, &voucher))
        .await?
        .ok_or(ApiError::UnknownVoucher)?;
    Ok(HttpResponse::Ok().json(status.to_json()))
}
