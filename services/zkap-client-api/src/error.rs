//! The service's one error enum and its wire form: `{"error": message, ...}` with
//! ZKAPAuthorizer's status codes, plus `details` where the original's error pages had a detail
//! (the voucher routes). Internal failures are an opaque 500.

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};
use service_kit::db::{DbError, Unavailable};
use service_kit::error::{JsonError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A request the client must fix; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// A request the client must fix, with `details` saying what exactly was wrong.
    #[error("{error}")]
    BadRequestDetailed { error: String, details: String },
    /// `details` says which rule the submitted text breaks.
    #[error("submitted voucher is syntactically invalid")]
    BadVoucher { details: String },
    #[error("unknown voucher")]
    UnknownVoucher,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("not enough spendable tokens: {requested} requested, {spendable} spendable")]
    NotEnoughTokens { requested: u64, spendable: u64 },
    #[error("Idempotency-Key already used for a different request")]
    IdempotencyKeyReused,
    /// The API token file has held no token since start-up.
    #[error("no API token configured yet; try again later")]
    NoApiToken,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::BadRequest(message.into())
    }

    pub fn bad_request_details(error: impl Into<String>, details: impl Into<String>) -> Self {
        ApiError::BadRequestDetailed {
            error: error.into(),
            details: details.into(),
        }
    }

    /// `text` is not a voucher; the details say why.
    pub fn bad_voucher(text: &str) -> Self {
        ApiError::BadVoucher {
            details: crate::domain::voucher::why_invalid(text),
        }
    }
}

impl ServiceError for ApiError {
    type Format = JsonError;

    fn database_unavailable(&self) -> Option<Unavailable> {
        match self {
            ApiError::Db(err) => err.unavailable(),
            ApiError::Query(err) => Unavailable::of_query(err),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_)
            | ApiError::BadRequestDetailed { .. }
            | ApiError::BadVoucher { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnknownVoucher | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotEnoughTokens { .. } => StatusCode::CONFLICT,
            ApiError::NoApiToken => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Db(_) | ApiError::Query(_) | ApiError::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn retry_after(&self) -> Option<u64> {
        matches!(self, ApiError::NoApiToken).then_some(5)
    }

    fn extra(&self) -> Map<String, Value> {
        match self {
            ApiError::NotEnoughTokens {
                requested,
                spendable,
            } => Map::from_iter([
                ("requested".to_owned(), json!(requested)),
                ("spendable".to_owned(), json!(spendable)),
            ]),
            ApiError::BadRequestDetailed { details, .. } | ApiError::BadVoucher { details } => {
                Map::from_iter([("details".to_owned(), json!(details))])
            }
            ApiError::UnknownVoucher => Map::from_iter([(
                "details".to_owned(),
                json!("no voucher with this number has been submitted (PUT voucher adds it)"),
            )]),
            _ => Map::new(),
        }
    }
}

service_kit::impl_response_error!(ApiError);
