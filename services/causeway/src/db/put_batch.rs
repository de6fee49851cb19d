//! The statements of a put batch (`ops::put_batch`), on PostgreSQL and MySQL/MariaDB: lock
//! the owners, read what the rules need about every put, read the owners' live buckets,
//! write what was decided. A fixed number of statements whatever the number of puts.

mod mysql;
mod postgres;

use service_kit::db::{Backend, DbConnection};

use super::documents::NewDocument;
use super::owners::BeforePut;
use crate::domain::Owner;

/// An owner as [`lock_owners`] reads it: address, delegate, whether the delegate is bound.
type LockedOwner = (String, String, bool);

/// Locks the owners (`addresses`, in the order every writer locks them) until commit; those
/// that exist.
pub fn lock_owners(conn: &mut DbConnection, addresses: &[&str]) -> diesel::QueryResult<Vec<Owner>> {
    let locked = match conn.backend() {
        Backend::Postgres => postgres::lock_owners(conn.postgres()?, addresses)?,
        _ => mysql::lock_owners(conn, addresses)?,
    };
    Ok(locked
        .into_iter()
        .map(|(address, delegate, bound)| Owner {
            address,
            delegate,
            bound,
        })
        .collect())
}

/// The puts of a batch, column by column, as [`facts`] asks about them; `i` names each.
#[derive(Default)]
pub struct Asked<'a> {
    pub i: Vec<i64>,
    pub owners: Vec<&'a str>,
    pub keys: Vec<&'a str>,
    pub digests: Vec<&'a str>,
}

/// What the rules need about each put (`i` names it), as a put alone reads it
/// ([`super::owners::before_put`]); `fresh` says whether its digest is unused so far.
pub fn facts(
    conn: &mut DbConnection,
    asked: &Asked<'_>,
    now: i64,
) -> diesel::QueryResult<Vec<(i64, BeforePut)>> {
    let rows = match conn.backend() {
        Backend::Postgres => postgres::facts(conn.postgres()?, asked, now)?,
        _ => mysql::facts(conn, asked, now)?,
    };
    Ok(rows.into_iter().map(|(i, row)| (i, row.into())).collect())
}

/// The owners' live buckets `(id, owner, used, total)`, per owner in the order storage is
/// drawn from.
pub fn live_buckets(
    conn: &mut DbConnection,
    addresses: &[&str],
    now: i64,
) -> diesel::QueryResult<Vec<(i64, String, i64, i64)>> {
    match conn.backend() {
        Backend::Postgres => postgres::live_buckets(conn.postgres()?, addresses, now),
        _ => mysql::live_buckets(conn, addresses, now),
    }
}

/// Everything a batch decided to write.
#[derive(Default)]
pub struct Writes<'a> {
    /// The signed messages used, `(owner, digest)`.
    pub used: Vec<(&'a str, &'a str)>,
    /// Bytes added to each bucket, `(id, delta)`.
    pub deltas: Vec<(i64, i64)>,
    pub inserts: Vec<NewDocument<'a>>,
    pub updates: Vec<NewDocument<'a>>,
}

/// Writes what the batch decided (distinct keys, one delta per bucket).
pub fn write(conn: &mut DbConnection, writes: &Writes<'_>) -> diesel::QueryResult<()> {
    match conn.backend() {
        Backend::Postgres => postgres::write(conn.postgres()?, writes),
        _ => mysql::write(conn, writes),
    }
}
