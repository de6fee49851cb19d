//! `/challenge/<token>` (GET: every contract; POST `{"hashes": [...]}`: those) and the legacy
//! single-contract `/challenge/<token>/<file_hash>`.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::body;
use crate::domain::FarmerToken;
use crate::error::ApiError;
use crate::node::{Node, challenges};

pub async fn all(
    node: web::Data<Node>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let items = challenges::challenges(&node, FarmerToken::parse(&token), None).await?;
    Ok(HttpResponse::Ok().json(json!({ "challenges": items })))
}

pub async fn selected(
    node: web::Data<Node>,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let raw = body::read(payload, node.settings.body_limit).await?;
    let hashes = batch(&raw, "hashes", node.settings.max_batch)?;
    let items = challenges::challenges(&node, FarmerToken::parse(&token), Some(hashes)).await?;
    Ok(HttpResponse::Ok().json(json!({ "challenges": items })))
}

/// The array `field` of a JSON object body, at most `max` items.
pub(super) fn batch(raw: &[u8], field: &'static str, max: usize) -> Result<Vec<Value>, ApiError> {
    let mut value: Value =
        serde_json::from_slice(raw).map_err(|_| ApiError::MalformedBatch(field))?;
    let Some(Value::Array(items)) = value.get_mut(field).map(Value::take) else {
        return Err(ApiError::MalformedBatch(field));
    };
    if items.len() > max {
        return Err(ApiError::TooManyItems(max));
    }
    Ok(items)
}

pub async fn single(
    node: web::Data<Node>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, file_hash) = path.into_inner();
    let wanted = vec![Value::String(file_hash)];
    let mut items = challenges::challenges(&node, FarmerToken::parse(&token), Some(wanted)).await?;
    let Some(mut item) = items.pop() else {
        return Err(ApiError::Contract("contract not found"));
    };
    if let Some(error) = item.get("error").and_then(Value::as_str) {
        return Err(ApiError::Contract(match error {
            "contract expired" => "contract expired",
            _ => "contract not found",
        }));
    }
    if let Some(fields) = item.as_object_mut() {
        fields.remove("file_hash");
    }
    Ok(HttpResponse::Ok().json(item))
}
