use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use service_kit::db::prepared::{Bind, PgBind, Statement, padded};
use service_kit::db::{Backend, DbConnection};

use super::schema::documents;

/// Where a document is accounted.
#[derive(Debug, Clone, Queryable)]
pub struct Placement {
    pub owner: String,
    pub bucket_id: i64,
    pub size: i64,
}

pub fn placement(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Placement>> {
    documents::table
        .find(key)
        .select((documents::owner, documents::bucket_id, documents::size))
        .first(conn)
        .optional()
}

/// What `/get` needs in one round trip: the value, where it is accounted, and the transfer
/// left in the owner's live buckets as written so far (negative when a flush charged past
/// the quota).
#[derive(Debug, Clone)]
pub struct Readable {
    pub value: String,
    pub owner: String,
    pub bucket_id: i64,
    pub room: i64,
}

pub fn read(conn: &mut DbConnection, key: &str, now: i64) -> QueryResult<Option<Readable>> {
    macro_rules! read_sql {
        ($cast:literal, $end:literal) => {
            concat!(
                "SELECT d.value, d.owner, d.bucket_id, ",
                $cast,
                "COALESCE((SELECT SUM(b.transfer_total - b.transfer_used) FROM buckets b \
                 WHERE b.owner = d.owner AND b.expires_at > ?), 0)",
                $end,
                " FROM documents d WHERE d.doc_key = ?"
            )
        };
    }
    let sql = match conn.backend() {
        Backend::Postgres => read_sql!("CAST(", " AS BIGINT)"),
        Backend::Mysql => read_sql!("CAST(", " AS SIGNED)"),
        Backend::Sqlite => read_sql!("", ""),
    };
    let binds = [Bind::Int(now), Bind::Text(key)];
    let row: Option<(String, String, i64, i64)> =
        Statement::<(Text, Text, BigInt, BigInt)>::new(sql, &binds)
            .get_result(conn)
            .optional()?;
    Ok(row.map(|(value, owner, bucket_id, room)| Readable {
        value,
        owner,
        bucket_id,
        room,
    }))
}

/// A document to write.
pub struct NewDocument<'a> {
    pub key: &'a str,
    pub value: &'a str,
    pub owner: &'a str,
    pub bucket_id: i64,
    pub size: i64,
    pub testnet: bool,
    pub now: i64,
}

pub fn insert(conn: &mut DbConnection, doc: &NewDocument<'_>) -> QueryResult<()> {
    diesel::insert_into(documents::table)
        .values((
            documents::doc_key.eq(doc.key),
            documents::value.eq(doc.value),
            documents::owner.eq(doc.owner),
            documents::bucket_id.eq(doc.bucket_id),
            documents::size.eq(doc.size),
            documents::testnet.eq(doc.testnet),
            documents::updated_at.eq(doc.now),
        ))
        .execute(conn)?;
    Ok(())
}

/// PostgreSQL only: debits the document's size from the owner's live bucket expiring first
/// with room (as [`super::buckets::charge_storage`]) and inserts the document there, in one
/// round trip; the bucket, or `None` when no bucket has room (nothing is written then).
/// `doc.bucket_id` is ignored.
pub fn insert_charged(conn: &mut DbConnection, doc: &NewDocument<'_>) -> QueryResult<Option<i64>> {
    let binds = [
        Bind::Int(doc.size),
        Bind::Text(doc.owner),
        Bind::Int(doc.now),
        Bind::Int(doc.size),
        Bind::Int(doc.size),
        Bind::Text(doc.key),
        Bind::Text(doc.value),
        Bind::Text(doc.owner),
        Bind::Int(doc.size),
        Bind::Bool(doc.testnet),
        Bind::Int(doc.now),
    ];
    Statement::<BigInt>::new(
        "WITH charged AS (UPDATE buckets SET bytes_used = bytes_used + ? \
         WHERE id = (SELECT id FROM buckets WHERE owner = ? AND expires_at > ? \
         AND bytes_used + ? <= bytes_total ORDER BY expires_at, id LIMIT 1) \
         AND bytes_used + ? <= bytes_total RETURNING id) \
         INSERT INTO documents (doc_key, value, owner, bucket_id, size, testnet, updated_at) \
         SELECT ?, ?, ?, charged.id, ?, ?, ? FROM charged RETURNING bucket_id",
        &binds,
    )
    .get_result(conn)
    .optional()
}

pub fn update(conn: &mut DbConnection, doc: &NewDocument<'_>) -> QueryResult<()> {
    let binds = [
        Bind::Text(doc.value),
        Bind::Int(doc.bucket_id),
        Bind::Int(doc.size),
        Bind::Bool(doc.testnet),
        Bind::Int(doc.now),
        Bind::Text(doc.key),
    ];
    Statement::<()>::new(
        "UPDATE documents SET value = ?, bucket_id = ?, size = ?, testnet = ?, updated_at = ? \
         WHERE doc_key = ?",
        &binds,
    )
    .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(documents::table.find(key)).execute(conn)?;
    Ok(())
}

/// [`read`] for many keys in one round trip (PostgreSQL and MySQL); the documents found, by
/// key.
pub fn read_many(
    conn: &mut DbConnection,
    keys: &[&str],
    now: i64,
) -> QueryResult<std::collections::HashMap<String, Readable>> {
    const SELECT: &str = "SELECT d.doc_key, d.value, d.owner, d.bucket_id, \
        CAST(COALESCE((SELECT SUM(b.transfer_total - b.transfer_used) FROM buckets b \
        WHERE b.owner = d.owner AND b.expires_at > ?), 0) AS ";
    type Row = (String, String, String, i64, i64);
    type RowSql = (Text, Text, Text, BigInt, BigInt);
    let rows: Vec<Row> = match conn.backend() {
        Backend::Postgres => {
            let binds = [PgBind::One(Bind::Int(now)), PgBind::Texts(keys)];
            let sql = format!("{SELECT}BIGINT) FROM documents d WHERE d.doc_key = ANY(?)");
            Statement::<RowSql, _>::new(&sql, &binds).load(conn.postgres()?)?
        }
        backend => {
            // A key asked twice is found once.
            let keys = padded(keys);
            let mut binds = vec![Bind::Int(now)];
            binds.extend(keys.iter().map(|key| Bind::Text(key)));
            let cast = if backend == Backend::Mysql {
                "SIGNED"
            } else {
                "BIGINT"
            };
            let marks = vec!["?"; keys.len()].join(", ");
            let sql = format!("{SELECT}{cast}) FROM documents d WHERE d.doc_key IN ({marks})");
            Statement::<RowSql>::new(&sql, &binds).load(conn)?
        }
    };
    Ok(rows
        .into_iter()
        .map(|(key, value, owner, bucket_id, room)| {
            (
                key,
                Readable {
                    value,
                    owner,
                    bucket_id,
                    room,
                },
            )
        })
        .collect())
}
