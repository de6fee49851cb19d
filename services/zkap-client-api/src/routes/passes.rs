//! `POST passes`: spends tokens into passes for one message.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{AppState, json_object};
use crate::db::tokens;
use crate::domain::pass::make_pass;
use crate::error::ApiError;

struct PassRequest {
    message: String,
    count: u64,
}

fn parse(body: &[u8], max: u32) -> Result<PassRequest, ApiError> {
    let usage = format!(
        "request body must be a JSON object {{\"message\": <non-empty string>, \"count\": <integer 1..={max}>}}"
    );
    let object = json_object(body, &usage, &usage)?;
    let message = object.get("message").and_then(Value::as_str);
    let count = object.get("count").and_then(Value::as_u64);
    match (object.len(), message, count) {
        (2, Some(message), Some(count))
            if !message.is_empty() && (1..=u64::from(max)).contains(&count) =>
        {
            Ok(PassRequest {
                message: message.to_owned(),
                count,
            })
        }
        _ => Err(ApiError::bad_request(usage)),
    }
}

/// Takes `count` spendable tokens and returns a pass for `message` from each. The tokens leave
/// the spendable pool in the same transaction that makes the passes; 409 if too few remain.
pub async fn post(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    let request = parse(&body, state.max_passes_per_request)?;
    let count = request.count;
    let passes = state
        .db
        .transaction(move |conn| {
            let tokens = tokens::take_spendable(conn, request.count)?;
            tokens
                .iter()
                .map(|token| make_pass(token, request.message.as_bytes()))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| ApiError::Internal(e.to_string()))
        })
        .await?;
    state.passes_issued.add(count);
    Ok(HttpResponse::Ok().json(json!({ "passes": passes })))
}
