//! `GET`/`HEAD /{revoc_reg_id}` and `/hash/{tails_hash}`: the file from disk with
//! `Content-Length`, `Range`, `ETag` (its tails hash) and `Cache-Control: immutable`, never
//! compressed (curve points do not compress).

use actix_files::NamedFile;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, EntityTag, HeaderValue, IfNoneMatch};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, mime, web};

use super::AppState;
use crate::domain::{StoredName, TailsHash};
use crate::error::TailsError;

/// Stored files never change, so caches may keep them for good.
const CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

pub async fn by_name(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TailsError> {
    let name = StoredName::parse(&path)?;
    serve(&req, &state, name).await
}

pub async fn by_hash(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TailsError> {
    let hash = TailsHash::parse(&path)?;
    serve(&req, &state, StoredName::Hash(hash)).await
}

async fn serve(
    req: &HttpRequest,
    state: &AppState,
    name: StoredName,
) -> Result<HttpResponse, TailsError> {
    let Some((path, hash)) = state.storage.locate(&name).await? else {
        return Err(TailsError::NotFound);
    };
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
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Err(TailsError::NotFound),
        Err(err) => return Err(err.into()),
    };
    let mut response = file
        .use_etag(false)
        .use_last_modified(true)
        .disable_content_disposition()
        .set_content_type(mime::APPLICATION_OCTET_STREAM)
        .into_response(req);
    if matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT | StatusCode::NOT_MODIFIED
    ) {
        add_cache_headers(&mut response, &etag);
        state.counters.downloads.inc();
    }
    Ok(response)
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
