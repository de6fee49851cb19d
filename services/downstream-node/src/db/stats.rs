//! Statistics upkeep: contracts leaving the online counters when they expire, uptime of every
//! farmer refreshed, and long-expired contracts deleted (`cleandb`).

use std::collections::BTreeMap;

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

/// Takes contracts that expired by `now` out of their farmer's online counters and gives
/// their bytes back to their address's allocation (`--max-size-per-address` counts only
/// contracts still online). At most `10 * BATCH` contracts per call.
pub fn expire_contracts(conn: &mut DbConnection, now: Millis) -> QueryResult<usize> {
    let due = due_offline(conn, None, now, Some(10 * BATCH as i64))?;
    take_offline(conn, due, now)
}

/// [`expire_contracts`] for the contracts of one address only (every one of its tokens):
/// what `/chunk` runs before it measures the room the address has left.
pub fn expire_contracts_of_address(
    conn: &mut DbConnection,
    address_id: i64,
    now: Millis,
) -> QueryResult<usize> {
    let due = due_offline(conn, Some(address_id), now, None)?;
    take_offline(conn, due, now)
}

/// Contracts still counted online that expired by `now` (of one address, when given), by id.
fn due_offline(
    conn: &mut DbConnection,
    address_id: Option<i64>,
    now: Millis,
    limit: Option<i64>,
) -> QueryResult<Vec<Due>> {
    let mut query = contracts::table
        .inner_join(tokens::table)
        .filter(contracts::counted_online.eq(true))
        .filter(contracts::expiration.le(now))
        .order(contracts::id)
        .select((
            contracts::id,
            contracts::token_id,
            tokens::address_id,
            contracts::size,
        ))
        .into_boxed();
    if let Some(address_id) = address_id {
        query = query.filter(tokens::address_id.eq(address_id));
    }
    if let Some(limit) = limit {
        query = query.limit(limit);
    }
    query.load(conn)
}

/// `(contract id, token id, address id, size)` of a contract due to go offline.
type Due = (i64, i64, i64, i64);

/// Each contract is taken by a conditional UPDATE, so of two sweeps (or a sweep and a
/// `/chunk`) racing on it only one counts it: the counters and the allocation move exactly
/// once. Rows are locked in one order everywhere (contracts, then tokens, then addresses,
/// each by id), the order `/chunk` and `/answer` take them in, so sweeps on several replicas
/// do not deadlock with them or with each other.
fn take_offline(conn: &mut DbConnection, due: Vec<Due>, now: Millis) -> QueryResult<usize> {
    let mut per_token: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    let mut per_address: BTreeMap<i64, i64> = BTreeMap::new();
    for (id, token_id, address_id, size) in due {
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
            *per_address.entry(address_id).or_default() += size;
        }
    }
    let expired = per_token.values().map(|(count, _)| *count as usize).sum();
    for (token_id, (count, size)) in per_token {
        // Relative to the row as it is now (not as this transaction first read it), so a
        // concurrent `/chunk` or `/answer` of the token is never overwritten.
        diesel::update(tokens::table.find(token_id))
            .set((
                tokens::online_contracts.eq(tokens::online_contracts - count),
                tokens::online_size.eq(tokens::online_size - size),
                tokens::online.eq((tokens::online_contracts - count).gt(0)),
            ))
            .execute(conn)?;
    }
    for (address_id, bytes) in per_address {
        addresses::release(conn, address_id, bytes)?;
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

/// Deletes contracts that expired more than [`CACHE_GRACE`] before `now` (their bytes went
/// back to their address when they expired). Returns how many were deleted. Safe to run on
/// several replicas at once: a contract is deleted once, and only after it was taken offline.
pub fn delete_expired(conn: &mut DbConnection, now: Millis) -> QueryResult<usize> {
    expire_contracts(conn, now)?;
    let ids: Vec<i64> = contracts::table
        .filter(contracts::expiration.lt(now - CACHE_GRACE))
        .filter(contracts::counted_online.eq(false))
        .order(contracts::id)
        .select(contracts::id)
        .load(conn)?;
    let mut deleted = 0;
    for batch in ids.chunks(BATCH) {
        deleted += diesel::delete(
            contracts::table
                .filter(contracts::id.eq_any(batch))
                .filter(contracts::counted_online.eq(false)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}
