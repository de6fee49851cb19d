//! The id of the request a ledger call is made for: the server's request-id middleware runs
//! each request inside [`scope`], and every client here sends it on as `X-Request-Id`, so one
//! id follows a request through our log and the ledger's.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub const HEADER: &str = "x-request-id";

/// Runs `work` with `id` as the current request id.
pub async fn scope<F: Future>(id: String, work: F) -> F::Output {
    REQUEST_ID.scope(id, work).await
}

/// The current request id, if any (none in background work).
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// `request` with the current request id, when there is one.
pub(crate) fn tag(request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    match current() {
        Some(id) => request.header(HEADER, id),
        None => request,
    }
}
