//! Statistics upkeep: contracts leaving the online counters when they expire, uptime of every
//! farmer refreshed, and long-expired contracts deleted (`cleandb`).

use std::collections::HashMap;

use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::BATCH;
use super::addresses;
use super::schema::{contracts, tokens};
use crate::domain::Millis;

/// How long after expiring a contract is kept before `cleandb` may delete it.
pub const CACHE_GRACE: Millis = 60_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SweepReport {
    pub expired: usize,
    pub refreshed: usize,
}

/// Takes contracts that expired by `now` out of their farmer's online counters.
pub fn expire_contracts(conn: &mut DbConnection, now: Millis) -> QueryResult<usize> {
    let due: Vec<(i64, i64, i64)> = contracts::table
        .filter(contracts::counted_online.eq(true))
        .filter(contracts::expiration.le(now))
        .select((contracts::id, contracts::token_id, contracts::size))
        .limit(10 * BATCH as i64)
        .load(conn)?;
    let mut per_token: HashMap<i64, (i64, i64)> = HashMap::new();
    for (id, token_id, size) in due {
        // Re-checked in the UPDATE: an answer may have extended it meanwhile.
        let taken = diesel::update(
            contracts::table
                .filter(contracts::id.eq(id))
                .filter(contracts::counted_online.eq(true))
                .filter(contracts::expiration.le(now)),
        )
        .set(contracts::counted_online.eq(false))
        .execute(conn)?;
        if taken == 1 {
            let entry = per_token.entry(token_id).or_default();
            entry.0 += 1;
            entry.1 += size;
        }
    }
    let expired = per_token.values().map(|(count, _)| *count as usize).sum();
    for (token_id, (count, size)) in per_token {
        let (online_contracts, online_size): (i64, i64) = tokens::table
            .find(token_id)
            .select((tokens::online_contracts, tokens::online_size))
            .first(conn)?;
        let remaining = (online_contracts - count).max(0);
        diesel::update(tokens::table.find(token_id))
            .set((
                tokens::online_contracts.eq(remaining),
                tokens::online_size.eq((online_size - size).max(0)),
                tokens::online.eq(remaining > 0),
            ))
            .execute(conn)?;
    }
    Ok(expired)
}

/// Recomputes every farmer's uptime at `now` in one statement, the same formula as
/// [`crate::domain::Uptime::percent`]. `now` is an integer we produced, so formatting it into
/// the SQL is safe; the statement is identical on every backend.
pub fn refresh_uptime(conn: &mut DbConnection, now: Millis) -> QueryResult<usize> {
    let statement = format!(
        "UPDATE tokens SET uptime = CASE WHEN {now} > first_start THEN \
         100.0 * (upsum_closed + CASE WHEN seg_end IS NULL OR seg_start IS NULL THEN 0 \
         WHEN seg_end < {now} THEN seg_end - seg_start ELSE {now} - seg_start END) \
         / ({now} - first_start) ELSE 0 END \
         WHERE first_start IS NOT NULL"
    );
    diesel::sql_query(statement).execute(conn)
}

pub fn sweep(conn: &mut DbConnection, now: Millis) -> QueryResult<SweepReport> {
    let expired = conn.transaction(|conn| {
        crate::node::lock_for_write(conn)?;
        expire_contracts(conn, now)
    })?;
    let refreshed = refresh_uptime(conn, now)?;
    Ok(SweepReport { expired, refreshed })
}

/// Deletes contracts that expired more than [`CACHE_GRACE`] before `now` and gives their
/// bytes back to their addresses. Returns how many were deleted.
pub fn delete_expired(conn: &mut DbConnection, now: Millis) -> QueryResult<usize> {
    conn.transaction(|conn| {
        crate::node::lock_for_write(conn)?;
        expire_contracts(conn, now)?;
        let old: Vec<(i64, i64, i64)> = contracts::table
            .inner_join(tokens::table)
            .filter(contracts::expiration.lt(now - CACHE_GRACE))
            .filter(contracts::counted_online.eq(false))
            .select((contracts::id, tokens::address_id, contracts::size))
            .load(conn)?;
        let mut per_address: HashMap<i64, i64> = HashMap::new();
        for (_, address_id, size) in &old {
            *per_address.entry(*address_id).or_default() += size;
        }
        let ids: Vec<i64> = old.iter().map(|(id, _, _)| *id).collect();
        let mut deleted = 0;
        for batch in ids.chunks(BATCH) {
            deleted += diesel::delete(contracts::table.filter(contracts::id.eq_any(batch)))
                .execute(conn)?;
        }
        for (address_id, bytes) in per_address {
            addresses::release(conn, address_id, bytes)?;
        }
        Ok(deleted)
    })
}
