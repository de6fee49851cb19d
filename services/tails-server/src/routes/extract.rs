//! Typed extractors: a path segment parsed into its domain type, and an upload's multipart
//! body. A segment that does not parse is the domain's own 400, as before any handler runs.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};

use super::body::{UploadBody, require_multipart};
use crate::app::AppState;
use crate::domain::{RevRegId, StoredName, TailsHash};
use crate::error::Error;

/// A domain type that is parsed from one path segment.
pub trait Segment: Sized {
    fn parse_segment(text: &str) -> Result<Self, Error>;
}

impl Segment for RevRegId {
    fn parse_segment(text: &str) -> Result<Self, Error> {
        Ok(Self::parse(text)?)
    }
}

impl Segment for TailsHash {
    fn parse_segment(text: &str) -> Result<Self, Error> {
        Ok(Self::parse(text)?)
    }
}

impl Segment for StoredName {
    fn parse_segment(text: &str) -> Result<Self, Error> {
        Ok(Self::parse(text)?)
    }
}

/// The route's one path parameter (percent-decoded), parsed as `T`.
pub struct Parsed<T>(pub T);

impl<T: Segment> FromRequest for Parsed<T> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let parsed = web::Path::<String>::from_request(req, payload)
            .into_inner()
            .and_then(|text| Ok(Parsed(T::parse_segment(&text)?)));
        ready(parsed)
    }
}

/// The original asks for a multipart `Content-Type` before anything else; the body is capped
/// at the upload limit.
impl FromRequest for UploadBody {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = match (
            require_multipart(req),
            req.app_data::<web::Data<AppState>>(),
        ) {
            (Err(err), _) => Err(err.into()),
            (Ok(()), None) => Err(actix_web::error::ErrorInternalServerError(
                "application state is not configured",
            )),
            (Ok(()), Some(state)) => Ok(UploadBody::new(req, payload.take(), state.limits.body())),
        };
        ready(body)
    }
}
