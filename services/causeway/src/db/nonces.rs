use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::{nonces, used_messages};

/// The owner's nonce and when it was issued.
pub fn current(conn: &mut DbConnection, owner: &str) -> QueryResult<Option<(String, i64)>> {
    nonces::table
        .find(owner)
        .select((nonces::nonce, nonces::created_at))
        .first(conn)
        .optional()
}

/// Replaces the owner's nonce; the requests remembered under the old one can no longer
/// validate, so they are forgotten.
pub fn replace(conn: &mut DbConnection, owner: &str, nonce: &str, now: i64) -> QueryResult<()> {
    clear(conn, owner)?;
    diesel::insert_into(nonces::table)
        .values((
            nonces::owner.eq(owner),
            nonces::nonce.eq(nonce),
            nonces::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn clear(conn: &mut DbConnection, owner: &str) -> QueryResult<()> {
    diesel::delete(nonces::table.find(owner)).execute(conn)?;
    diesel::delete(used_messages::table.filter(used_messages::owner.eq(owner))).execute(conn)?;
    Ok(())
}

/// Records an accepted request; `false` when the same signed text was recorded before (a
/// replay).
pub fn remember(conn: &mut DbConnection, owner: &str, digest: &str) -> QueryResult<bool> {
    let inserted = diesel::insert_into(used_messages::table)
        .values((
            used_messages::owner.eq(owner),
            used_messages::digest.eq(digest),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        Err(err) if super::is_unique_violation(&err) => Ok(false),
        Err(err) => Err(err),
    }
}
