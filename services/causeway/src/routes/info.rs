//! `/`, `/help`, `/info`, `/status`, `/price`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::success;
use crate::AppState;
use crate::error::Error;
use crate::ops::info;

const MIB: u64 = 1024 * 1024;

/// A size in whole MB when it is one ("1 MB"), else in bytes.
fn size_text(bytes: u64) -> String {
    if bytes.is_multiple_of(MIB) {
        format!("{} MB", bytes / MIB)
    } else {
        format!("{bytes} bytes")
    }
}

fn term_text(days: u32) -> String {
    match days {
        365 => "1 year".to_owned(),
        1 => "1 day".to_owned(),
        d if d.is_multiple_of(365) => format!("{} years", d / 365),
        d => format!("{d} days"),
    }
}

/// The original's service description, a one-element array; the bucket terms come from
/// the settings (the defaults give the original's text).
pub async fn help(state: web::Data<AppState>) -> HttpResponse {
    let s = &state.settings;
    let description = format!(
        "{} hosting, {} bandwidth, {} expiration - free version for testing",
        size_text(s.bucket_bytes),
        size_text(s.bucket_transfer_bytes),
        term_text(s.bucket_term_days),
    );
    HttpResponse::Ok().json(json!([{
        "name": "causeway/1.freebeer",
        "pricing-type": "per-mb",
        "pricing": [
            {"rpc": "request", "per-req": 0, "per-unit": 0, "description": description},
            {"rpc": "buy", "per-req": 0, "per-unit": state.price().to_btc(),
             "description": format!("{} hosting, {} bandwidth, {} expiration",
                 size_text(s.bucket_bytes), size_text(s.bucket_transfer_bytes),
                 term_text(s.bucket_term_days))},
            {"rpc": "get", "per-req": 0, "per-mb": 0},
            {"rpc": "put", "per-req": 0, "per-mb": 0},
            {"rpc": true, "per-req": 0, "per-mb": 0},
        ],
        "description": "This Causeway server provides microhosting services.",
    }]))
}

/// The GET routes that take no parameters.
pub async fn info() -> HttpResponse {
    HttpResponse::Ok().json(json!(["/", "/help", "/info", "/price", "/status"]))
}

pub async fn status(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let status = info::status(&state).await?;
    Ok(success(
        StatusCode::OK,
        json!({
            "uptime": state.started.elapsed().as_secs().to_string(),
            "stored": status.stored.to_string(),
            "free": status.free.to_string(),
            "price": state.price().to_btc_string(),
        }),
    ))
}

pub async fn price(state: web::Data<AppState>) -> HttpResponse {
    let price = state.price();
    success(
        StatusCode::OK,
        json!({"price": price.to_btc(), "price_sats": price.0}),
    )
}
