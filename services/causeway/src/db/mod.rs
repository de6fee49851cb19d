//! Queries: functions of a connection returning diesel results. Callers (`crate::ops`) decide
//! the transaction.

pub mod batcher;
pub mod buckets;
pub mod deposits;
pub mod documents;
pub mod nonces;
pub mod owners;
pub mod put_batch;
pub mod schema;
pub mod search;
pub mod stats;

use diesel_migrations::embed_migrations;
use service_kit::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    service: "causeway",
    sqlite: embed_migrations!("migrations/sqlite"),
    postgres: embed_migrations!("migrations/postgres"),
    mysql: embed_migrations!("migrations/mysql"),
};

/// Whether a query failed on a unique or primary key.
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// SQLite's `PRAGMA data_version` of this connection: it changes when another connection
/// commits to the database file.
pub fn data_version(conn: &mut service_kit::db::DbConnection) -> diesel::QueryResult<i64> {
    use diesel::RunQueryDsl;
    service_kit::db::prepared::Statement::<(diesel::sql_types::BigInt,)>::new(
        "PRAGMA data_version",
        &[],
    )
    .get_result::<(i64,)>(conn)
    .map(|(version,)| version)
}
