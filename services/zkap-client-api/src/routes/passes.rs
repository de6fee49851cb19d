//! `POST passes`: spends tokens into passes for one message.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::extract::{Body, SpendRequest};
use crate::app::AppState;
use crate::error::Error;
use crate::ops::passes;

const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

/// `count` passes for `message`; 409 if too few tokens remain. With an `Idempotency-Key`, a
/// retry of the same request gets the same passes, marked `Idempotent-Replayed: true`.
pub async fn post(
    state: web::Data<AppState>,
    Body(SpendRequest { request, key }): Body<SpendRequest>,
) -> Result<HttpResponse, Error> {
    let spent = passes::spend(&state, request, key).await?;
    let mut response = HttpResponse::Ok();
    if spent.replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
    }
    Ok(response.json(json!({ "passes": spent.passes })))
}
