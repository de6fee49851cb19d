//! The one error enum of causeway, in domain terms, and the only place that maps it to HTTP.
//! Bodies are `{"error": msg, "status": "error: msg"}`; messages that python-rein prints or
//! the original sent are kept word for word.

use actix_web::http::StatusCode;
use ledger_client::LedgerError;
use service_kit::db::{DbError, Unavailable};
use service_kit::error::{JsonErrorAndStatus, ServiceError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("JSON Decode failed")]
    JsonDecode,
    #[error("Missing parameter: {0}")]
    Missing(&'static str),
    #[error("Invalid {field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("Request body exceeds {0} bytes")]
    BodyTooLarge(usize),
    #[error("Value exceeds {0} bytes")]
    ValueTooLarge(usize),
    #[error("Malformed signature: {0}")]
    MalformedSignature(String),
    #[error("User not found")]
    UserNotFound,
    #[error("Bad nonce")]
    BadNonce,
    /// `/put` (python-rein prints it).
    #[error("Incorrect signature")]
    IncorrectSignature,
    /// `/delete`, as the original intended it.
    #[error("Incorrect signature.")]
    IncorrectDeleteSignature,
    /// `/address` and `/balance`.
    #[error("Invalid signature")]
    InvalidSignature,
    #[error("Request already accepted once (replay refused)")]
    Replay,
    #[error("Signer is neither the owner nor the owner's delegate")]
    NotAuthorised,
    #[error("Key belongs to another owner")]
    KeyTaken,
    #[error("Insufficient storage space.")]
    InsufficientStorage,
    #[error("Key not found.")]
    KeyNotFound,
    #[error("Key not found or not owned by caller.")]
    DeleteNotFound,
    #[error("Transfer quota used up; buy another bucket")]
    TransferExhausted,
    #[error("No such route or method (see /help)")]
    NoRoute,
    #[error("Bitcoin Core not enabled for this server")]
    NoLedger,
    #[error("Bitcoin Core unavailable")]
    Ledger(#[source] LedgerError),
    /// A batched put met a database that is away, or lost it while committing.
    #[error("database unavailable during a batched write ({0:?})")]
    BatchUnavailable(Unavailable),
    /// `/get` waited for transfer accounting that could not be written (database away).
    #[error("transfer accounting not written; try again later")]
    TransferNotWritten,
    /// A batcher (`db::batcher`) stopped before it answered, or its batch could not run.
    #[error("batch not run")]
    BatchFailed,
    /// A fault of the server itself (never the client's).
    #[error("{0}")]
    Internal(&'static str),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl Error {
    /// A batch that did not run: the database is away (`Some`), or it failed otherwise.
    pub fn batch_failed(kind: Option<Unavailable>) -> Self {
        kind.map_or(Error::BatchFailed, Error::BatchUnavailable)
    }

    pub fn invalid(field: &'static str, reason: impl ToString) -> Self {
        Error::Invalid {
            field,
            reason: reason.to_string(),
        }
    }
}

impl ServiceError for Error {
    type Format = JsonErrorAndStatus;

    fn database_unavailable(&self) -> Option<Unavailable> {
        match self {
            Error::Db(err) => err.unavailable(),
            Error::Query(err) => Unavailable::of_query(err),
            Error::TransferNotWritten => Some(Unavailable::Away),
            Error::BatchUnavailable(kind) => Some(*kind),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            JsonDecode | Missing(_) | Invalid { .. } | MalformedSignature(_) => {
                StatusCode::BAD_REQUEST
            }
            BodyTooLarge(_) | ValueTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BadNonce
            | IncorrectSignature
            | IncorrectDeleteSignature
            | InvalidSignature
            | Replay => StatusCode::UNAUTHORIZED,
            TransferExhausted => StatusCode::PAYMENT_REQUIRED,
            UserNotFound | NotAuthorised | KeyTaken | InsufficientStorage => StatusCode::FORBIDDEN,
            KeyNotFound | DeleteNotFound | NoRoute => StatusCode::NOT_FOUND,
            NoLedger | TransferNotWritten | BatchUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Ledger(_) => StatusCode::BAD_GATEWAY,
            BatchFailed | Internal(_) | Db(_) | Query(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

service_kit::impl_response_error!(Error);
