//! Typed extractors: request parts parsed into domain types before a handler runs, with the
//! original's messages for what does not parse. A body that cannot be read at all (too large,
//! cut short) keeps actix's own rejection, which the scope's `body_rejections_in` rewrites
//! into the JSON format.

use std::future::{Future, Ready, ready};
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest, web};
use serde_json::{Map, Value};

use super::cursor;
use crate::app::AppState;
use crate::domain::idempotency::IdempotencyKey;
use crate::domain::pass::PassRequest;
use crate::domain::pricing::PriceError;
use crate::domain::voucher::{Page, Voucher};
use crate::error::Error;

/// What can be parsed from a whole request body (and its request's headers).
pub trait FromBody: Sized {
    fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, Error>;
}

/// A `T` parsed from the request body.
pub struct Body<T>(pub T);

impl<T: FromBody + 'static> FromRequest for Body<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = web::Bytes::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let body = bytes.await?;
            Ok(Body(T::parse(&req, &body)?))
        })
    }
}

/// Parses a JSON request body into an object, with the given message for anything else.
fn json_object(body: &[u8], not_json: &str, not_object: &str) -> Result<Map<String, Value>, Error> {
    let value: Value = serde_json::from_slice(body).map_err(|_| Error::invalid(not_json))?;
    match value {
        Value::Object(object) => Ok(object),
        _ => Err(Error::invalid(not_object)),
    }
}

const ONE_KEY: &str = "request object must have exactly one key: 'voucher'";

/// `PUT voucher`: `{"voucher": V}` exactly; the content type is not checked, as in the
/// original. Every 400 carries the original's reason as `error` and what exactly was wrong as
/// `details`.
impl FromBody for Voucher {
    fn parse(_: &HttpRequest, body: &[u8]) -> Result<Self, Error> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| Error::invalid_details("json request body required", e.to_string()))?;
        let Value::Object(object) = value else {
            return Err(Error::invalid_details(
                "request body must be a JSON object",
                format!("got {}", json_kind(&value)),
            ));
        };
        if object.len() != 1 {
            return Err(Error::invalid_details(
                ONE_KEY,
                format!("got {} keys", object.len()),
            ));
        }
        let voucher = object
            .get("voucher")
            .ok_or_else(|| Error::invalid_details(ONE_KEY, "the one key is not 'voucher'"))?;
        let Some(text) = voucher.as_str() else {
            return Err(Error::BadVoucher {
                details: format!("'voucher' must be a string, got {}", json_kind(voucher)),
            });
        };
        Voucher::parse(text).ok_or_else(|| Error::bad_voucher(text))
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `GET voucher/{voucher}`.
pub struct VoucherPath(pub Voucher);

impl FromRequest for VoucherPath {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, actix_web::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let path = web::Path::<String>::from_request(req, payload);
        Box::pin(async move {
            let text = path.await?.into_inner();
            let voucher = Voucher::parse(&text).ok_or_else(|| Error::bad_voucher(&text))?;
            Ok(VoucherPath(voucher))
        })
    }
}

/// `GET voucher`'s query: `None` when the client asked for no page (neither `limit` nor
/// `cursor`).
pub struct PageQuery(pub Option<Page>);

impl FromRequest for PageQuery {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(
            cursor::page_request(req.query_string())
                .map(|page| PageQuery(page.map(|(limit, after)| Page { limit, after })))
                .map_err(Into::into),
        )
    }
}

