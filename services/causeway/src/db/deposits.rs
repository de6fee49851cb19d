use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::deposit_addresses;

/// The owner's deposit addresses, oldest first.
pub fn list(conn: &mut DbConnection, owner: &str) -> QueryResult<Vec<String>> {
    deposit_addresses::table
        .filter(deposit_addresses::owner.eq(owner))
        .order((
            deposit_addresses::created_at.asc(),
            deposit_addresses::address.asc(),
        ))
        .select(deposit_addresses::address)
        .load(conn)
}

pub fn insert(conn: &mut DbConnection, owner: &str, address: &str, now: i64) -> QueryResult<()> {
    diesel::insert_into(deposit_addresses::table)
        .values((
            deposit_addresses::address.eq(address),
            deposit_addresses::owner.eq(owner),
            deposit_addresses::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}
