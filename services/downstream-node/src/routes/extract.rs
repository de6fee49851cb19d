//! Typed extractors: what a request says, parsed into domain types before a handler runs.
//! Bodies go through [`body::read`] (size limit, the farmer's fake gzip).

use std::future::{Ready, ready};
use std::net::{IpAddr, SocketAddr};

use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpRequest, dev, web};
use futures_util::future::LocalBoxFuture;
use serde_json::Value;

use super::body;
use crate::app::AppState;
use crate::domain::{FarmerToken, ProofItem, TrustedProxies, parse_contract_id};
use crate::error::Error;
use crate::heartbeat::Proof;
use crate::ops::register::Signed;

/// Base64 of a 65-byte signature.
const SIGNATURE_CHARS: usize = 88;

fn state(req: &HttpRequest) -> Result<web::Data<AppState>, Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::Internal("the application state is not registered".into()))
}

/// The client address (see [`client_ip`]).
pub struct ClientIp(pub IpAddr);

impl FromRequest for ClientIp {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        ready(state(req).and_then(|state| client_ip(req, &state).map(ClientIp)))
    }
}

/// The `{token}` of the path; `None` when it is not a well-formed token (the operations
/// answer that as an unknown token).
pub struct TokenPath(pub Option<FarmerToken>);

impl FromRequest for TokenPath {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut dev::Payload) -> Self::Future {
        let token = req.match_info().get("token").and_then(FarmerToken::parse);
        ready(Ok(TokenPath(token)))
    }
}

/// The proofs of `POST /answer/<token>` (`{"proofs": [{"file_hash", "proof"}, ...]}`) or of
/// the legacy `POST /answer/<token>/<file_hash>` (`{"proof": ...}`), as the same batch.
pub struct FarmerProofs {
    pub proofs: Vec<ProofItem>,
    /// Each proof's `file_hash` as sent, for the report.
    pub file_hashes: Vec<Value>,
}

impl FarmerProofs {
    fn batch(raw: &[u8], max: usize) -> Result<Self, Error> {
        let items = match array_field(raw, "proofs", max) {
            Ok(items) => items,
            // The original answers a body it cannot parse with an empty report.
            Err(Error::MalformedBatch(_)) => Vec::new(),
            Err(err) => return Err(err),
        };
        let mut proofs = Self {
            proofs: Vec::with_capacity(items.len()),
            file_hashes: Vec::with_capacity(items.len()),
        };
        for mut item in items {
            let file_hash = item.get_mut("file_hash").map_or(Value::Null, Value::take);
            proofs.proofs.push(ProofItem {
                contract: contract_id(&file_hash),
                proof: item.get_mut("proof").map(Value::take).and_then(proof),
            });
            proofs.file_hashes.push(file_hash);
        }
        Ok(proofs)
    }

    fn single(file_hash: &str, raw: &[u8]) -> Result<Self, Error> {
        let sent = serde_json::from_slice::<Value>(raw)
            .ok()
            .and_then(|mut body| body.get_mut("proof").map(Value::take))
            .ok_or(Error::Contract("Proof corrupted."))?;
        Ok(Self {
            proofs: vec![ProofItem {
                contract: parse_contract_id(file_hash),
                proof: proof(sent),
            }],
            file_hashes: vec![Value::String(file_hash.to_owned())],
        })
    }
}

impl FromRequest for FarmerProofs {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        let file_hash = req.match_info().get("file_hash").map(str::to_owned);
        from_body(req, payload, move |state, raw| match file_hash {
            Some(file_hash) => Self::single(&file_hash, raw),
            None => Self::batch(raw, state.settings.max_batch),
        })
    }
}

/// The contracts `POST /challenge/<token>` asks about (`{"hashes": [...]}`).
pub struct ChallengeHashes {
    /// The contract each hash names, `None` when it names none.
    pub ids: Vec<Option<i64>>,
    /// Each hash as sent, for the answer.
    pub file_hashes: Vec<Value>,
}

impl FromRequest for ChallengeHashes {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        from_body(req, payload, |state, raw| {
            let file_hashes = array_field(raw, "hashes", state.settings.max_batch)?;
            Ok(Self {
                ids: file_hashes.iter().map(contract_id).collect(),
                file_hashes,
            })
        })
    }
}

/// The signed ownership claim of `POST /new/<address>`: required when signatures are, and
/// otherwise taken when the body holds a valid one.
pub struct Claim(pub Option<Signed>);

