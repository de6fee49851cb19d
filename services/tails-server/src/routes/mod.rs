//! The route table, shared by the binary and the tests, and the state handlers read.

mod body;
mod download;
mod file_body;
mod matching;
mod openapi;
mod upload;

use std::sync::Arc;

use actix_web::web;
use service_kit::error::{PlainText, extractors};
use service_kit::metrics::{Counter, Metrics};

use crate::ledger::Ledgers;
use crate::storage::Storage;

pub struct AppState {
    pub storage: Arc<Storage>,
    pub ledgers: Arc<Ledgers>,
    pub limits: Limits,
    pub counters: Counters,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_tails_size: u64,
    pub max_genesis_size: u64,
}

/// Multipart framing and part headers around the two parts.
const FRAMING_ALLOWANCE: u64 = 64 * 1024;

impl Limits {
    /// Cap on a whole upload body, also when it is only read to be discarded.
    pub fn body(&self) -> u64 {
        self.max_tails_size
            .saturating_add(self.max_genesis_size)
            .saturating_add(FRAMING_ALLOWANCE)
    }
}

pub struct Counters {
    pub stored: Counter,
    pub duplicates: Counter,
    pub rejected: Counter,
    pub downloads: Counter,
}

impl Counters {
    pub fn register(metrics: &Metrics) -> Self {
        Self {
            stored: metrics.counter("tails_uploads_stored_total", "Tails files stored."),
            duplicates: metrics.counter(
                "tails_uploads_duplicate_total",
                "Uploads answered 409 because the file was already stored.",
            ),
            rejected: metrics.counter(
                "tails_uploads_rejected_total",
                "Uploads rejected for any other reason.",
            ),
            downloads: metrics.counter("tails_downloads_total", "Tails files served."),
        }
    }
}

/// `/{id:.*}` comes last and takes every other path, so that ids with `/` (literal or as
/// `%2F`) reach the id parser and get a 400 rather than a routing 404.
pub fn configure(cfg: &mut web::ServiceConfig, state: web::Data<AppState>) {
    cfg.app_data(state)
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
