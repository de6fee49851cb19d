//! `/nonce`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::extract::address_param;
use super::success;
use crate::AppState;
use crate::error::Error;
use crate::ops::nonces;

#[derive(Debug, Deserialize)]
pub struct NonceParams {
    address: Option<String>,
    clear: Option<String>,
}

/// The owner's nonce (python-rein passes its master address); `clear=<current nonce>`
/// clears it and answers `""`.
pub async fn nonce(
    state: web::Data<AppState>,
    params: web::Query<NonceParams>,
) -> Result<HttpResponse, Error> {
    let owner = address_param(&params.address, "address", None)?;
    let nonce = nonces::issue(&state, &owner, params.clear.clone()).await?;
    Ok(success(StatusCode::OK, json!({"nonce": nonce})))
}
