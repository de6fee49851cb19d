//! `POST calculate-price`.

use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::AppState;
use crate::domain::pricing;
use crate::error::ApiError;

/// The media type must be `application/json`; parameters such as `charset=utf-8` are allowed
/// (the original compared the whole header and refused them).
fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

pub async fn calculate(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    if !is_json(&req) {
        return Err(ApiError::bad_request(
            "content-type must be application/json",
        ));
    }
    let sizes = pricing::parse_request(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let price = state
        .pricing
        .price(&sizes)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok(HttpResponse::Ok().json(json!({ "price": price, "period": state.pricing.period() })))
}
