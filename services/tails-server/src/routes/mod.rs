//! HTTP only: the route table, shared by the binary and the tests; handlers extract (typed
//! extractors in [`extract`]), call one operation and map its result.

mod body;
mod delimiter;
mod download;
mod extract;
mod file_body;
mod matching;
mod openapi;
mod upload;

use actix_web::web;
use service_kit::error::{PlainText, extractors};

use crate::app::AppState;

/// `/{id:.*}` comes last and takes every other path, so that ids with `/` (literal or as
/// `%2F`) reach the id parser and get a 400 rather than a routing 404.
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state))
        .app_data(extractors::path::<PlainText>())
        .service(web::resource("/openapi.json").route(web::get().to(openapi::get)))
        .service(web::resource("/match/{substring}").route(web::get().to(matching::by_substring)))
        .service(
            web::resource("/hash/{tails_hash}")
                .route(web::get().to(download::by_hash))
                .route(web::head().to(download::by_hash))
                .route(web::put().to(upload::by_hash)),
        )
        .service(
            web::resource("/{revoc_reg_id:.*}")
                .route(web::get().to(download::by_name))
                .route(web::head().to(download::by_name))
                .route(web::put().to(upload::by_id)),
        );
}
