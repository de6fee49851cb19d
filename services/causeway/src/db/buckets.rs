use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use service_kit::db::prepared::{Bind, Statement};
use service_kit::db::{Backend, DbConnection};

use super::schema::{buckets, documents};
use crate::domain::bucket::{Bucket, BucketTerms};
use crate::domain::time::DAY_SECS;

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
/// When the first of the owner's buckets live at `now` expires; `None` without any.
pub fn first_expiry(conn: &mut DbConnection, owner: &str, now: i64) -> QueryResult<Option<i64>> {
    buckets::table
        .filter(buckets::owner.eq(owner))
        .filter(buckets::expires_at.gt(now))
        .select(diesel::dsl::min(buckets::expires_at))
        .get_result(conn)
}

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
    if conn.backend() == Backend::Postgres {
        // One round trip: choose and debit in one statement.
        let binds = [
            Bind::Int(size),
            Bind::Text(owner),
            Bind::Int(now),
            Bind::Int(size),
            Bind::Int(size),
        ];
        return Statement::<BigInt>::new(
            "UPDATE buckets SET bytes_used = bytes_used + ? WHERE id = (SELECT id FROM buckets \
             WHERE owner = ? AND expires_at > ? AND bytes_used + ? <= bytes_total \
             ORDER BY expires_at, id LIMIT 1) AND bytes_used + ? <= bytes_total RETURNING id",
            &binds,
        )
        .get_result(conn)
        .optional();
    }
    // Hand-written: diesel's `.limit(4)` was prepared afresh on every call (a tenth of
    // SQLite's write thread in signed puts).
    let binds = [Bind::Text(owner), Bind::Int(now), Bind::Int(size)];
    let candidates: Vec<i64> = Statement::<BigInt>::new(
        "SELECT id FROM buckets WHERE owner = ? AND expires_at > ? \
         AND bytes_used + ? <= bytes_total ORDER BY expires_at, id LIMIT 4",
        &binds,
    )
    .load(conn)?;
    for id in candidates {
        let binds = [Bind::Int(size), Bind::Int(id), Bind::Int(size)];
        let charged = Statement::<()>::new(
            "UPDATE buckets SET bytes_used = bytes_used + ? WHERE id = ? \
             AND bytes_used + ? <= bytes_total",
            &binds,
        )
        .execute(conn)?;
        if charged == 1 {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

pub fn refund_storage(conn: &mut DbConnection, bucket: i64, size: i64) -> QueryResult<()> {
    let binds = [Bind::Int(size), Bind::Int(bucket)];
    Statement::<()>::new(
        "UPDATE buckets SET bytes_used = bytes_used - ? WHERE id = ?",
        &binds,
    )
    .execute(conn)?;
    Ok(())
}

/// Transfer served and not yet written: per owner, bytes per bucket of the documents read.
pub type Served = BTreeMap<String, BTreeMap<i64, i64>>;

/// Writes the transfer one replica served (see `crate::transfer`), all of it, in the
/// caller's transaction. Each owner's bytes go to the bucket of the document read while it
/// has room, then to the owner's other live buckets in expiry order; what is left (the
/// overshoot concurrent replicas allow, bounded in the README) is charged past the total of
/// the document's bucket, or of the owner's first live bucket when that one has expired,
/// so the books stay exact. The owners are locked first, in address order, as puts lock
/// them: no deadlock with puts or with another replica's flush.
pub fn record_transfer(conn: &mut DbConnection, served: &Served, now: i64) -> QueryResult<()> {
    let owners: Vec<&str> = served.keys().map(String::as_str).collect();
    for chunk in owners.chunks(CHUNK) {
        super::owners::lock_all(conn, chunk)?;
        let live: Vec<(i64, String, i64)> = buckets::table
            .filter(buckets::owner.eq_any(chunk))
            .filter(buckets::expires_at.gt(now))
            .order((
                buckets::owner.asc(),
                buckets::expires_at.asc(),
                buckets::id.asc(),
            ))
            .select((
                buckets::id,
                buckets::owner,
                buckets::transfer_total - buckets::transfer_used,
            ))
            .load(conn)?;
        let mut charges = BTreeMap::<i64, i64>::new();
        for owner in chunk {
            let Some(pending) = served.get(*owner) else {
                continue;
            };
            let rooms: Vec<(i64, i64)> = live
                .iter()
                .filter(|(_, o, _)| o == owner)
                .map(|(id, _, room)| (*id, *room))
                .collect();
            for (bucket, bytes) in distribute(pending, &rooms) {
                *charges.entry(bucket).or_default() += bytes;
            }
        }
        for (bucket, bytes) in charges {
            let binds = [Bind::Int(bytes), Bind::Int(bucket)];
            Statement::<()>::new(
                "UPDATE buckets SET transfer_used = transfer_used + ? WHERE id = ?",
                &binds,
            )
            .execute(conn)?;
        }
    }
    Ok(())
}

/// Owners per statement when a flush locks and reads them.
const CHUNK: usize = 500;

/// Where an owner's pending transfer goes: `pending` is bytes per bucket of the documents
/// read, `live` the owner's live buckets `(id, room)` in the order they are drawn from.
/// Every byte is charged somewhere.
pub fn distribute(pending: &BTreeMap<i64, i64>, live: &[(i64, i64)]) -> BTreeMap<i64, i64> {
    let mut room: Vec<(i64, i64)> = live.to_vec();
    let mut charges = BTreeMap::<i64, i64>::new();
    for (&preferred, &bytes) in pending {
        let mut left = bytes;
        if let Some((_, r)) = room.iter_mut().find(|(id, _)| *id == preferred) {
            let take = left.min((*r).max(0));
            *r -= take;
            left -= take;
            if take > 0 {
                *charges.entry(preferred).or_default() += take;
            }
        }
        for (id, r) in room.iter_mut() {
            if left == 0 {
                break;
            }
            let take = left.min((*r).max(0));
            if take > 0 {
                *r -= take;
                left -= take;
                *charges.entry(*id).or_default() += take;
            }
        }
        if left > 0 {
            let target = if live.iter().any(|(id, _)| *id == preferred) {
                preferred
            } else {
                live.first().map_or(preferred, |(id, _)| *id)
            };
            *charges.entry(target).or_default() += left;
        }
    }
    charges
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_goes_to_the_read_bucket_then_the_others_then_past_the_quota() {
        let pending = BTreeMap::from([(2, 300), (9, 50)]);
        // Bucket 2 has 100 left, 3 has 150; 9 (expired) is not live. What 2 and 3 cannot
        // hold goes past the total of 2 (read there) and of 3 (the first live bucket).
        let charges = distribute(&pending, &[(3, 150), (2, 100)]);
        assert_eq!(charges, BTreeMap::from([(2, 100 + 50), (3, 150 + 50)]));
        assert_eq!(charges.values().sum::<i64>(), 350);
        // No live bucket at all: charged where it was read.
        assert_eq!(
            distribute(&pending, &[]),
            BTreeMap::from([(2, 300), (9, 50)])
        );
        // An overdrawn bucket gives nothing and takes no more unless it is the last resort.
        let charges = distribute(&BTreeMap::from([(4, 10)]), &[(4, -5), (5, 3)]);
        assert_eq!(charges, BTreeMap::from([(4, 7), (5, 3)]));
    }
}
