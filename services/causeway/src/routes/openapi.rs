//! `/openapi.json`: the hand-written OpenAPI 3.1 document of causeway's routes
//! (`services/causeway/openapi.json`, checked against the router by `tests/api/openapi.rs`).

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

/// The document, compiled in.
pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(DOCUMENT)
}
