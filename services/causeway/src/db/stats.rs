//! Totals for `/status`.

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use service_kit::db::{Backend, DbConnection};

#[derive(QueryableByName)]
struct Total {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// `SUM` of a BIGINT is NUMERIC on PostgreSQL and DECIMAL on MySQL; cast it back.
fn total(conn: &mut DbConnection, expression: &str, from: &str) -> QueryResult<i64> {
    let integer = match conn.backend() {
        Backend::Sqlite => "INTEGER",
        Backend::Postgres => "BIGINT",
        Backend::Mysql => "SIGNED",
    };
    let sql = format!("SELECT CAST(COALESCE(SUM({expression}), 0) AS {integer}) AS total {from}");
    let rows: Vec<Total> = diesel::sql_query(sql).load(conn)?;
    Ok(rows.first().map_or(0, |row| row.total))
}

/// Bytes of stored documents (keys and values).
pub fn stored(conn: &mut DbConnection) -> QueryResult<i64> {
    total(conn, "size", "FROM documents")
}

/// Bytes still free in live buckets.
pub fn free(conn: &mut DbConnection, now: i64) -> QueryResult<i64> {
    total(
        conn,
        "bytes_total - bytes_used",
        &format!("FROM buckets WHERE expires_at > {now}"),
    )
}
