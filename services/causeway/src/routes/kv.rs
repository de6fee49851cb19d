//! `/get`, `/put`, `/delete`.

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, web};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::json;

use super::extract::{SignedWrite, require};
use super::success;
use crate::AppState;
use crate::domain::{Delete, EncodedValue, Key, Put};
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
    Ok(HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(get_body(&key, &value)))
}

/// What [`success`] writes for `{"key", "value"}`, around the value's JSON as it was encoded
/// once (keys are `A-Z a-z 0-9 - _ .`: nothing to escape).
fn get_body(key: &Key, value: &EncodedValue) -> Bytes {
    const MIDDLE: &[u8] = br#"","result":"success","status":"success","value":"#;
    let json = value.json();
    let mut body = BytesMut::with_capacity(9 + key.as_str().len() + MIDDLE.len() + json.len());
    body.extend_from_slice(br#"{"key":""#);
    body.extend_from_slice(key.as_str().as_bytes());
    body.extend_from_slice(MIDDLE);
    body.extend_from_slice(json);
    body.extend_from_slice(b"}");
    body.freeze()
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[actix_web::test]
    async fn get_answers_what_success_writes() {
        let key = Key::parse("K-1.a_b").unwrap();
        let value = "x\"é\n</script>";
        let expected = success(StatusCode::OK, json!({"key": key.as_str(), "value": value}));
        let expected = actix_web::body::to_bytes(expected.into_body())
            .await
            .unwrap();
        assert_eq!(get_body(&key, &EncodedValue::encode(value)), expected);
    }
}
