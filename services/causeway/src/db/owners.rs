use diesel::prelude::*;
use diesel::sql_types::Text;
use service_kit::db::{Backend, DbConnection};

use super::schema::owners;
use crate::domain::Owner;

/// Registers an owner unless it exists; the first registration's delegate stays.
pub fn ensure(
    conn: &mut DbConnection,
    address: &str,
    delegate: &str,
    contact: &str,
    now: i64,
) -> QueryResult<()> {
    let inserted = diesel::insert_into(owners::table)
        .values((
            owners::address.eq(address),
            owners::delegate.eq(delegate),
            owners::contact.eq(contact),
            owners::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(err) if !super::is_unique_violation(&err) => Err(err),
        _ => Ok(()),
    }
}

pub fn find(conn: &mut DbConnection, address: &str) -> QueryResult<Option<Owner>> {
    owners::table
        .find(address)
        .select((owners::address, owners::delegate))
        .first::<(String, String)>(conn)
        .optional()
        .map(|row| row.map(|(address, delegate)| Owner { address, delegate }))
}

#[derive(QueryableByName)]
struct LockedOwner {
    #[diesel(sql_type = Text)]
    address: String,
    #[diesel(sql_type = Text)]
    delegate: String,
}

/// Reads the owner and, inside a transaction, locks its row until commit: every write to an
/// owner's documents, nonce and buckets goes through here, so they are serialised per owner
/// while different owners proceed in parallel. SQLite's immediate transaction already
/// serialises all writers.
pub fn lock(conn: &mut DbConnection, address: &str) -> QueryResult<Option<Owner>> {
    let sql = match conn.backend() {
        Backend::Sqlite => return find(conn, address),
        Backend::Postgres => "SELECT address, delegate FROM owners WHERE address = $1 FOR UPDATE",
        Backend::Mysql => "SELECT address, delegate FROM owners WHERE address = ? FOR UPDATE",
    };
    let rows: Vec<LockedOwner> = diesel::sql_query(sql).bind::<Text, _>(address).load(conn)?;
    Ok(rows.into_iter().next().map(|row| Owner {
        address: row.address,
        delegate: row.delegate,
    }))
}
