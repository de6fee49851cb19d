//! The route table, shared by production and tests: everything under
//! `/storage-plugins/privatestorageio-zkapauthz-v2/`, with the API token checked before routing
//! so that unknown paths answer 401 too; and, outside it and without a token like `/health`
//! and `/metrics`, `GET /openapi.json`.

mod auth;
mod cursor;
mod extract;
mod lease;
mod openapi;
mod passes;
mod price;
mod version;
mod voucher;

use actix_web::http::StatusCode;
use actix_web::http::header::{ALLOW, HeaderValue};
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use serde_json::Map;
use service_kit::error::{ErrorFormat, JsonError};

use crate::app::AppState;
use crate::error::Error;

/// ZKAPAuthorizer's plugin name (`-v2` since February 2022).
pub const BASE_PATH: &str = "/storage-plugins/privatestorageio-zkapauthz-v2";

pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state.token.clone()))
        .app_data(web::Data::new(state))
        .service(resource("/openapi.json", "GET").route(web::get().to(openapi::get)));
    cfg.service(
        web::scope(BASE_PATH)
            .wrap(service_kit::error::body_rejections_in::<JsonError, _>())
            .wrap(from_fn(auth::require_token))
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
                Err::<HttpResponse, _>(Error::NotFound)
            })),
    );
    cfg.default_service(web::to(auth::outside_base));
}

/// A resource whose other methods get 405 with `Allow`.
fn resource(path: &str, allow: &'static str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(move || async move {
        let mut response = JsonError::render(
            StatusCode::METHOD_NOT_ALLOWED,
            &Error::MethodNotAllowed.to_string(),
            Map::new(),
        );
        response
            .headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allow));
        response
    }))
}
