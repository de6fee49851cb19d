//! Request bodies: one bounded reader for every service, and one policy for bodies a handler
//! answered without reading to the end (413, 400, 401, 409...).
//!
//! The policy, in one place: the answer goes out at once; then what is left of the body is
//! read and discarded, at most [`ServerOptions::drain_limit`](crate::server::ServerOptions)
//! bytes (1 MiB unless the service says otherwise) for at most [`DRAIN_TIMEOUT`], so that a
//! well-behaved client still sending a body of sensible size finishes and reads the answer
//! (ACA-Py's aiohttp client, for one, fails when its upload is cut off). A body that ends
//! within that is read to its end and the connection then closes in order (actix-web marks
//! an answer sent before its body was read `connection: close`); otherwise the connection
//! is closed after a last [`LINGER`]. Left to itself, actix-web drains an unread chunked body to its end, however
//! long: a client streaming without end kept a worker reading forever.
//!
//! How: [`hold_unread_bodies`] gives the handler a stand-in for the request's body stream and
//! keeps the real one alive: the answer's body, once sent, drains it within those bounds and
//! ends. actix-web closes a connection whose body is unread (and alive) when the answer ends.

use std::cell::{Cell, RefCell};
use std::future::Future as _;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::HttpMessage as _;
use actix_web::body::{BodySize, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

/// How long after an early answer the rest of a body may take to arrive.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// What is left of a body read after an early answer, unless the service says otherwise.
pub const DEFAULT_DRAIN_LIMIT: usize = 1024 * 1024;

/// How long the server reads (and discards) before closing a connection whose body was not
/// drained within the bounds above.
pub const LINGER: Duration = Duration::from_millis(500);

/// The drain limit, as app data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct DrainLimit(pub usize);

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("request body could not be read: {0}")]
    Unreadable(String),
}

/// The whole body of `stream`, refused as soon as it passes `limit` bytes (nothing more is
/// read; the connection then closes as the module says).
pub async fn read<S, E>(mut stream: S, limit: usize) -> Result<Bytes, BodyError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let mut body = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|err| BodyError::Unreadable(err.to_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

type Shared = Rc<RefCell<Payload>>;

/// The middleware (installed by `server::Application` on every route).
pub(crate) async fn hold_unread_bodies(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, actix_web::Error> {
    if !has_body(&req) {
        return Ok(next.call(req).await?.map_into_left_body());
    }
    let real: Shared = Rc::new(RefCell::new(req.take_payload()));
    let finished = Rc::new(Cell::new(false));
    let stand_in = StandIn {
        real: Rc::clone(&real),
        finished: Rc::clone(&finished),
    };
    req.set_payload(Payload::from(
        Box::pin(stand_in) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let drain_left = req
        .app_data::<actix_web::web::Data<DrainLimit>>()
        .map_or(DEFAULT_DRAIN_LIMIT, |limit| limit.0);
    let response = next.call(req).await?;
    if finished.get() {
        return Ok(response.map_into_left_body());
    }
    Ok(response
        .map_body(|_, body| {
            BoxBody::new(Holding {
                body: body.boxed(),
                body_done: false,
                real,
                drain_left,
                deadline: None,
            })
        })
        .map_into_right_body())
}

fn has_body(req: &ServiceRequest) -> bool {
    let headers = req.headers();
    headers.contains_key(TRANSFER_ENCODING)
        || headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// What the handler reads: the real body, through a handle that does not own it.
struct StandIn {
    real: Shared,
    finished: Rc<Cell<bool>>,
}

impl Stream for StandIn {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut real = self.real.borrow_mut();
        let polled = Pin::new(&mut *real).poll_next(cx);
        if let Poll::Ready(None) = polled {
            self.finished.set(true);
        }
        polled
    }
}

/// An answer that keeps the unread body alive: once its own bytes are out, it drains the body
/// within the bounds, then ends.
struct Holding {
    body: BoxBody,
    body_done: bool,
    real: Shared,
    drain_left: usize,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl MessageBody for Holding {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        let this = &mut *self;
        if !this.body_done {
            match Pin::new(&mut this.body).poll_next(cx) {
                Poll::Ready(None) => this.body_done = true,
                other => return other,
            }
        }
        let deadline = this
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(DRAIN_TIMEOUT)));
        if deadline.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        let mut real = this.real.borrow_mut();
        while this.drain_left > 0 {
            match Pin::new(&mut *real).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => {
                    this.drain_left = this.drain_left.saturating_sub(chunk.len());
                }
                Poll::Ready(Some(Err(_)) | None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(None)
    }
}
