//! `/get`, `/put`, `/delete`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use service_kit::bitcoin::Network;

use super::{address_param, network_of, post_params, read_body, require, success};
use crate::AppState;
use crate::db::kv::{self, Delete, Put};
use crate::domain::signed::{self, delete_message, put_message, replay_digest};
use crate::domain::{Enrollment, Key, Nonce, Value};
use crate::error::ApiError;

#[derive(Debug, Deserialize)]
pub struct GetParams {
    key: Option<String>,
}

pub async fn get(
    state: web::Data<AppState>,
    params: web::Query<GetParams>,
) -> Result<HttpResponse, ApiError> {
    let key = Key::parse(require(&params.key, "key")?)?;
    let value = crate::transfer::serve(&state, &key).await?;
    Ok(success(
        StatusCode::OK,
        json!({"key": key.as_str(), "value": value}),
    ))
}

/// python-rein's JSON body (`key, value, owner, nonce, signature, signature_address,
/// testnet`) or the seed's parameters (`key, value, address, nonce, signature`).
#[derive(Debug, Default, Deserialize)]
pub struct WriteParams {
    key: Option<String>,
    value: Option<String>,
    owner: Option<String>,
    address: Option<String>,
    nonce: Option<String>,
    signature: Option<String>,
    signature_address: Option<String>,
    #[serde(default, deserialize_with = "super::flag")]
    testnet: Option<bool>,
}

impl WriteParams {
    fn network(&self, state: &AppState) -> Network {
        network_of(self.testnet, Some(state.settings.network)).unwrap_or(state.settings.network)
    }

    /// Who signs: `signature_address` (python-rein) or `address` (the seed).
    fn signer(&self) -> &Option<String> {
        if self.signature_address.is_some() {
            &self.signature_address
        } else {
            &self.address
        }
    }

    /// A missing or empty nonce is a bad nonce, never a wildcard.
    fn nonce(&self) -> Result<Nonce, ApiError> {
        Nonce::parse(self.nonce.as_deref().unwrap_or_default())
    }
}

pub async fn put(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, state.settings.body_limit).await?;
    let params: WriteParams = post_params(&req, &body)?;
    let network = params.network(&state);
    let key = Key::parse(require(&params.key, "key")?)?;
    let value = Value::parse(
        require(&params.value, "value")?.to_owned(),
        state.settings.max_value_bytes,
    )?;
    let signer = address_param(params.signer(), "signature_address", Some(network))?;
    // The seed's form has no owner: the signer writes for itself.
    let owner = match &params.owner {
        Some(_) => address_param(&params.owner, "owner", Some(network))?,
        None => signer,
    };
    let signature = require(&params.signature, "signature")?.to_owned();
    let nonce = params.nonce()?;
    let message = put_message(&key, &value, &signer, &nonce);
    // Verified before any database work: no connection or writer slot waits on it.
    signed::verify(&signer, &signature, &message, ApiError::IncorrectSignature)?;
    let put = Put {
        owner,
        signer,
        enrollment: Enrollment::verified(value.as_str()),
        key,
        value,
        nonce,
        digest: replay_digest(&message),
        testnet: network == Network::Testnet,
    };
    let clock = state.clock();
    state.put(put, clock).await?;
    Ok(success(StatusCode::CREATED, json!({})))
}

pub async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, state.settings.body_limit).await?;
    let params: WriteParams = post_params(&req, &body)?;
    let network = params.network(&state);
    let key = Key::parse(require(&params.key, "key")?)?;
    let signer = address_param(params.signer(), "address", Some(network))?;
    let owner = match &params.owner {
        Some(_) => Some(address_param(&params.owner, "owner", Some(network))?),
        None => None,
    };
    let signature = require(&params.signature, "signature")?.to_owned();
    let nonce = params.nonce()?;
    let message = delete_message(&key, &signer, &nonce);
    signed::verify(
        &signer,
        &signature,
        &message,
        ApiError::IncorrectDeleteSignature,
    )?;
    let delete = Delete {
        owner,
        signer,
        key,
        nonce,
        digest: replay_digest(&message),
    };
    let clock = state.clock();
    state
        .write(move |conn| kv::delete(conn, &delete, clock))
        .await?;
    Ok(success(StatusCode::OK, json!({})))
}
