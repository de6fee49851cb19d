//! A database-wide lock that replicas take without waiting, so that upkeep which only one of
//! them needs to do at a time (the scheduled `cleandb`) runs on one and is skipped by the
//! others. PostgreSQL: a session advisory lock; MySQL/MariaDB: `GET_LOCK` named after the
//! database (its names are server-wide); SQLite: none is needed, the file has one writer.

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use service_kit::db::DbConnection;

/// The upkeep locks this service takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upkeep {
    Cleandb,
}

impl Upkeep {
    /// The PostgreSQL advisory lock key (distinct from service-kit's migration lock).
    fn key(self) -> i64 {
        match self {
            // "dn-clean" in ASCII.
            Upkeep::Cleandb => 0x646e_2d63_6c65_616e,
        }
    }

    /// The MySQL lock name: under 64 characters whatever the database is called.
    fn mysql_name(self) -> &'static str {
        match self {
            Upkeep::Cleandb => "CONCAT('downstream-node.cleandb.', MD5(DATABASE()))",
        }
    }
}

#[derive(QueryableByName)]
struct Locked {
    #[diesel(sql_type = BigInt)]
    locked: i64,
}

/// Takes `lock` on this connection's session if no other session holds it; never waits.
pub fn try_lock(conn: &mut DbConnection, lock: Upkeep) -> QueryResult<bool> {
    let statement = match conn {
        DbConnection::Sqlite(_) => return Ok(true),
        DbConnection::Postgresql(_) => format!(
            "SELECT (CASE WHEN pg_try_advisory_lock({}) THEN 1 ELSE 0 END)::BIGINT AS locked",
            lock.key()
        ),
        DbConnection::Mysql(_) => format!(
            "SELECT CAST(COALESCE(GET_LOCK({}, 0), 0) AS SIGNED) AS locked",
            lock.mysql_name()
        ),
    };
    let row: Locked = diesel::sql_query(statement).get_result(conn)?;
    Ok(row.locked == 1)
}

/// Gives `lock` back (a no-op when this session does not hold it).
pub fn unlock(conn: &mut DbConnection, lock: Upkeep) -> QueryResult<()> {
    let statement = match conn {
        DbConnection::Sqlite(_) => return Ok(()),
        DbConnection::Postgresql(_) => format!("SELECT pg_advisory_unlock({})", lock.key()),
        DbConnection::Mysql(_) => format!("DO RELEASE_LOCK({})", lock.mysql_name()),
    };
    conn.batch_execute(&statement)
}

/// Runs `work` holding `lock`, or returns `Ok(None)` at once when another session holds it.
/// The lock is given back whatever `work` returns.
pub fn exclusive<T, E>(
    conn: &mut DbConnection,
    lock: Upkeep,
    work: impl FnOnce(&mut DbConnection) -> Result<T, E>,
) -> Result<Option<T>, E>
where
    E: From<diesel::result::Error>,
{
    if !try_lock(conn, lock)? {
        return Ok(None);
    }
    let outcome = work(conn);
    if let Err(err) = unlock(conn, lock) {
        // Closing the connection would free it too; until then other replicas skip.
        log::warn!("cannot release the {lock:?} lock: {err}");
    }
    outcome.map(Some)
}