impl FromRequest for Claim {
    type Error = Error;
    type Future = LocalBoxFuture<'static, Result<Self, Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        from_body(req, payload, |state, raw| {
            let settings = &state.settings;
            let signed = signed(raw, settings.max_message_size);
            Ok(Claim(if settings.require_signature {
                Some(signed?)
            } else {
                signed.ok()
            }))
        })
    }
}

/// The body read (see [`body::read`]) and handed to `parse`.
fn from_body<T: 'static>(
    req: &HttpRequest,
    payload: &mut dev::Payload,
    parse: impl FnOnce(&AppState, &[u8]) -> Result<T, Error> + 'static,
) -> LocalBoxFuture<'static, Result<T, Error>> {
    let state = state(req);
    let payload = payload.take();
    Box::pin(async move {
        let state = state?;
        let raw = body::read(payload, state.settings.server.body_limit).await?;
        parse(&state, &raw)
    })
}

fn signed(raw: &[u8], max_message: usize) -> Result<Signed, Error> {
    let value: Value = serde_json::from_slice(raw).map_err(|_| Error::MalformedSignedRequest)?;
    let field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_owned);
    let (Some(message), Some(signature)) = (field("message"), field("signature")) else {
        return Err(Error::MalformedSignedRequest);
    };
    if message.len() > max_message {
        return Err(Error::MessageTooLong(max_message));
    }
    if signature.len() != SIGNATURE_CHARS {
        return Err(Error::SignatureLength);
    }
    Ok(Signed { message, signature })
}

/// The array `field` of a JSON object body, at most `max` items.
fn array_field(raw: &[u8], field: &'static str, max: usize) -> Result<Vec<Value>, Error> {
    let mut value: Value = serde_json::from_slice(raw).map_err(|_| Error::MalformedBatch(field))?;
    let Some(Value::Array(items)) = value.get_mut(field).map(Value::take) else {
        return Err(Error::MalformedBatch(field));
    };
    if items.len() > max {
        return Err(Error::TooManyItems(max));
    }
    Ok(items)
}

/// A `file_hash` as the original's `int()` reads it: a JSON integer or a decimal string.
fn contract_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => parse_contract_id(s),
        _ => None,
    }
}

/// A proof as sent; `None` when it is not one.
fn proof(sent: Value) -> Option<Proof> {
    serde_json::from_value(sent).ok()
}

/// The client address: the socket peer, or, when that is one of the `trusted_proxies`, the
/// right-most untrusted hop of its `X-Forwarded-For` / `Forwarded` headers. The one
/// definition every per-IP rule uses (token limit, rate limits, GeoIP, stored address).
pub(crate) fn client_ip(req: &HttpRequest, state: &AppState) -> Result<IpAddr, Error> {
    resolve_client(
        &state.settings.trusted_proxies,
        req.peer_addr(),
        req.headers(),
    )
    .ok_or(Error::NoPeerAddress)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn batch_proofs_keep_each_file_hash_as_sent() {
        let raw = br#"{"proofs": [{"file_hash": " 12 ", "proof": 1}, {"file_hash": 7.5}, {"proof": null}, 3]}"#;
        let batch = FarmerProofs::batch(raw, 10).unwrap();
        assert_eq!(
            batch.file_hashes,
            vec![json!(" 12 "), json!(7.5), Value::Null, Value::Null]
        );
        let ids: Vec<Option<i64>> = batch.proofs.iter().map(|item| item.contract).collect();
        assert_eq!(ids, vec![Some(12), None, None, None]);
        assert!(batch.proofs.iter().all(|item| item.proof.is_none()));
        assert!(
            FarmerProofs::batch(b"{not json", 10)
                .unwrap()
                .proofs
                .is_empty()
        );
        assert!(matches!(
            FarmerProofs::batch(br#"{"proofs": [1, 2]}"#, 1),
            Err(Error::TooManyItems(1))
        ));
    }

    #[test]
    fn a_single_proof_is_a_batch_of_one() {
        let single = FarmerProofs::single("12", br#"{"proof": null}"#).unwrap();
        assert_eq!(single.file_hashes, vec![json!("12")]);
        assert_eq!(single.proofs.len(), 1);
        assert_eq!(single.proofs[0].contract, Some(12));
        assert!(single.proofs[0].proof.is_none());
        assert!(matches!(
            FarmerProofs::single("12", b"{}"),
            Err(Error::Contract("Proof corrupted."))
        ));
    }
}
