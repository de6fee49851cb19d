use actix_web::HttpResponse;
use serde_json::json;

/// `GET version`.
pub async fn get() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "version": env!("CARGO_PKG_VERSION") }))
}
