//! The one error enum of the service, and the only place that maps it to HTTP: every error
//! is answered as `{"status":"error","message":...}` with the status the original gave it.

use actix_web::http::StatusCode;
use service_kit::db::{DbError, Unavailable, column};
use service_kit::error::{JsonStatusMessage, ServiceError};

/// Messages are the original's, character for character: the farmer acts on some of them
/// (`Nonexistent token.` makes it register again).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `/heartbeat` answers 404 for an unknown token, every other route 400.
    #[error("Nonexistent token.")]
    TokenNotFound,
    #[error("Nonexistent token.")]
    UnknownToken,
    #[error(
        "New token requests must include posted signature proving ownership of farming address"
    )]
    SignatureRequired,
    #[error("Posted data must be JSON encoded object including \"signature\" and \"message\"")]
    MalformedSignedRequest,
    #[error("Please restrict your message to less than {0} bytes.")]
    MessageTooLong(usize),
    #[error("Your signature is the wrong length.  It should be 88bytes.")]
    SignatureLength,
    #[error("Signature invalid.")]
    SignatureInvalid,
    #[error("IP Disallowed, only {0} tokens are permitted per IP address")]
    IpDisallowed(u32),
    #[error("Invalid address given: address is not a valid SJCX address.")]
    InvalidAddress,
    #[error("Invalid address given: address must be in whitelist.")]
    NotWhitelisted,
    #[error("Invalid sort.")]
    InvalidSort,
    #[error("Nonexistant farmer id.")]
    FarmerNotFound,
    #[error("Posted data must be JSON encoded object including \"{0}\"")]
    MalformedBatch(&'static str),
    #[error("Too many items: at most {0} per request.")]
    TooManyItems(usize),
    #[error("Request body is larger than {0} bytes.")]
    BodyTooLarge(usize),
    #[error("Request body could not be read: {0}")]
    BadBody(String),
    #[error("Not found.")]
    NotFound,
    /// Rate limit hit; the number is the `Retry-After` in seconds.
    #[error("Too many requests: retry after {0} seconds.")]
    RateLimited(u64),
    /// Single-contract legacy routes answer their per-contract outcome as an error.
    #[error("{0}")]
    Contract(&'static str),
    #[error("cannot tell the client's IP address")]
    NoPeerAddress,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// Anything else that failed inside (an opaque 500, the cause logged).
    #[error("{0}")]
    Internal(String),
}

impl ServiceError for Error {
    type Format = JsonStatusMessage;

    fn database_unavailable(&self) -> Option<Unavailable> {
        match self {
            Error::Db(err) => err.unavailable(),
            Error::Query(err) => Unavailable::of_query(err),
            _ => None,
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Error::TokenNotFound | Error::FarmerNotFound | Error::NotFound => StatusCode::NOT_FOUND,
            Error::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Error::NoPeerAddress | Error::Db(_) | Error::Query(_) | Error::Internal(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            _ => StatusCode::BAD_REQUEST,
        }
    }
}

service_kit::impl_response_error!(Error);

/// A number too large for its column fails the operation like any other query error.
impl From<column::TooLarge> for Error {
    fn from(too_large: column::TooLarge) -> Self {
        Error::Query(too_large.into())
    }
}
