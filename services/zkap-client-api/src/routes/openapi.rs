//! `GET /openapi.json`: the hand-written OpenAPI 3.1 document of this service's routes
//! (`openapi.json` beside `Cargo.toml`; `tests/api/openapi.rs` checks it against the router).
//! It lives outside the plugin's base path and, like `/health` and `/metrics`, needs no token.

use actix_web::HttpResponse;
use actix_web::http::header::ContentType;

pub const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn get() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(DOCUMENT)
}
