//! The route table, shared by production and tests: everything under
//! `/storage-plugins/privatestorageio-zkapauthz-v2/`, with the API token checked before routing
//! so that unknown paths answer 401 too; and, outside it and without a token like `/health`
//! and `/metrics`, `GET /openapi.json`.

mod lease;
mod openapi;
mod passes;
mod price;
mod version;
mod voucher;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, AUTHORIZATION, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Map;
use service_kit::auth::{ApiToken, AuthError};
use service_kit::db::Database;
use service_kit::error::{ErrorFormat, JsonError};
use service_kit::metrics::Counter;

use crate::domain::pricing::Pricing;
use crate::error::ApiError;
use crate::redemption::Redeemer;

/// ZKAPAuthorizer's plugin name (`-v2` since February 2022).
pub const BASE_PATH: &str = "/storage-plugins/privatestorageio-zkapauthz-v2";

/// What the handlers share.
pub struct AppState {
    pub db: Database,
    pub redeemer: Redeemer,
    pub pricing: Pricing,
    pub default_token_count: u64,
    pub max_passes_per_request: u32,
    pub passes_issued: Counter,
}

pub fn configure(
    cfg: &mut web::ServiceConfig,
    state: web::Data<AppState>,
    token: web::Data<ApiToken>,
) {
    cfg.app_data(state)
        .app_data(token)
        .service(resource("/openapi.json", "GET").route(web::get().to(openapi::get)));
    cfg.service(
        web::scope(BASE_PATH)
            .wrap(service_kit::error::body_rejections_in::<JsonError, _>())
            .wrap(from_fn(require_token))
            .service(resource("version", "GET").route(web::get().to(version::get)))
            .service(
                resource("voucher", "GET, PUT")
                    .route(web::put().to(voucher::put))
                    .route(web::get().to(voucher::list)),
            )
            .service(resource("voucher/{voucher}", "GET").route(web::get().to(voucher::get)))
            .service(
                resource("lease-maintenance", "GET, POST")
                    .route(web::get().to(lease::get))
                    .route(web::post().to(lease::post)),
            )
            .service(resource("calculate-price", "POST").route(web::post().to(price::calculate)))
            .service(resource("passes", "POST").route(web::post().to(passes::post)))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(ApiError::NotFound)
            })),
    );
    cfg.default_service(web::to(outside_base));
}

/// A resource whose other methods get 405 with `Allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response = JsonError::render(
            StatusCode::METHOD_NOT_ALLOWED,
            &ApiError::MethodNotAllowed.to_string(),
            Map::new(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        response
    }))
}

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
        AuthError::NoToken(_) => actix_web::ResponseError::error_response(&ApiError::NoApiToken),
        _ => unauthorized(token),
    }
}

async fn require_token(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let Some(token) = req.app_data::<web::Data<ApiToken>>().cloned() else {
        let response = actix_web::ResponseError::error_response(&ApiError::Internal(
            "no API token configured".into(),
        ));
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
async fn outside_base(req: HttpRequest, token: web::Data<ApiToken>) -> HttpResponse {
    let header = match req.headers().get(AUTHORIZATION).map(|v| v.to_str()) {
        Some(Ok(value)) => Some(value),
        Some(Err(_)) => return unauthorized(&token),
        None => None,
    };
    match token.check(header) {
        Ok(()) => actix_web::ResponseError::error_response(&ApiError::NotFound),
        Err(err) => rejection(&token, &err),
    }
}

/// Parses a JSON request body into an object, with the given message for anything else.
fn json_object(
    body: &[u8],
    not_json: &str,
    not_object: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| ApiError::bad_request(not_json))?;
    match value {
        serde_json::Value::Object(object) => Ok(object),
        _ => Err(ApiError::bad_request(not_object)),
    }
}
