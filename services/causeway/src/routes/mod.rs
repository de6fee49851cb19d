//! HTTP only. The route table and what handlers share: parameters into domain types, and the
//! answer envelopes.

pub mod account;
pub mod bitcoin;
pub mod buckets;
pub mod extract;
pub mod info;
pub mod kv;
pub mod nonce;
pub mod openapi;
pub mod query;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::web;
use serde_json::{Value, json};
use service_kit::error::{JsonErrorAndStatus, extractors};

use crate::AppState;
use crate::error::Error;

/// Registers every route of causeway; production and tests use this same table.
pub fn configure(cfg: &mut web::ServiceConfig, state: AppState) {
    cfg.app_data(web::Data::new(state))
        .app_data(extractors::query::<JsonErrorAndStatus>())
        .route("/", web::get().to(info::help))
        .route("/help", web::get().to(info::help))
        .route("/info", web::get().to(info::info))
        .route("/status", web::get().to(info::status))
        .route("/price", web::get().to(info::price))
        .route("/get", web::get().to(kv::get))
        .route("/put", web::post().to(kv::put))
        .route("/delete", web::post().to(kv::delete))
        .route("/nonce", web::get().to(nonce::nonce))
        .route("/request", web::get().to(buckets::request))
        .route("/buy", web::get().to(buckets::buy))
        .route("/address", web::get().to(account::address))
        .route("/balance", web::get().to(account::balance))
        .route("/query", web::get().to(query::query))
        .route("/bitcoin", web::get().to(bitcoin::bitcoin))
        .route("/bitcoin", web::post().to(bitcoin::bitcoin))
        .route("/openapi.json", web::get().to(openapi::openapi))
        .default_service(web::to(not_found));
}

async fn not_found() -> Result<HttpResponse, Error> {
    Err(Error::NoRoute)
}

/// A success answer: `result` and `status` are both `"success"`, beside `fields`.
pub fn success(status: StatusCode, fields: Value) -> HttpResponse {
    let mut body = json!({"result": "success", "status": "success"});
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    HttpResponse::build(status).json(body)
}

/// A logical error that python-rein reads from a 200 (`/request`, `/query`, `/bitcoin`).
pub fn logical_error(message: &str, fields: Value) -> HttpResponse {
    let mut body = json!({
        "result": "error",
        "message": message,
        "error": message,
        "status": format!("error: {message}"),
    });
    if let (Value::Object(body), Value::Object(fields)) = (&mut body, fields) {
        body.extend(fields);
    }
    HttpResponse::Ok().json(body)
}
