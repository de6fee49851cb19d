//! `/chunk/<token>[/<size>]`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::client_ip;
use crate::domain::FarmerToken;
use crate::error::ApiError;
use crate::node::{Node, chunks};

pub async fn chunk(
    req: HttpRequest,
    node: web::Data<Node>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let offers = chunks::allocate(
        &node,
        FarmerToken::parse(&token),
        client_ip(&req, &node)?,
        None,
    )
    .await?;
    Ok(HttpResponse::Ok().json(offers))
}

pub async fn chunk_sized(
    req: HttpRequest,
    node: web::Data<Node>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (token, size) = path.into_inner();
    // Flask's <int:size> route: anything else is no route at all.
    let size: u64 = size.parse().map_err(|_| ApiError::NotFound)?;
    let offers = chunks::allocate(
        &node,
        FarmerToken::parse(&token),
        client_ip(&req, &node)?,
        Some(size),
    )
    .await?;
    Ok(HttpResponse::Ok().json(offers))
}
