//! The service's one error enum, in the terms of its operations, and the only place that maps
//! it to the wire: `{"error": message, ...}` with ZKAPAuthorizer's status codes, plus `details`
//! where the original's error pages had a detail (the voucher routes). Internal failures are an
//! opaque 500.

use actix_web::http::StatusCode;
use serde_json::{Map, Value, json};
use service_kit::db::{DbError, Unavailable};
use service_kit::error::{JsonError, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A request the client must fix; the message says how.
    #[error("{0}")]
    Invalid(String),
    /// A request the client must fix, with `details` saying what exactly was wrong.
    #[error("{error}")]
    InvalidDetailed { error: String, details: String },
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

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn invalid_details(error: impl Into<String>, details: impl Into<String>) -> Self {
        Error::InvalidDetailed {
            error: error.into(),
            details: details.into(),
        }
    }

    /// `text` is not a voucher; the details say why.
    pub fn bad_voucher(text: &str) -> Self {
        Error::BadVoucher {
            details: crate::domain::voucher::why_invalid(text),
        }
    }
}

impl ServiceError for Error {
    type Format = JsonError;

    fn database_unavailable(&self) -> Option<Unavailable> {
        match self {
            Error::Db(err) => err.unavailable(),
            Error::Query(err) => Unavailable::of_query(err),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) | Error::InvalidDetailed { .. } | Error::BadVoucher { .. } => {
                StatusCode::BAD_REQUEST
            }
            Error::UnknownVoucher | Error::NotFound => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Error::NotEnoughTokens { .. } => StatusCode::CONFLICT,
            Error::NoApiToken => StatusCode::SERVICE_UNAVAILABLE,
            Error::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            Error::Db(_) | Error::Query(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    fn retry_after(&self) -> Option<u64> {
        matches!(self, Error::NoApiToken).then_some(5)
    }

    fn extra(&self) -> Map<String, Value> {
        match self {
            Error::NotEnoughTokens {
                requested,
                spendable,
            } => Map::from_iter([
                ("requested".to_owned(), json!(requested)),
                ("spendable".to_owned(), json!(spendable)),
            ]),
            Error::InvalidDetailed { details, .. } | Error::BadVoucher { details } => {
                Map::from_iter([("details".to_owned(), json!(details))])
            }
            Error::UnknownVoucher => Map::from_iter([(
                "details".to_owned(),
                json!("no voucher with this number has been submitted (PUT voucher adds it)"),
            )]),
            _ => Map::new(),
        }
    }
}

service_kit::impl_response_error!(Error);
