//! Reading an upload's multipart body: the original's `Content-Type` check, a cap on the whole
//! body, and the parts handed to the operation ([`Parts`]) with their bodies as slices of what
//! was received. What is left unread after an answer is drained by service-kit within the
//! upload limit (`service_kit::body`).

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::http::header::{self, ContentDisposition, HeaderValue};
use actix_web::web::{Bytes, BytesMut};
use actix_web::{HttpMessage, HttpRequest, mime};
use futures_util::{Stream, StreamExt};

use super::delimiter::Delimiter;
use crate::error::Error;
use crate::ops::upload::{Part, Parts};

/// The original only asks that the header contain `multipart`; a missing header is the same
/// 400 here (the original answered 500).
pub fn require_multipart(req: &HttpRequest) -> Result<(), Error> {
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("multipart"));
    if multipart {
        Ok(())
    } else {
        Err(Error::NotMultipart)
    }
}

struct Limited {
    payload: Payload,
    seen: u64,
    limit: u64,
    done: bool,
}

/// The request payload, cut off with an error past `limit` bytes.
impl Stream for Limited {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let inner = self.get_mut();
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

/// The most bytes of preamble, header lines and transport padding held while looking for
/// their end; only the part bodies are streamed.
const MAX_FRAMING: usize = 16 * 1024;
/// Header lines allowed in one part.
const MAX_HEADERS: usize = 32;

/// Where the parser stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first delimiter.
    Preamble,
    /// Just after a delimiter: the close marker `--` or the next part's headers follow.
    Delimited,
    /// Inside a part's body.
    Body,
    /// After the close delimiter.
    End,
}

/// A streaming multipart parser (RFC 2046) over the request payload. Part bodies are handed
/// on as slices of the received `Bytes` (no copy per byte); only the framing (headers, and a
/// delimiter split across two network reads) is copied.
pub struct UploadBody {
    payload: Limited,
    /// `CRLF--boundary`, or why the `Content-Type` has none.
    delimiter: Result<Delimiter, String>,
    /// Received and not yet parsed.
    head: Bytes,
    state: State,
    limit: u64,
}

impl UploadBody {
    /// `limit` caps the whole body, multipart framing included.
    pub fn new(req: &HttpRequest, payload: Payload, limit: u64) -> Self {
        let payload = Limited {
            payload,
            seen: 0,
            limit,
            done: false,
        };
        Self {
            payload,
            delimiter: boundary(req).and_then(|b| Delimiter::new(&b)),
            // A virtual CRLF lets the first delimiter, at the very start of the body, be
            // found like the others.
            head: Bytes::from_static(b"\r\n"),
            state: State::Preamble,
            limit,
        }
    }

    /// The next part; its body is then read with [`Self::chunk`] (or skipped by the next call).
    async fn part(&mut self) -> Result<Option<Part>, Error> {
        if let Err(err) = &self.delimiter {
            return Err(Error::MalformedMultipart(err.clone()));
        }
        loop {
            match self.state {
                State::Preamble => {
                    let needle = self.delimiter_bytes().to_vec();
                    self.take_until(&needle).await?;
                    self.state = State::Delimited;
                }
                State::Body => while self.chunk().await?.is_some() {},
                State::Delimited => {
                    self.fill(2).await?;
                    if self.head.starts_with(b"--") {
                        self.state = State::End;
                        return Ok(None);
                    }
                    // Transport padding, then the header lines up to an empty one.
                    self.take_until(b"\r\n").await?;
                    let mut name = None;
                    let mut lines = 0;
                    loop {
                        let line = self.take_until(b"\r\n").await?;
                        if line.is_empty() {
                            break;
                        }
                        lines += 1;
                        if lines > MAX_HEADERS {
                            return Err(malformed("too many part headers"));
                        }
                        if let Some(found) = disposition_name(&line)? {
                            name = found;
                        }
                    }
                    self.state = State::Body;
                    return Ok(Some(Part { name }));
                }
                State::End => return Ok(None),
            }
        }
    }

    fn delimiter_bytes(&self) -> &[u8] {
        self.delimiter.as_ref().map_or(&[], Delimiter::as_bytes)
    }