/// `POST passes`: the body, then the optional `Idempotency-Key`.
pub struct SpendRequest {
    pub request: PassRequest,
    pub key: Option<IdempotencyKey>,
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

impl FromBody for SpendRequest {
    fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, Error> {
        let max = req
            .app_data::<web::Data<AppState>>()
            .map(|state| state.max_passes_per_request)
            .ok_or_else(|| Error::Internal("no application state".into()))?;
        let request = pass_request(body, max)?;
        let key = req
            .headers()
            .get(IDEMPOTENCY_KEY)
            .map(|value| {
                value
                    .to_str()
                    .map_err(|_| "not ASCII".to_owned())
                    .and_then(IdempotencyKey::parse)
                    .map_err(|details| Error::invalid_details("invalid Idempotency-Key", details))
            })
            .transpose()?;
        Ok(Self { request, key })
    }
}

fn pass_request(body: &[u8], max: u32) -> Result<PassRequest, Error> {
    let usage = format!(
        "request body must be a JSON object {{\"message\": <non-empty string>, \"count\": <integer 1..={max}>}}"
    );
    let object = json_object(body, &usage, &usage)?;
    let message = object.get("message").and_then(Value::as_str);
    let count = object.get("count").and_then(Value::as_u64);
    match (object.len(), message, count) {
        (2, Some(message), Some(count))
            if !message.is_empty() && (1..=u64::from(max)).contains(&count) =>
        {
            Ok(PassRequest {
                message: message.to_owned(),
                count,
            })
        }
        _ => Err(Error::invalid(usage)),
    }
}

/// `POST lease-maintenance`: `{"count": n}`, the passes a finished run needed.
pub struct LeaseCount(pub u64);

impl FromBody for LeaseCount {
    fn parse(_: &HttpRequest, body: &[u8]) -> Result<Self, Error> {
        const USAGE: &str = "request body must be a JSON object {\"count\": <integer >= 0>}";
        let object = json_object(body, USAGE, USAGE)?;
        match (object.len(), object.get("count").and_then(Value::as_u64)) {
            // Stored as a signed 64-bit number.
            (1, Some(count)) if i64::try_from(count).is_ok() => Ok(LeaseCount(count)),
            _ => Err(Error::invalid(USAGE)),
        }
    }
}

/// `POST calculate-price`: the sizes of `{"version": 1, "sizes": [int >= 0, ...]}`, sent as
/// `application/json`.
pub struct Sizes(pub Vec<u64>);

impl FromBody for Sizes {
    fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, Error> {
        if !is_json(req) {
            return Err(Error::invalid("content-type must be application/json"));
        }
        parse_request(body)
            .map(Sizes)
            .map_err(|e| Error::invalid(e.to_string()))
    }
}

/// The media type must be `application/json`; parameters such as `charset=utf-8` are allowed
/// (the original compared the whole header and refused them).
fn is_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
}

/// Booleans are not sizes (Python accepted `true`, no real client sends it).
fn parse_request(body: &[u8]) -> Result<Vec<u64>, PriceError> {
    let value: Value = serde_json::from_slice(body).map_err(|_| PriceError::Unparsable)?;
    let object = value.as_object().ok_or(PriceError::NotAnObject)?;
    let (Some(version), Some(sizes)) = (object.get("version"), object.get("sizes")) else {
        return Err(PriceError::MissingProperties);
    };
    if version.as_u64() != Some(1) {
        return Err(PriceError::WrongVersion);
    }
    sizes
        .as_array()
        .ok_or(PriceError::BadSizes)?
        .iter()
        .map(|size| size.as_u64().ok_or(PriceError::BadSizes))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_bodies() {
        assert_eq!(
            parse_request(br#"{"version": 1, "sizes": [1, 2]}"#),
            Ok(vec![1, 2])
        );
        assert_eq!(parse_request(br#"{"version": 1, "sizes": []}"#), Ok(vec![]));
        for (body, err) in [
            (&b"not json"[..], PriceError::Unparsable),
            (b"", PriceError::Unparsable),
            (b"[1]", PriceError::NotAnObject),
            (b"{}", PriceError::MissingProperties),
            (br#"{"version": 1}"#, PriceError::MissingProperties),
            (br#"{"sizes": []}"#, PriceError::MissingProperties),
            (br#"{"version": 2, "sizes": []}"#, PriceError::WrongVersion),
            (
                br#"{"version": "1", "sizes": []}"#,
                PriceError::WrongVersion,
            ),
            (
                br#"{"version": true, "sizes": []}"#,
                PriceError::WrongVersion,
            ),
            (br#"{"version": 1, "sizes": [-1]}"#, PriceError::BadSizes),
            (br#"{"version": 1, "sizes": [1.5]}"#, PriceError::BadSizes),
            (br#"{"version": 1, "sizes": [true]}"#, PriceError::BadSizes),
            (br#"{"version": 1, "sizes": ["1"]}"#, PriceError::BadSizes),
            (br#"{"version": 1, "sizes": 5}"#, PriceError::BadSizes),
            (
                br#"{"version": 1, "sizes": [100000000000000000000000]}"#,
                PriceError::BadSizes,
            ),
        ] {
            assert_eq!(
                parse_request(body),
                Err(err),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
