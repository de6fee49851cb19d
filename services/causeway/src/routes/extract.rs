//! Typed extractors: what a request says, parsed into domain types before a handler runs.

use actix_web::web::{self, Bytes};
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use service_kit::bitcoin::{BitcoinAddress, Network};
use service_kit::body::BodyError;

use crate::AppState;
use crate::domain::signed::{self, delete_digest, put_digest, replay_digest};
use crate::domain::{Delete, Enrollment, Key, Nonce, Put, Value, parse_address};
use crate::error::Error;

/// A signed `/put` or `/delete` (`T` is [`Put`] or [`Delete`]), its signature verified: from
/// python-rein's JSON body (`key, value, owner, nonce, signature, signature_address,
/// testnet`), a form, or the seed's query string (`key, value, address, nonce, signature`).
/// Verified before any database work, so no connection or writer slot waits on it.
pub struct SignedWrite<T>(pub T);

/// A write built from its parameters.
pub trait FromWriteParams: Sized {
    fn from_params(params: WriteParams, state: &AppState) -> Result<Self, Error>;
}

impl<T: FromWriteParams + 'static> FromRequest for SignedWrite<T> {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let req = req.clone();
        let payload = payload.take();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or(Error::Internal("the application state is not registered"))?;
            let body = read_body(payload, state.settings.server.body_limit).await?;
            let params: WriteParams = post_params(&req, &body)?;
            T::from_params(params, state).map(SignedWrite)
        })
    }
}

/// The parameters of a signed write, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct WriteParams {
    key: Option<String>,
    value: Option<String>,
    owner: Option<String>,
    address: Option<String>,
    nonce: Option<String>,
    signature: Option<String>,
    signature_address: Option<String>,
    #[serde(default, deserialize_with = "flag")]
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
    fn nonce(&self) -> Result<Nonce, Error> {
        Nonce::parse(self.nonce.as_deref().unwrap_or_default())
    }
}

impl FromWriteParams for Put {
    fn from_params(params: WriteParams, state: &AppState) -> Result<Self, Error> {
        let network = params.network(state);
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
        let signature = require(&params.signature, "signature")?;
        let nonce = params.nonce()?;
        let digest = put_digest(&key, &value, &signer, &nonce);
        signed::verify_signed(&signer, signature, digest, Error::IncorrectSignature)?;
        Ok(Put {
            owner,
            signer,
            enrollment: Enrollment::verified(value.as_str()),
            key,
            value,
            nonce,
            digest: replay_digest(&digest),
            testnet: network == Network::Testnet,
        })
    }
}

impl FromWriteParams for Delete {
    fn from_params(params: WriteParams, state: &AppState) -> Result<Self, Error> {
        let network = params.network(state);
        let key = Key::parse(require(&params.key, "key")?)?;
        let signer = address_param(params.signer(), "address", Some(network))?;
        let owner = match &params.owner {
            Some(_) => Some(address_param(&params.owner, "owner", Some(network))?),
            None => None,
        };
        let signature = require(&params.signature, "signature")?;
        let nonce = params.nonce()?;
        let digest = delete_digest(&key, &signer, &nonce);
        signed::verify_signed(&signer, signature, digest, Error::IncorrectDeleteSignature)?;
        Ok(Delete {
            owner,
            signer,
            key,
            nonce,
            digest: replay_digest(&digest),
        })
    }
}

/// Reads a request body up to `limit` bytes; beyond it the answer is 413 in causeway's format.
async fn read_body(payload: dev::Payload, limit: usize) -> Result<Bytes, Error> {
    service_kit::body::read(payload, limit)
        .await
        .map_err(|err| match err {
            BodyError::TooLarge(limit) => Error::BodyTooLarge(limit),
            BodyError::Unreadable(reason) => Error::invalid("body", reason),
        })
}

/// Parameters of a POST: a form body, else a JSON body whatever its content type (the
/// original read `request.data`), else the query string (the seed's parameters).
fn post_params<T: DeserializeOwned>(req: &HttpRequest, body: &[u8]) -> Result<T, Error> {
    if req.content_type() == "application/x-www-form-urlencoded" {
        let text = std::str::from_utf8(body).map_err(|e| Error::invalid("form", e))?;
        return urlencoded(text);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return urlencoded(req.query_string());
    }
    serde_json::from_slice(body).map_err(|_| Error::JsonDecode)
}

fn urlencoded<T: DeserializeOwned>(text: &str) -> Result<T, Error> {
    web::Query::<T>::from_query(text)
        .map(web::Query::into_inner)
        .map_err(|e| Error::invalid("parameters", e))
}

pub fn require<'a>(value: &'a Option<String>, name: &'static str) -> Result<&'a str, Error> {
    match value.as_deref() {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Error::Missing(name)),
    }
}

/// The network a request's addresses must be on: its `testnet` flag when it has one,
/// otherwise `default` (`None` = either).
pub fn network_of(testnet: Option<bool>, default: Option<Network>) -> Option<Network> {
    match testnet {
        Some(true) => Some(Network::Testnet),
        Some(false) => Some(Network::Mainnet),
        None => default,
    }
}

/// An address parameter; `network: None` accepts both networks.
pub fn address_param(
    value: &Option<String>,
    name: &'static str,
    network: Option<Network>,
) -> Result<BitcoinAddress, Error> {
    let text = require(value, name)?;
    match network {
        Some(network) => parse_address(text, network, name),
        None => BitcoinAddress::parse(text.trim()).map_err(|e| Error::invalid(name, e)),
    }
}

/// python-rein sends `testnet` as a JSON boolean, the original read the strings `True` or
/// `1` from query strings; both are accepted.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Bool(bool),
        Int(i64),
        Text(String),
    }
    Ok(
        Option::<Raw>::deserialize(deserializer)?.map(|raw| match raw {
            Raw::Bool(b) => b,
            Raw::Int(n) => n == 1,
            Raw::Text(s) => matches!(s.as_str(), "True" | "true" | "1"),
        }),
    )
}
