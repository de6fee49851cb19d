//! Reading an upload's multipart body: the original's `Content-Type` check, a cap on the whole
//! body, fields streamed to storage, and draining what is left so an early answer still
//! reaches a client that is busy sending (aiohttp, ACA-Py's client, fails otherwise).

use std::cell::RefCell;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::HttpRequest;
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::{self, Bytes};
use futures_util::{Stream, StreamExt};

use crate::error::TailsError;
use crate::storage::{Staged, Storage};

/// The original only asks that the header contain `multipart`; a missing header is the same
/// 400 here (the original answered 500).
pub fn require_multipart(req: &HttpRequest) -> Result<(), TailsError> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("multipart"));
    if multipart {
        Ok(())
    } else {
        Err(TailsError::NotMultipart)
    }
}

struct Limited {
    payload: web::Payload,
    seen: u64,
    limit: u64,
    done: bool,
}

/// The request payload, shared between the multipart parser and [`UploadBody::drain`].
#[derive(Clone)]
struct SharedPayload(Rc<RefCell<Limited>>);

impl Stream for SharedPayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut inner = self.0.borrow_mut();
        if inner.done {
            return Poll::Ready(None);
        }
        match inner.payload.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                inner.seen += chunk.len() as u64;
                if inner.seen > inner.limit {
                    inner.done = true;
                    return Poll::Ready(Some(Err(PayloadError::Overflow)));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(err))) => {
                inner.done = true;
                Poll::Ready(Some(Err(err)))
            }
            Poll::Ready(None) => {
                inner.done = true;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

pub struct UploadBody {
    payload: SharedPayload,
    multipart: Option<Multipart>,
    limit: u64,
}

impl UploadBody {
    /// `limit` caps the whole body, multipart framing included.
    pub fn new(req: &HttpRequest, payload: web::Payload, limit: u64) -> Self {
        let payload = SharedPayload(Rc::new(RefCell::new(Limited {
            payload,
            seen: 0,
            limit,
            done: false,
        })));
        let multipart = Multipart::new(req.headers(), payload.clone());
        Self {
            payload,
            multipart: Some(multipart),
            limit,
        }
    }

    pub async fn next_field(&mut self) -> Result<Option<Field>, TailsError> {
        let Some(multipart) = self.multipart.as_mut() else {
            return Ok(None);
        };
        match multipart.next().await {
            None => Ok(None),
            Some(Ok(field)) => Ok(Some(field)),
            Some(Err(err)) => Err(self.error(err)),
        }
    }

    /// A small text part, whole.
    pub async fn read_text(&self, field: &mut Field, limit: u64) -> Result<String, TailsError> {
        let mut text = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| self.error(err))?;
            if (text.len() + chunk.len()) as u64 > limit {
                return Err(TailsError::GenesisTooLarge(limit));
            }
            text.extend_from_slice(&chunk);
        }
        String::from_utf8(text).map_err(|_| TailsError::GenesisInvalid)
    }

    /// Streams a file part into storage, hashing it on the way.
    pub async fn receive_file(
        &self,
        field: &mut Field,
        storage: &Arc<Storage>,
        limit: u64,
    ) -> Result<Staged, TailsError> {
        let mut upload = storage.begin();
        let mut size: u64 = 0;
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|err| self.error(err))?;
            size += chunk.len() as u64;
            if size > limit {
                return Err(TailsError::TailsTooLarge(limit));
            }
            upload.write(chunk).await?;
        }
        Ok(upload.finish().await?)
    }

    /// Reads and discards the rest of the body (at most the body limit).
    pub async fn drain(mut self) {
        self.multipart = None;
        while let Some(Ok(_)) = self.payload.next().await {}
    }

    fn error(&self, err: MultipartError) -> TailsError {
        match err {
            MultipartError::Payload(PayloadError::Overflow) => TailsError::BodyTooLarge(self.limit),
            MultipartError::Payload(_) | MultipartError::Incomplete => TailsError::IncompleteBody,
            other => TailsError::MalformedMultipart(other.to_string()),
        }
    }
}

/// The part's `Content-Disposition` name.
pub fn field_name(field: &Field) -> Option<&str> {
    field.content_disposition().and_then(|cd| cd.get_name())
}
