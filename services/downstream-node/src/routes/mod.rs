//! The route table, used by production and tests alike, mounted under `/api/downstream/v1`
//! (what downstream-farmer calls) and `/api/downstream` (what the seed documents); `/` and
//! `/openapi.json` at the root.

mod answer;
mod body;
mod challenge;
mod chunk;
pub mod edge;
mod new;
mod openapi;
pub mod status;

use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::middleware::from_fn;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use service_kit::error::{JsonStatusMessage, extractors};

use crate::domain::TrustedProxies;
use crate::error::ApiError;
use crate::node::Node;

pub const PREFIXES: [&str; 2] = ["/api/downstream/v1", "/api/downstream"];

pub fn configure(cfg: &mut web::ServiceConfig, node: Node) {
    let cors = edge::CorsPolicy::parse(&node.settings.cors_origins);
    cfg.app_data(web::Data::new(node))
        .app_data(web::Data::new(cors))
        .app_data(extractors::path::<JsonStatusMessage>())
        .app_data(extractors::query::<JsonStatusMessage>())
        .route("/", web::get().to(root))
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

async fn root() -> HttpResponse {
    HttpResponse::Ok().json(json!({"msg": "ok"}))
}

async fn ok() -> HttpResponse {
    HttpResponse::Ok().json(json!({"msg": "ok"}))
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}

/// The client address: the socket peer, or, when that is one of the `trusted_proxies`, the
/// right-most untrusted hop of its `X-Forwarded-For` / `Forwarded` headers. The one
/// definition every per-IP rule uses (token limit, rate limits, GeoIP, stored address).
pub(crate) fn client_ip(req: &HttpRequest, node: &Node) -> Result<IpAddr, ApiError> {
    resolve_client(
        &node.settings.trusted_proxies,
        req.peer_addr(),
        req.headers(),
    )
    .ok_or(ApiError::NoPeerAddress)
}

pub(crate) fn resolve_client(
    trusted: &TrustedProxies,
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    let peer = peer?.ip().to_canonical();
    if trusted.is_empty() {
        return Some(peer);
    }
    // A line that is not visible ASCII is kept as garbage, so reading stops at it.
    let lines = |name: &str| -> Vec<&str> {
        headers
            .get_all(name)
            .map(|value| value.to_str().unwrap_or("\u{0}"))
            .collect()
    };
    Some(trusted.client_ip(peer, &lines("x-forwarded-for"), &lines("forwarded")))
}
