//! `/nonce`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{address_param, success};
use crate::AppState;
use crate::db::accounts;
use crate::error::ApiError;

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
) -> Result<HttpResponse, ApiError> {
    let owner = address_param(&params.address, "address", None)?.to_string();
    let clear = params.clear.clone();
    let clock = state.clock();
    let nonce = state
        .write(move |conn| accounts::issue_nonce(conn, &owner, clear.as_deref(), clock))
        .await?;
    Ok(success(StatusCode::OK, json!({"nonce": nonce})))
}
