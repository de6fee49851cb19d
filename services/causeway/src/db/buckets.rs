use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::{buckets, documents};
use crate::domain::bucket::Bucket;
use crate::domain::time::DAY_SECS;

/// The size of a new bucket, from the settings.
#[derive(Debug, Clone, Copy)]
pub struct BucketTerms {
    pub bytes: i64,
    pub transfer_bytes: i64,
    pub term_days: i64,
}

pub fn list(conn: &mut DbConnection, owner: &str) -> QueryResult<Vec<Bucket>> {
    buckets::table
        .filter(buckets::owner.eq(owner))
        .order(buckets::id.asc())
        .select(Bucket::as_select())
        .load(conn)
}

pub fn count(conn: &mut DbConnection, owner: &str) -> QueryResult<i64> {
    buckets::table
        .filter(buckets::owner.eq(owner))
        .count()
        .get_result(conn)
}

pub fn count_free(conn: &mut DbConnection, owner: &str) -> QueryResult<i64> {
    buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::free.eq(true))
        .count()
        .get_result(conn)
}

/// Satoshis the owner has spent on bought buckets.
pub fn spent(conn: &mut DbConnection, owner: &str) -> QueryResult<i64> {
    let prices: Vec<i64> = buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::free.eq(false))
        .select(buckets::price_sats)
        .load(conn)?;
    Ok(prices.iter().sum())
}

pub fn insert(
    conn: &mut DbConnection,
    owner: &str,
    free: bool,
    price_sats: i64,
    terms: BucketTerms,
    now: i64,
) -> QueryResult<()> {
    diesel::insert_into(buckets::table)
        .values((
            buckets::owner.eq(owner),
            buckets::free.eq(free),
            buckets::created_at.eq(now),
            buckets::expires_at.eq(now.saturating_add(terms.term_days.saturating_mul(DAY_SECS))),
            buckets::bytes_total.eq(terms.bytes),
            buckets::bytes_used.eq(0),
            buckets::transfer_total.eq(terms.transfer_bytes),
            buckets::transfer_used.eq(0),
            buckets::price_sats.eq(price_sats),
        ))
        .execute(conn)?;
    Ok(())
}

/// Debits `size` bytes of storage from one of the owner's live buckets with room, the one
/// expiring first (so bought capacity is used before it lapses); its id, or `None` when no
/// bucket has room. The update re-checks the room, so it never overfills even unlocked.
pub fn charge_storage(
    conn: &mut DbConnection,
    owner: &str,
    size: i64,
    now: i64,
) -> QueryResult<Option<i64>> {
    let candidates: Vec<i64> = buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::expires_at.gt(now))
        .filter((buckets::bytes_used + size).le(buckets::bytes_total))
        .order((buckets::expires_at.asc(), buckets::id.asc()))
        .select(buckets::id)
        .limit(4)
        .load(conn)?;
    for id in candidates {
        let charged = diesel::update(
            buckets::table
                .find(id)
                .filter((buckets::bytes_used + size).le(buckets::bytes_total)),
        )
        .set(buckets::bytes_used.eq(buckets::bytes_used + size))
        .execute(conn)?;
        if charged == 1 {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

pub fn refund_storage(conn: &mut DbConnection, bucket: i64, size: i64) -> QueryResult<()> {
    diesel::update(buckets::table.find(bucket))
        .set(buckets::bytes_used.eq(buckets::bytes_used - size))
        .execute(conn)?;
    Ok(())
}

/// Debits `bytes` of transfer from `preferred` if it is live with room, else from another of
/// the owner's live buckets; `false` when none has room. Each debit is one conditional
/// UPDATE, atomic on every backend, so concurrent reads never overdraw a bucket.
pub fn charge_transfer(
    conn: &mut DbConnection,
    preferred: i64,
    owner: &str,
    bytes: i64,
    now: i64,
) -> QueryResult<bool> {
    if debit_transfer(conn, preferred, bytes, now)? {
        return Ok(true);
    }
    let others: Vec<i64> = buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::id.ne(preferred))
        .filter(buckets::expires_at.gt(now))
        .filter((buckets::transfer_used + bytes).le(buckets::transfer_total))
        .order((buckets::expires_at.asc(), buckets::id.asc()))
        .select(buckets::id)
        .limit(4)
        .load(conn)?;
    for id in others {
        if debit_transfer(conn, id, bytes, now)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn debit_transfer(conn: &mut DbConnection, id: i64, bytes: i64, now: i64) -> QueryResult<bool> {
    let debited = diesel::update(
        buckets::table
            .find(id)
            .filter(buckets::expires_at.gt(now))
            .filter((buckets::transfer_used + bytes).le(buckets::transfer_total)),
    )
    .set(buckets::transfer_used.eq(buckets::transfer_used + bytes))
    .execute(conn)?;
    Ok(debited == 1)
}

/// Moves the owner's documents out of expired buckets into live ones with room; those
/// that do not fit stay where they are (kept, still readable, not writable). Returns how
/// many moved. Runs under the owner's lock.
pub fn relocate_expired(conn: &mut DbConnection, owner: &str, now: i64) -> QueryResult<usize> {
    let expired: Vec<i64> = buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::expires_at.le(now))
        .filter(buckets::bytes_used.gt(0))
        .select(buckets::id)
        .load(conn)?;
    if expired.is_empty() {
        return Ok(0);
    }
    let stranded: Vec<(String, i64, i64)> = documents::table
        .filter(documents::bucket_id.eq_any(&expired))
        .select((documents::doc_key, documents::bucket_id, documents::size))
        .order(documents::doc_key.asc())
        .load(conn)?;
    let mut moved = 0;
    for (key, from, size) in stranded {
        let Some(to) = charge_storage(conn, owner, size, now)? else {
            continue;
        };
        refund_storage(conn, from, size)?;
        diesel::update(documents::table.find(&key))
            .set(documents::bucket_id.eq(to))
            .execute(conn)?;
        moved += 1;
    }
    Ok(moved)
}
