//! Tables, and the operations on them that must happen together. Every function takes the
//! connection it runs on; callers decide the transaction.

pub mod accounts;
pub mod buckets;
pub mod deposits;
pub mod documents;
pub mod kv;
pub mod nonces;
pub mod owners;
pub mod schema;
pub mod search;
pub mod stats;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel_migrations::embed_migrations;
use service_kit::db::{Backend, DbConnection, Migrations};

pub const MIGRATIONS: Migrations = Migrations {
    service: "causeway",
    sqlite: embed_migrations!("migrations/sqlite"),
    postgres: embed_migrations!("migrations/postgres"),
    mysql: embed_migrations!("migrations/mysql"),
};

/// A transaction that writes. On SQLite it starts with `BEGIN IMMEDIATE`: a deferred
/// transaction that reads first fails with "database is locked" when it tries to write
/// after another writer, while an immediate one waits its turn (busy_timeout). PostgreSQL
/// and MySQL serialise through row locks ([`owners::lock`]) instead.
pub fn write_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if conn.backend() != Backend::Sqlite {
        return conn.transaction(work);
    }
    conn.batch_execute("BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let finish = if outcome.is_ok() {
        "COMMIT"
    } else {
        "ROLLBACK"
    };
    match conn.batch_execute(finish) {
        Ok(()) => outcome,
        Err(err) => {
            let _ = conn.batch_execute("ROLLBACK");
            Err(err.into())
        }
    }
}

/// Whether a query failed on a unique or primary key.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}
