//! `X-Request-Id` on every answer: the client's own when it sent a usable one, else a new one.
//! The id is in the request's log line and goes on to every ledger call made for the request
//! (see `ledger_client::request_id`).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use ledger_client::request_id::{HEADER, scope};

/// Longest client-given id kept; longer ones (or ones with odd characters) are replaced, so
/// a client cannot write arbitrary text into our logs.
const MAX_LEN: usize = 128;

pub(crate) async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| usable(id))
        .map_or_else(new_id, str::to_owned);
    let header = HeaderValue::from_str(&id);
    let mut response = scope(id, next.call(req)).await?;
    if let Ok(value) = header {
        response
            .headers_mut()
            .insert(HeaderName::from_static(HEADER), value);
    }
    Ok(response)
}

fn usable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

/// 32 hex digits: a per-process random prefix and a counter, unique without a lock.
pub fn new_id() -> String {
    static PREFIX: OnceLock<u64> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        hasher.write_u32(std::process::id());
        hasher.finish()
    });
    format!("{prefix:016x}{:016x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ids_are_kept_only_when_harmless() {
        assert!(usable("3f2c1a9e-1b2c-4d5e-8f90-0123456789ab"));
        assert!(usable("req_42"));
        assert!(!usable(""));
        assert!(!usable("has space"));
        assert!(!usable("line\nbreak"));
        assert!(!usable(&"x".repeat(MAX_LEN + 1)));
        let (a, b) = (new_id(), new_id());
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(usable(&a));
    }
}
