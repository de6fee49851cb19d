//! The error contract. Each service has one error enum; it implements [`ServiceError`] to say
//! which status each variant has and in which wire format its body goes, and then gets its
//! `actix_web::ResponseError` from [`respond`] (see [`impl_response_error!`](crate::impl_response_error)).
//!
//! 500 answers are opaque: the cause chain goes to the log, never to the client.

use std::error::Error;
use std::fmt::Write as _;

use actix_web::http::StatusCode;
use actix_web::http::header::ContentType;
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::{Map, Value, json};

use crate::db::Unavailable;

/// What a client sees instead of an internal error.
pub const OPAQUE_INTERNAL_MESSAGE: &str = "Internal Server Error";

/// How a service's errors look on the wire; one per original.
pub trait ErrorFormat {
    /// Builds the body of an error answer. `extra` holds variant-specific JSON fields (plain
    /// text formats ignore it).
    fn render(status: StatusCode, message: &str, extra: Map<String, Value>) -> HttpResponse;
}

/// `text/plain` body holding the message (tails-server).
pub struct PlainText;

/// `{"error": message, ...extra}` (zkap-client-api).
pub struct JsonError;

/// `{"status": "error", "message": message, ...extra}` (downstream-node).
pub struct JsonStatusMessage;

/// `{"error": message, "status": "error: <message>", ...extra}` (causeway: python-rein reads
/// `error`, the seed documents `status`).
pub struct JsonErrorAndStatus;

impl ErrorFormat for PlainText {
    fn render(status: StatusCode, message: &str, _extra: Map<String, Value>) -> HttpResponse {
        HttpResponseBuilder::new(status)
            .content_type(ContentType::plaintext())
            .body(message.to_owned())
    }
}

impl ErrorFormat for JsonError {
    fn render(status: StatusCode, message: &str, extra: Map<String, Value>) -> HttpResponse {
        json_body(status, json!({ "error": message }), extra)
    }
}

impl ErrorFormat for JsonStatusMessage {
    fn render(status: StatusCode, message: &str, extra: Map<String, Value>) -> HttpResponse {
        json_body(
            status,
            json!({ "status": "error", "message": message }),
            extra,
        )
    }
}

impl ErrorFormat for JsonErrorAndStatus {
    fn render(status: StatusCode, message: &str, extra: Map<String, Value>) -> HttpResponse {
        let body = json!({ "error": message, "status": format!("error: {message}") });
        json_body(status, body, extra)
    }
}

fn json_body(status: StatusCode, mut base: Value, extra: Map<String, Value>) -> HttpResponse {
    if let Value::Object(fields) = &mut base {
        fields.extend(extra);
    }
    HttpResponseBuilder::new(status).json(base)
}

/// Implemented by each service's error enum.
pub trait ServiceError: Error + 'static {
    type Format: ErrorFormat;

    /// The status of this error; `500` makes the answer opaque.
    fn status(&self) -> StatusCode;

    /// The message the client reads; by default the `Display` text.
    fn message(&self) -> String {
        self.to_string()
    }

    /// Extra fields of a JSON body (e.g. a count the client needs to retry).
    fn extra(&self) -> Map<String, Value> {
        Map::new()
    }

    /// Seconds for a `Retry-After` header (a rate limit, say).
    fn retry_after(&self) -> Option<u64> {
        None
    }

    /// `Some` when this error is the database being away (answered 503 + `Retry-After`) or
    /// full (507), whatever [`ServiceError::status`] says.
    fn database_unavailable(&self) -> Option<Unavailable> {
        None
    }
}

/// The status actually answered for `err`.
pub fn status_of<E: ServiceError>(err: &E) -> StatusCode {
    match err.database_unavailable() {
        Some(unavailable) => unavailable_status(unavailable),
        None => err.status(),
    }
}

