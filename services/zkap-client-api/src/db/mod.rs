//! Tables and their queries. Every function takes a connection, returns a diesel result and
//! runs inside `Database::run` / `Database::transaction`, off the async executor.

pub mod lease;
pub mod pass_requests;
pub mod schema;
pub mod tokens;
pub mod vouchers;

use diesel_migrations::embed_migrations;
use service_kit::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    service: "zkap-client-api",
    sqlite: embed_migrations!("migrations/sqlite"),
    postgres: embed_migrations!("migrations/postgres"),
    mysql: embed_migrations!("migrations/mysql"),
};

/// Whether a query failed only because the row already exists.
pub(crate) fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A stored value no domain type can hold.
fn corrupt(message: String) -> diesel::result::Error {
    diesel::result::Error::DeserializationError(message.into())
}
