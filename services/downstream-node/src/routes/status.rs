//! `/status/list...`, `/status/show/<id>` and `/status/summary`: JSON with a strong `ETag`
//! (a digest of the body), a short `Cache-Control`, and 304 on a matching `If-None-Match`.
//! The statistics only change on answers, chunks and sweeps, so dashboards polling every few
//! seconds mostly get 304s.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::domain::{ListQuery, ListQueryError};
use crate::error::Error;
use crate::ops::status;

/// The paging total of a list, also as a header for clients that do not read the body.
pub const TOTAL_COUNT: &str = "x-total-count";

pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let tail = req.match_info().get("tail").unwrap_or("");
    let query = ListQuery::parse(tail).map_err(|err| match err {
        ListQueryError::InvalidSort => Error::InvalidSort,
        ListQueryError::NoRoute => Error::NotFound,
    })?;
    let list = status::list(&state, query).await?;
    let total = list.total;
    cached(&req, &state, &list, Some(total))
}

pub async fn show(
    req: HttpRequest,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let farmer = status::show(&state, &id).await?;
    cached(&req, &state, &farmer, None)
}

pub async fn summary(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let summary = status::summary(&state).await?;
    cached(&req, &state, &summary, None)
}

fn cached<T: Serialize>(
    req: &HttpRequest,
    state: &AppState,
    value: &T,
    total: Option<i64>,
) -> Result<HttpResponse, Error> {
    let body = serde_json::to_vec(value).map_err(|err| Error::Internal(err.to_string()))?;
    let tag = etag(&body);
    let matched = if_none_match(req, &tag);
    let mut response = HttpResponse::build(if matched {
        StatusCode::NOT_MODIFIED
    } else {
        StatusCode::OK
    });
    response.insert_header((header::ETAG, tag)).insert_header((
        header::CACHE_CONTROL,
        cache_control(state.settings.status_max_age),
    ));
    if let Some(total) = total {
        response.insert_header((TOTAL_COUNT, total.to_string()));
    }
    Ok(if matched {
        response.finish()
    } else {
        response.content_type("application/json").body(body)
    })
}

/// `"<32 hex>"`: the first 16 bytes of SHA-256 over the exact body bytes (the body holds
/// every header value that can change with it, `total` included).
pub fn etag(body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

fn cache_control(max_age: u64) -> String {
    if max_age == 0 {
        "no-cache".to_owned()
    } else {
        format!("public, max-age={max_age}")
    }
}

/// RFC 9110 §13.1.2: weak comparison over a comma-separated list, or `*`.
fn if_none_match(req: &HttpRequest, tag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|value: &HeaderValue| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn etags_and_matching() {
        let tag = etag(b"{}");
        assert_eq!(tag.len(), 34);
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert_ne!(tag, etag(b"{ }"));
        let req = |value: &str| {
            TestRequest::default()
                .insert_header((header::IF_NONE_MATCH, value.to_owned()))
                .to_http_request()
        };
        assert!(if_none_match(&req(&tag), &tag));
        assert!(if_none_match(&req(&format!("\"x\", W/{tag}")), &tag));
        assert!(if_none_match(&req("*"), &tag));
        assert!(!if_none_match(&req("\"other\""), &tag));
        assert!(!if_none_match(
            &TestRequest::default().to_http_request(),
            &tag
        ));
        assert_eq!(cache_control(0), "no-cache");
        assert_eq!(cache_control(5), "public, max-age=5");
    }
}