fn unavailable_status(unavailable: Unavailable) -> StatusCode {
    match unavailable {
        Unavailable::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
        Unavailable::Away | Unavailable::CommitOutcomeUnknown => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// The response for `err`: its own status and body, or an opaque 500 with the chain logged.
pub fn respond<E: ServiceError>(err: &E) -> HttpResponse {
    if let Some(unavailable) = err.database_unavailable() {
        let status = unavailable_status(unavailable);
        log::warn!("{}: {}", status.as_u16(), cause_chain(err));
        let mut response = E::Format::render(status, unavailable.message(), Map::new());
        set_retry_after(&mut response, Unavailable::RETRY_AFTER_SECS);
        return response;
    }
    let status = err.status();
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        log::error!("internal error: {}", cause_chain(err));
        return E::Format::render(status, OPAQUE_INTERNAL_MESSAGE, Map::new());
    }
    if status.is_server_error() {
        log::warn!("{}: {}", status.as_u16(), cause_chain(err));
    }
    let mut response = E::Format::render(status, &err.message(), err.extra());
    if let Some(secs) = err.retry_after() {
        set_retry_after(&mut response, secs);
    }
    response
}

fn set_retry_after(response: &mut HttpResponse, secs: u64) {
    response.headers_mut().insert(
        actix_web::http::header::RETRY_AFTER,
        actix_web::http::header::HeaderValue::from(secs),
    );
}

/// `err: cause: cause of cause`, for logs.
pub fn cause_chain(err: &dyn Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// Implements `actix_web::ResponseError` for a type that implements [`ServiceError`].
#[macro_export]
macro_rules! impl_response_error {
    ($error:ty) => {
        impl ::actix_web::ResponseError for $error {
            fn status_code(&self) -> ::actix_web::http::StatusCode {
                $crate::error::status_of(self)
            }

            fn error_response(&self) -> ::actix_web::HttpResponse {
                $crate::error::respond(self)
            }
        }
    };
}

/// actix-web rejects some bodies itself, with plain text: over `PayloadConfig`'s limit (413),
/// or cut short / in a `Content-Encoding` that does not decode (400, its debug text). Wrapping
/// a scope in this rewrites those answers into the service's format. The service's own answers
/// are not `text/plain` in a JSON service and pass unchanged.
pub fn body_rejections_in<F: ErrorFormat + 'static, B: 'static>()
-> actix_web::middleware::ErrorHandlers<B> {
    actix_web::middleware::ErrorHandlers::new()
        .handler(
            StatusCode::PAYLOAD_TOO_LARGE,
            rewrite_plain_text::<F, B>("request body is too large", None),
        )
        .handler(
            StatusCode::BAD_REQUEST,
            rewrite_plain_text::<F, B>(
                "request body could not be read",
                Some("the body ended early or its Content-Encoding does not decode"),
            ),
        )
}

type Rewrite<B> = actix_web::Result<actix_web::middleware::ErrorHandlerResponse<B>>;

fn rewrite_plain_text<F: ErrorFormat, B: 'static>(
    message: &'static str,
    details: Option<&'static str>,
) -> impl Fn(actix_web::dev::ServiceResponse<B>) -> Rewrite<B> + 'static {
    use actix_web::dev::ServiceResponse;
    use actix_web::middleware::ErrorHandlerResponse;

    move |res: ServiceResponse<B>| {
        let plain = res
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|v| v.starts_with("text/plain"));
        if !plain {
            return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
        }
        let status = res.status();
        let (req, _) = res.into_parts();
        let extra = details
            .map(|d| Map::from_iter([("details".to_owned(), Value::from(d))]))
            .unwrap_or_default();
        let body = F::render(status, message, extra);
        Ok(ErrorHandlerResponse::Response(
            ServiceResponse::new(req, body).map_into_right_body(),
        ))
    }
}

