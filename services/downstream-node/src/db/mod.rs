//! Storage: the schema, the embedded migrations and one repository module per table group.

pub mod addresses;
pub mod contracts;
pub mod lock;
pub mod schema;
pub mod stats;
pub mod tokens;

use diesel_migrations::embed_migrations;
use service_kit::db::Migrations;

pub const MIGRATIONS: Migrations = Migrations {
    service: "downstream-node",
    sqlite: embed_migrations!("migrations/sqlite"),
    postgres: embed_migrations!("migrations/postgres"),
    mysql: embed_migrations!("migrations/mysql"),
};

/// Rows per `IN (...)` list, well under every backend's bind limit.
pub(crate) const BATCH: usize = 500;
