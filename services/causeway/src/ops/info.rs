//! `/status`.

use crate::AppState;
use crate::db::stats;
use crate::error::Error;

/// Bytes of stored documents, and bytes still free in live buckets.
pub struct Status {
    pub stored: i64,
    pub free: i64,
}

pub async fn status(state: &AppState) -> Result<Status, Error> {
    let now = state.clock().now;
    state
        .query(move |conn| {
            Ok(Status {
                stored: stats::stored(conn)?,
                free: stats::free(conn, now)?,
            })
        })
        .await
}
