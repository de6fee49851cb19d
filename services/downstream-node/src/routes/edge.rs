//! What every API request passes first: the per-IP and per-token rate limits (429 in the
//! service's error format, with `Retry-After`) and CORS for the read-only status routes.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError as _, web};

use super::PREFIXES;
use crate::app::AppState;
use crate::domain::FarmerToken;
use crate::error::Error;
use crate::ratelimit::retry_after_secs;

/// Which origins may read the status routes from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    /// No CORS headers: browsers on other origins cannot read the answers.
    None,
    /// `Access-Control-Allow-Origin: *` (the answers are public and use no credentials).
    Any,
    /// Only these origins (exact `scheme://host[:port]`), echoed back with `Vary: Origin`.
    Origins(Vec<String>),
}

impl CorsPolicy {
    /// `*`, a comma-separated list of origins, or empty for none.
    pub fn parse(text: &str) -> Self {
        let origins: Vec<String> = text
            .split(',')
            .map(|origin| origin.trim().trim_end_matches('/'))
            .filter(|origin| !origin.is_empty())
            .map(str::to_owned)
            .collect();
        if origins.iter().any(|origin| origin == "*") {
            CorsPolicy::Any
        } else if origins.is_empty() {
            CorsPolicy::None
        } else {
            CorsPolicy::Origins(origins)
        }
    }

    /// The `Access-Control-Allow-Origin` value for a request from `origin`, if allowed.
    fn allow(&self, origin: Option<&str>) -> Option<HeaderValue> {
        match (self, origin) {
            (CorsPolicy::Any, _) => Some(HeaderValue::from_static("*")),
            (CorsPolicy::Origins(list), Some(origin)) if list.iter().any(|o| o == origin) => {
                HeaderValue::from_str(origin).ok()
            }
            _ => None,
        }
    }
}

/// Headers a dashboard script may read besides the simple ones.
const EXPOSE: &str = "ETag, X-Total-Count, Retry-After";

/// The path below the mount point (`/status/list/...`).
fn relative(path: &str) -> &str {
    PREFIXES
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix))
        .unwrap_or(path)
}

fn is_status(relative: &str) -> bool {
    relative == "/status" || relative.starts_with("/status/")
}

/// The farmer token of a token route, when it is well formed (others are answered 400/404
/// anyway and only count against the IP).
fn token_of(relative: &str) -> Option<&str> {
    let mut segments = relative.trim_start_matches('/').split('/');
    let route = segments.next()?;
    let token = segments.next()?;
    (matches!(route, "heartbeat" | "chunk" | "challenge" | "answer")
        && FarmerToken::parse(token).is_some())
    .then_some(token)
}

pub async fn guard<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let cors = req.app_data::<web::Data<CorsPolicy>>().cloned();
    let cors = cors
        .as_ref()
        .map_or(&CorsPolicy::None, |policy| policy.get_ref());
    let path = relative(req.path()).to_owned();
    let status_route = is_status(&path);
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let allow = if status_route {
        cors.allow(origin.as_deref())
    } else {
        None
    };
    let vary = matches!(cors, CorsPolicy::Origins(_)) && status_route;

    let ip = super::extract::resolve_client(
        &state.settings.trusted_proxies,
        req.peer_addr(),
        req.headers(),
    );
    if let Err(wait) = state.limits.check(ip, token_of(&path)) {
        let secs = retry_after_secs(wait);
        let mut response = Error::RateLimited(secs).error_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        add_cors(response.headers_mut(), allow, vary);
        return Ok(req.into_response(response));
    }

    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight
        && status_route
        && let Some(allow) = allow
    {
        let mut response = HttpResponse::NoContent().finish();
        let headers = response.headers_mut();
        add_cors(headers, Some(allow), vary);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, OPTIONS"),
        );
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static("If-None-Match"),
        );
        headers.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
        return Ok(req.into_response(response));
    }

    let mut response = next.call(req).await?.map_into_boxed_body();
    add_cors(response.headers_mut(), allow, vary);
    Ok(response)
}

fn add_cors(headers: &mut HeaderMap, allow: Option<HeaderValue>, vary: bool) {
    if vary {
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
    }
    if let Some(allow) = allow {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSE),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies() {
        assert_eq!(CorsPolicy::parse(""), CorsPolicy::None);
        assert_eq!(CorsPolicy::parse(" , "), CorsPolicy::None);
        assert_eq!(CorsPolicy::parse("*"), CorsPolicy::Any);
        let list = CorsPolicy::parse("https://a.example, https://b.example/");
        assert_eq!(
            list,
            CorsPolicy::Origins(vec!["https://a.example".into(), "https://b.example".into()])
        );
        assert!(list.allow(Some("https://b.example")).is_some());
        assert!(list.allow(Some("https://c.example")).is_none());
        assert!(list.allow(None).is_none());
        assert_eq!(CorsPolicy::Any.allow(None).unwrap(), "*");
        assert!(CorsPolicy::None.allow(Some("https://a.example")).is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(relative("/api/downstream/v1/status/list"), "/status/list");
        assert_eq!(relative("/api/downstream/status/show/x"), "/status/show/x");
        assert!(is_status("/status/summary"));
        assert!(!is_status("/statusx"));
        assert!(!is_status("/chunk/abc"));
        let token = "0123456789abcdef0123456789abcdef";
        assert_eq!(token_of(&format!("/chunk/{token}/1000")), Some(token));
        assert_eq!(token_of(&format!("/answer/{token}")), Some(token));
        assert_eq!(token_of(&format!("/status/show/{token}")), None);
        assert_eq!(token_of("/chunk/nonsense"), None);
        assert_eq!(token_of("/new/1abc"), None);
    }
}