/// Extractor configurations whose rejections (bad JSON, query or path) are answered in the
/// service's own format with 400 instead of actix-web's plain-text default.
pub mod extractors {
    use actix_web::http::StatusCode;
    use actix_web::web::{FormConfig, JsonConfig, PathConfig, QueryConfig};
    use serde_json::Map;

    use super::ErrorFormat;

    fn bad_request<F: ErrorFormat>(message: String) -> actix_web::Error {
        let response = F::render(StatusCode::BAD_REQUEST, &message, Map::new());
        actix_web::error::InternalError::from_response(message, response).into()
    }

    pub fn json<F: ErrorFormat>(limit: usize) -> JsonConfig {
        JsonConfig::default()
            .limit(limit)
            .error_handler(|err, _| bad_request::<F>(format!("invalid JSON body: {err}")))
    }

    pub fn query<F: ErrorFormat>() -> QueryConfig {
        QueryConfig::default()
            .error_handler(|err, _| bad_request::<F>(format!("invalid query: {err}")))
    }

    pub fn form<F: ErrorFormat>(limit: usize) -> FormConfig {
        FormConfig::default()
            .limit(limit)
            .error_handler(|err, _| bad_request::<F>(format!("invalid form: {err}")))
    }

    pub fn path<F: ErrorFormat>() -> PathConfig {
        PathConfig::default()
            .error_handler(|err, _| bad_request::<F>(format!("invalid path: {err}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[derive(Debug, thiserror::Error)]
    enum Demo {
        #[error("not enough passes")]
        Short { have: u64 },
        #[error("database exploded")]
        Internal(#[source] std::io::Error),
    }

    impl ServiceError for Demo {
        type Format = JsonError;
        fn status(&self) -> StatusCode {
            match self {
                Demo::Short { .. } => StatusCode::CONFLICT,
                Demo::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }
        fn extra(&self) -> Map<String, Value> {
            match self {
                Demo::Short { have } => Map::from_iter([("spendable".to_owned(), json!(have))]),
                Demo::Internal(_) => Map::new(),
            }
        }
    }

    async fn body_of(response: HttpResponse) -> String {
        let bytes = to_bytes(response.into_body()).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[actix_web::test]
    async fn client_errors_carry_message_and_extra_fields() {
        let response = respond(&Demo::Short { have: 3 });
        assert_eq!(response.status(), StatusCode::CONFLICT);
        let body: Value = serde_json::from_str(&body_of(response).await).unwrap();
        assert_eq!(body, json!({"error": "not enough passes", "spendable": 3}));
    }

    #[actix_web::test]
    async fn internal_errors_are_opaque() {
        let err = Demo::Internal(std::io::Error::other("disk on fire at /secret/path"));
        let response = respond(&err);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = body_of(response).await;
        assert!(!body.contains("secret"), "{body}");
        assert!(body.contains(OPAQUE_INTERNAL_MESSAGE));
        assert_eq!(
            cause_chain(&err),
            "database exploded: disk on fire at /secret/path"
        );
    }

    #[actix_web::test]
    async fn each_format_has_its_original_shape() {
        let plain = PlainText::render(StatusCode::NOT_FOUND, "Not Found", Map::new());
        assert_eq!(
            plain.headers().get("content-type").unwrap(),
            "text/plain; charset=utf-8"
        );
        assert_eq!(body_of(plain).await, "Not Found");

        let status =
            JsonStatusMessage::render(StatusCode::NOT_FOUND, "Nonexistent token.", Map::new());
        let body: Value = serde_json::from_str(&body_of(status).await).unwrap();
        assert_eq!(
            body,
            json!({"status": "error", "message": "Nonexistent token."})
        );

        let both = JsonErrorAndStatus::render(StatusCode::FORBIDDEN, "bad signature", Map::new());
        let body: Value = serde_json::from_str(&body_of(both).await).unwrap();
        assert_eq!(
            body,
            json!({"error": "bad signature", "status": "error: bad signature"})
        );
    }
}