    /// The next piece of the current part's body (a slice of what was received); `None` at
    /// its end.
    async fn chunk(&mut self) -> Result<Option<Bytes>, Error> {
        let Ok(delimiter) = &self.delimiter else {
            return Ok(None);
        };
        let delimiter = delimiter.clone();
        let len = delimiter.as_bytes().len();
        while self.state == State::Body {
            if let Some(at) = delimiter.find(&self.head) {
                let data = self.head.split_to(at);
                let _ = self.head.split_to(len);
                self.state = State::Delimited;
                if !data.is_empty() {
                    return Ok(Some(data));
                }
                break;
            }
            // What cannot be the start of a delimiter is body.
            let safe = self.head.len() - delimiter.partial_suffix(&self.head);
            if safe > 0 {
                return Ok(Some(self.head.split_to(safe)));
            }
            // `head` is empty or a proper prefix of the delimiter.
            let chunk = self.receive().await?.ok_or(Error::IncompleteBody)?;
            if self.head.is_empty() {
                self.head = chunk;
            } else if chunk.len() < len {
                self.head = concat(&self.head, &chunk);
            } else {
                // A delimiter starting in `head` ends within the first `len - 1` bytes of
                // `chunk`; only those are copied to look.
                let kept = self.head.len();
                let window = concat(&self.head, chunk.get(..len - 1).unwrap_or_default());
                match delimiter.find(&window) {
                    Some(at) => {
                        let data = self.head.split_to(at);
                        self.head = chunk.slice(at + len - kept..);
                        self.state = State::Delimited;
                        if !data.is_empty() {
                            return Ok(Some(data));
                        }
                    }
                    None => return Ok(Some(std::mem::replace(&mut self.head, chunk))),
                }
            }
        }
        Ok(None)
    }

    /// Framing up to `needle`, which is consumed too.
    async fn take_until(&mut self, needle: &[u8]) -> Result<Bytes, Error> {
        let mut searched: usize = 0;
        loop {
            let from = searched.saturating_sub(needle.len() - 1);
            if let Some(at) = self
                .head
                .get(from..)
                .unwrap_or_default()
                .windows(needle.len())
                .position(|w| w == needle)
            {
                let found = self.head.split_to(from + at);
                let _ = self.head.split_to(needle.len());
                return Ok(found);
            }
            if self.head.len() > MAX_FRAMING {
                return Err(malformed("multipart framing too long"));
            }
            searched = self.head.len();
            let chunk = self.receive().await?.ok_or(Error::IncompleteBody)?;
            self.head = concat(&self.head, &chunk);
        }
    }

    /// At least `n` bytes in `head`.
    async fn fill(&mut self, n: usize) -> Result<(), Error> {
        while self.head.len() < n {
            let chunk = self.receive().await?.ok_or(Error::IncompleteBody)?;
            self.head = concat(&self.head, &chunk);
        }
        Ok(())
    }

    /// The next non-empty network read; `None` at the end of the body.
    async fn receive(&mut self) -> Result<Option<Bytes>, Error> {
        loop {
            match self.payload.next().await {
                None => return Ok(None),
                Some(Ok(chunk)) if chunk.is_empty() => {}
                Some(Ok(chunk)) => return Ok(Some(chunk)),
                Some(Err(PayloadError::Overflow)) => {
                    return Err(Error::BodyTooLarge(self.limit));
                }
                Some(Err(_)) => return Err(Error::IncompleteBody),
            }
        }
    }
}

fn concat(a: &[u8], b: &[u8]) -> Bytes {
    let mut joined = BytesMut::with_capacity(a.len() + b.len());
    joined.extend_from_slice(a);
    joined.extend_from_slice(b);
    joined.freeze()
}

fn malformed(why: &str) -> Error {
    Error::MalformedMultipart(why.to_owned())
}

/// The `boundary` parameter of the request's `Content-Type`.
fn boundary(req: &HttpRequest) -> Result<String, String> {
    let mime = req
        .mime_type()
        .map_err(|_| "could not parse Content-Type header".to_owned())?
        .ok_or_else(|| "no Content-Type header".to_owned())?;
    if mime.type_() != mime::MULTIPART {
        return Err("Content-Type is not multipart".to_owned());
    }
    let boundary = mime
        .get_param(mime::BOUNDARY)
        .ok_or_else(|| "multipart boundary is not found".to_owned())?;
    Ok(boundary.as_str().to_owned())
}

