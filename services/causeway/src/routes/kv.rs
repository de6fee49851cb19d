//! `/get`, `/put`, `/delete`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::extract::{SignedWrite, require};
use super::success;
use crate::AppState;
use crate::domain::{Delete, Key, Put};
use crate::error::Error;
use crate::ops::kv;

#[derive(Debug, Deserialize)]
pub struct GetParams {
    key: Option<String>,
}

pub async fn get(
    state: web::Data<AppState>,
    params: web::Query<GetParams>,
) -> Result<HttpResponse, Error> {
    let key = Key::parse(require(&params.key, "key")?)?;
    let value = kv::get(&state, &key).await?;
    Ok(success(
        StatusCode::OK,
        json!({"key": key.as_str(), "value": value}),
    ))
}

pub async fn put(
    state: web::Data<AppState>,
    SignedWrite(put): SignedWrite<Put>,
) -> Result<HttpResponse, Error> {
    kv::put(&state, put).await?;
    Ok(success(StatusCode::CREATED, json!({})))
}

pub async fn delete(
    state: web::Data<AppState>,
    SignedWrite(delete): SignedWrite<Delete>,
) -> Result<HttpResponse, Error> {
    kv::delete(&state, delete).await?;
    Ok(success(StatusCode::OK, json!({})))
}
