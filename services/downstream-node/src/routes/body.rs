//! Request bodies read raw, so the farmer's `Content-Encoding: gzip` on an uncompressed
//! `/answer` body works: the gzip magic decides, not the header.

use actix_web::dev::{Decompress, Payload};
use actix_web::http::header::ContentEncoding;
use actix_web::web::Bytes;
use service_kit::body::BodyError;

use crate::error::Error;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

async fn collect<S, E>(stream: S, limit: usize) -> Result<Bytes, Error>
where
    S: futures_util::Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    service_kit::body::read(stream, limit)
        .await
        .map_err(|err| match err {
            BodyError::TooLarge(limit) => Error::BodyTooLarge(limit),
            BodyError::Unreadable(reason) => Error::BadBody(reason),
        })
}

/// The body, gunzipped when it really is gzip, at most `limit` bytes either way.
pub async fn read(payload: Payload, limit: usize) -> Result<Bytes, Error> {
    let raw = collect(payload, limit).await?;
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let compressed =
        futures_util::stream::once(async move { Ok::<_, actix_web::error::PayloadError>(raw) });
    let decoder = Decompress::new(Box::pin(compressed), ContentEncoding::Gzip);
    collect(decoder, limit).await
}
