//! `GET`/`HEAD /{revoc_reg_id}` and `/hash/{tails_hash}`: the file from disk with
//! `Content-Length`, `Range`, `ETag` (its tails hash) and `Cache-Control: immutable`, never
//! compressed (curve points do not compress).

use actix_files::HttpRange;
use actix_files::NamedFile;
use actix_web::http::Method;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, EntityTag, HeaderValue, IfNoneMatch};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, mime, web};

use super::extract::Parsed;
use super::file_body::FileBody;
use crate::app::AppState;
use crate::domain::{StoredName, TailsHash};
use crate::error::Error;
use crate::ops::download::{self, Stored};

/// Stored files never change, so caches may keep them for good.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

pub async fn by_name(
    req: HttpRequest,
    name: Parsed<StoredName>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    serve(&req, &state, name.0).await
}

pub async fn by_hash(
    req: HttpRequest,
    hash: Parsed<TailsHash>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    serve(&req, &state, StoredName::Hash(hash.0)).await
}

async fn serve(
    req: &HttpRequest,
    state: &AppState,
    name: StoredName,
) -> Result<HttpResponse, Error> {
    let Stored { path, hash } = download::locate(state, &name).await?;
    let etag = EntityTag::new_strong(hash.to_string());
    if let Some(IfNoneMatch::Items(tags)) = req.get_header::<IfNoneMatch>()
        && tags.iter().any(|tag| tag.weak_eq(&etag))
    {
        let mut response = HttpResponse::NotModified().finish();
        add_cache_headers(&mut response, &etag);
        return Ok(response);
    }
    let file = match NamedFile::open_async(&path).await {
        Ok(file) => file,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(Error::NotFound),
        Err(err) => return Err(err.into()),
    };
    let size = file.metadata().len();
    // NamedFile decides status and headers (Range, 416, Last-Modified, preconditions); the
    // body is ours, read in larger chunks. HEAD keeps NamedFile's body, which is never read.
    let reader = if req.method() == Method::GET {
        Some(file.file().try_clone()?)
    } else {
        None
    };
    let mut response = file
        .use_etag(false)
        .use_last_modified(true)
        .disable_content_disposition()
        .set_content_type(mime::APPLICATION_OCTET_STREAM)
        .into_response(req);
    if let Some(reader) = reader
        && let Some((offset, length)) = body_range(req, response.status(), size)
    {
        response = response
            .set_body(FileBody::new(reader, offset, length))
            .map_into_boxed_body();
    }
    if matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        add_cache_headers(&mut response, &etag);
        state.counters.downloads.inc();
    }
    Ok(response)
}

/// The byte range NamedFile chose for a 200 or 206, by the same parse of `Range`.
fn body_range(req: &HttpRequest, status: StatusCode, size: u64) -> Option<(u64, u64)> {
    match status {
        StatusCode::OK => Some((0, size)),
        StatusCode::PARTIAL_CONTENT => {
            let header = req.headers().get(header::RANGE)?.to_str().ok()?;
            let range = *HttpRange::parse(header, size).ok()?.first()?;
            Some((range.start, range.length))
        }
        _ => None,
    }
}

fn add_cache_headers(response: &mut HttpResponse, etag: &EntityTag) {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag.to_string()) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
}