/// `Some(name)` when `line` is a `Content-Disposition` header.
fn disposition_name(line: &[u8]) -> Result<Option<Option<String>>, Error> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(malformed("invalid part header"));
    };
    let (name, value) = line.split_at(colon);
    if !name.eq_ignore_ascii_case(b"content-disposition") {
        return Ok(None);
    }
    let value = HeaderValue::from_bytes(value.get(1..).unwrap_or_default().trim_ascii())
        .map_err(|_| malformed("invalid Content-Disposition header"))?;
    let disposition = ContentDisposition::from_raw(&value)
        .map_err(|_| malformed("invalid Content-Disposition header"))?;
    Ok(Some(disposition.get_name().map(str::to_owned)))
}

impl Parts for UploadBody {
    type Chunk = Bytes;

    async fn next_part(&mut self) -> Result<Option<Part>, Error> {
        self.part().await
    }

    async fn next_chunk(&mut self) -> Result<Option<Bytes>, Error> {
        self.chunk().await
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;
    use futures_util::stream;

    use super::*;

    const BOUNDARY: &str = "xYzZY";

    /// Parses `body` delivered in reads of `read` bytes: each part's name and body.
    async fn parse(body: &[u8], read: usize) -> Result<Vec<(Option<String>, Vec<u8>)>, String> {
        let chunks: Vec<Result<Bytes, PayloadError>> = body
            .chunks(read)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        let (req, _) = TestRequest::default()
            .insert_header((
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary=\"{BOUNDARY}\""),
            ))
            .to_http_parts();
        let payload: Payload = Payload::Stream {
            payload: Box::pin(stream::iter(chunks)),
        };
        let mut body = UploadBody::new(&req, payload, 1 << 20);
        let mut parts = Vec::new();
        while let Some(part) = body.part().await.map_err(|e| e.to_string())? {
            let mut data = Vec::new();
            while let Some(chunk) = body.chunk().await.map_err(|e| e.to_string())? {
                assert!(!chunk.is_empty());
                data.extend_from_slice(&chunk);
            }
            parts.push((part.name.clone(), data));
        }
        Ok(parts)
    }

    #[actix_web::test]
    async fn parts_survive_any_split_of_the_reads() {
        // File data full of near-delimiters: CR, CRLF, CRLF-, CRLF--, CRLF--xYzZ.
        let file: Vec<u8> = b"\r\n-\r\n--\r\n--xYzZ\rA\r\n--xYzZy"
            .iter()
            .copied()
            .chain((0..3000u32).map(|i| (i * 7 % 251) as u8))
            .chain(*b"\r\n--xYz")
            .collect();
        let mut body = format!(
            "preamble\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"genesis\"\r\n\r\n\
             {{\"txn\":1}}\r\n--{BOUNDARY}  \r\ncontent-type: application/octet-stream\r\n\
             CONTENT-DISPOSITION: form-data; name=\"tails\"; filename=\"t\"\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(&file);
        body.extend_from_slice(
            format!("\r\n--{BOUNDARY}\r\n\r\n\r\n--{BOUNDARY}--\r\nepilogue").as_bytes(),
        );
        let expected = vec![
            (Some("genesis".to_owned()), b"{\"txn\":1}".to_vec()),
            (Some("tails".to_owned()), file),
            (None, Vec::new()),
        ];
        for read in [1, 2, 3, 5, 9, 10, 11, 12, 17, 64, 1000, body.len()] {
            assert_eq!(
                parse(&body, read).await.unwrap(),
                expected,
                "reads of {read}"
            );
        }
    }

    #[actix_web::test]
    async fn bad_bodies_are_errors() {
        let truncated = format!("--{BOUNDARY}\r\n\r\nno end");
        assert_eq!(
            parse(truncated.as_bytes(), 4).await,
            Err(Error::IncompleteBody.to_string())
        );
        let empty = format!("--{BOUNDARY}--");
        assert_eq!(parse(empty.as_bytes(), 1).await, Ok(Vec::new()));
        let no_colon = format!("--{BOUNDARY}\r\nbroken\r\n\r\n\r\n--{BOUNDARY}--");
        assert!(parse(no_colon.as_bytes(), 3).await.is_err());
    }
}
