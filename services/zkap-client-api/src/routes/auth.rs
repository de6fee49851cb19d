//! The API token, checked before routing: `Authorization: tahoe-lafs TOKEN`, as Tahoe's web
//! root does.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use serde_json::Map;
use service_kit::auth::{ApiToken, AuthError};
use service_kit::error::{ErrorFormat, JsonError};

use crate::error::Error;

fn unauthorized(token: &ApiToken) -> HttpResponse {
    token.unauthorized(JsonError::render(
        StatusCode::UNAUTHORIZED,
        "Unauthorized",
        Map::new(),
    ))
}

/// Maps a failed check to its answer: 401 for the client's mistakes, 503 while the service
/// has never had a token to check against.
fn rejection(token: &ApiToken, err: &AuthError) -> HttpResponse {
    match err {
        AuthError::NoToken(_) => Error::NoApiToken.error_response(),
        _ => unauthorized(token),
    }
}

pub async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(token) = req.app_data::<web::Data<ApiToken>>().cloned() else {
        let response = Error::Internal("no API token configured".into()).error_response();
        return Ok(req.into_response(response).map_into_right_body());
    };
    match token.check_request(&req) {
        Ok(()) => Ok(next.call(req).await?.map_into_left_body()),
        Err(err) => {
            let response = rejection(&token, &err);
            Ok(req.into_response(response).map_into_right_body())
        }
    }
}

/// Paths outside the plugin's base (and outside /health, /metrics, /openapi.json): authorised
/// first, like everything in Tahoe's web root, then 404.
pub async fn outside_base(req: HttpRequest, token: web::Data<ApiToken>) -> HttpResponse {
    let header = match req.headers().get(AUTHORIZATION).map(|v| v.to_str()) {
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return unauthorized(&token),
        None => None,
    };
    match token.check(header) {
        Ok(()) => Error::NotFound.error_response(),
        Err(err) => rejection(&token, &err),
    }
}
