//! The one error enum of the service, in the terms of an upload, a download and the ledger;
//! the only place that maps them to HTTP. Bodies are plain text and, where the original had
//! one, byte for byte its message (including the `mutlipart` typo that clients compare).

use actix_web::http::StatusCode;
use service_kit::error::{PlainText, ServiceError};

use crate::domain::{FormatError, RevRegIdError, TailsHashError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Expected mutlipart content type")]
    NotMultipart,
    #[error("Malformed multipart body: {0}")]
    MalformedMultipart(String),
    #[error("The request body ended early.")]
    IncompleteBody,
    #[error("First field in multipart request must have name 'genesis'")]
    FirstFieldNotGenesis,
    #[error("Second field in multipart request must have name 'tails'")]
    SecondFieldNotTails,
    #[error("Expected a tails file in the multipart body.")]
    NoFile,
    #[error("Genesis transactions are not valid.")]
    GenesisInvalid,
    #[error(transparent)]
    RevRegId(#[from] RevRegIdError),
    #[error(transparent)]
    TailsHash(#[from] TailsHashError),
    #[error("tailsHash does not match hash of file.")]
    HashMismatch,
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("This tails file already exists.")]
    AlreadyExists,
    #[error("404: Not Found")]
    NotFound,
    #[error("The genesis part is larger than the limit of {0} bytes.")]
    GenesisTooLarge(u64),
    #[error("The tails file is larger than the limit of {0} bytes.")]
    TailsTooLarge(u64),
    #[error("The request body is larger than the limit of {0} bytes.")]
    BodyTooLarge(u64),
    #[error("Insufficient storage: the tails file could not be stored.")]
    StorageFull,
    #[error("Ledger {0} is unavailable; try again later.")]
    LedgerUnavailable(String),
    #[error("Ledger {0} did not answer in time; try again later.")]
    LedgerTimeout(String),
    #[error("Ledger {0} gave an unexpected answer.")]
    LedgerBadAnswer(String),
    #[error("storage failure")]
    Storage(#[source] std::io::Error),
}

impl From<std::io::Error> for Error {
    fn from(err: std::io::Error) -> Self {
        if crate::storage::is_full(&err) {
            log::warn!("storage full: {err}");
            Self::StorageFull
        } else {
            Self::Storage(err)
        }
    }
}

impl ServiceError for Error {
    type Format = PlainText;

    fn status(&self) -> StatusCode {
        match self {
            Self::NotMultipart
            | Self::MalformedMultipart(_)
            | Self::IncompleteBody
            | Self::FirstFieldNotGenesis
            | Self::SecondFieldNotTails
            | Self::NoFile
            | Self::GenesisInvalid
            | Self::RevRegId(_)
            | Self::TailsHash(_)
            | Self::HashMismatch
            | Self::Format(_) => StatusCode::BAD_REQUEST,
            Self::AlreadyExists => StatusCode::CONFLICT,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::GenesisTooLarge(_) | Self::TailsTooLarge(_) | Self::BodyTooLarge(_) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::LedgerUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::LedgerTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            Self::LedgerBadAnswer(_) => StatusCode::BAD_GATEWAY,
            Self::Storage(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

service_kit::impl_response_error!(Error);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_disk_is_507_not_500() {
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(Error::from(full).status(), StatusCode::INSUFFICIENT_STORAGE);
        let other = std::io::Error::other("boom");
        assert_eq!(
            Error::from(other).status(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
