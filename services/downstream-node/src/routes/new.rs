//! `/new/<address>` and `/heartbeat/<token>`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::{body, client_ip};
use crate::domain::FarmerToken;
use crate::error::ApiError;
use crate::node::Node;
use crate::node::register::{self, Signed};

/// Base64 of a 65-byte signature.
const SIGNATURE_CHARS: usize = 88;

pub async fn new_get(
    req: HttpRequest,
    node: web::Data<Node>,
    address: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    if node.settings.require_signature {
        return Err(ApiError::SignatureRequired);
    }
    let response = register::create_token(&node, &address, client_ip(&req, &node)?, None).await?;
    Ok(HttpResponse::Ok().json(response))
}

pub async fn new_post(
    req: HttpRequest,
    node: web::Data<Node>,
    address: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &node)?;
    let raw = body::read(payload, node.settings.body_limit).await?;
    let signed = if node.settings.require_signature {
        Some(parse_signed(&raw, node.settings.max_message_size)?)
    } else {
        parse_signed(&raw, node.settings.max_message_size).ok()
    };
    let response = register::create_token(&node, &address, ip, signed).await?;
    Ok(HttpResponse::Ok().json(response))
}

fn parse_signed(raw: &[u8], max_message: usize) -> Result<Signed, ApiError> {
    let value: Value = serde_json::from_slice(raw).map_err(|_| ApiError::MalformedSignedRequest)?;
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(message), Some(signature)) = (field("message"), field("signature")) else {
        return Err(ApiError::MalformedSignedRequest);
    };
    if message.len() > max_message {
        return Err(ApiError::MessageTooLong(max_message));
    }
    if signature.len() != SIGNATURE_CHARS {
        return Err(ApiError::SignatureLength);
    }
    Ok(Signed { message, signature })
}

pub async fn heartbeat(
    node: web::Data<Node>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let response = register::heartbeat(&node, FarmerToken::parse(&token)).await?;
    Ok(HttpResponse::Ok().json(response))
}
