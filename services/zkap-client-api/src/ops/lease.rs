//! Lease maintenance: what the storage client can spend, and the runs it reports.

use crate::app::AppState;
use crate::db::{lease, tokens};
use crate::domain::lease::Spending;
use crate::domain::time;
use crate::error::Error;
use crate::ops::{self, Queries as _};

/// Spendable tokens and the latest finished run.
pub async fn status(state: &AppState) -> Result<(u64, Option<Spending>), Error> {
    state
        .db
        .query(|conn| Ok((tokens::spendable_count(conn)?, lease::latest(conn)?)))
        .await
}

/// A run finished now, needing `count` passes.
pub async fn record(state: &AppState, count: u64) -> Result<Spending, Error> {
    let spending = Spending {
        when: time::now(),
        count,
    };
    ops::write(&state.db, move |conn| Ok(lease::record(conn, spending)?)).await?;
    Ok(spending)
}
