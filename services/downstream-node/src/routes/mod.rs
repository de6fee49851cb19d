//! The route table, used by production and tests alike, mounted under `/api/downstream/v1`
//! (what downstream-farmer calls) and `/api/downstream` (what the seed documents); `/` and
//! `/openapi.json` at the root.

mod answer;
mod body;
mod challenge;
mod chunk;
pub mod edge;
mod extract;
mod new;
mod openapi;
pub mod status;

use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, web};
use serde_json::json;
use service_kit::error::{JsonStatusMessage, extractors};

use crate::app::AppState;
use crate::error::Error;

pub const PREFIXES: [&str; 2] = ["/api/downstream/v1", "/api/downstream"];

pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    let cors = edge::CorsPolicy::parse(&state.settings.cors_origins);
    cfg.app_data(web::Data::new(state))
        .app_data(web::Data::new(cors))
        .app_data(extractors::path::<JsonStatusMessage>())
        .app_data(extractors::query::<JsonStatusMessage>())
        .route("/", web::get().to(ok))
        .route("/openapi.json", web::get().to(openapi::get));
    // The longer prefix first: a scope matches by prefix.
    for prefix in PREFIXES {
        cfg.service(
            web::scope(prefix)
                .wrap(from_fn(edge::guard))
                .route("", web::get().to(ok))
                .route("/", web::get().to(ok))
                .configure(resources)
                .default_service(web::to(not_found)),
        );
    }
    cfg.default_service(web::to(not_found));
}

fn resources(cfg: &mut web::ServiceConfig) {
    cfg.route("/new/{address}", web::get().to(new::new_get))
        .route("/new/{address}", web::post().to(new::new_post))
        .route("/heartbeat/{token}", web::get().to(new::heartbeat))
        .route("/chunk/{token}", web::get().to(chunk::chunk))
        .route("/chunk/{token}/{size}", web::get().to(chunk::chunk_sized))
        .route("/challenge/{token}", web::get().to(challenge::all))
        .route("/challenge/{token}", web::post().to(challenge::selected))
        .route(
            "/challenge/{token}/{file_hash}",
            web::get().to(challenge::single),
        )
        .route("/answer/{token}", web::post().to(answer::batch))
        .route(
            "/answer/{token}/{file_hash}",
            web::post().to(answer::single),
        )
        .route("/status/show/{id}", web::get().to(status::show))
        .route("/status/summary", web::get().to(status::summary))
        .route("/status/list", web::get().to(status::list))
        .route("/status/list{tail:/.*}", web::get().to(status::list));
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({"msg": "ok"}))
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NotFound)
}
