//! The statements of a PostgreSQL put batch (`ops::put_batch`): six whatever the number of
//! puts. Rows travel as JSON parameters, so each statement has a fixed text (prepared once).

use diesel::RunQueryDsl as _;
use diesel::sql_types::{BigInt, Bool, Integer, Text};
use serde::Serialize;
use service_kit::db::DbConnection;
use service_kit::db::prepared::{Bind, Statement};

use super::documents::NewDocument;
use super::owners::{BeforePut, BeforePutRow, BeforePutSql};
use crate::domain::Owner;

/// Locks the owners (`addresses`, comma-separated, in the order every writer locks them)
/// until commit; those that exist.
pub fn lock_owners(conn: &mut DbConnection, addresses: &str) -> diesel::QueryResult<Vec<Owner>> {
    let binds = [Bind::Text(addresses)];
    let locked: Vec<(String, String, bool)> = Statement::<(Text, Text, Bool)>::new(
        "SELECT address, delegate, delegate_bound FROM owners \
         WHERE address = ANY(string_to_array(?, ',')) ORDER BY address FOR UPDATE",
        &binds,
    )
    .load(conn)?;
    Ok(locked
        .into_iter()
        .map(|(address, delegate, bound)| Owner {
            address,
            delegate,
            bound,
        })
        .collect())
}

/// One put of the batch, as [`facts`] asks about it.
#[derive(Serialize)]
pub struct Asked<'a> {
    pub i: usize,
    pub owner: &'a str,
    pub key: &'a str,
    pub digest: &'a str,
}

/// What the rules need about each put (`i` names it), as a put alone reads it
/// ([`super::owners::before_put`]); `fresh` says whether its digest is unused so far.
pub fn facts(
    conn: &mut DbConnection,
    asked: &[Asked<'_>],
    now: i64,
) -> diesel::QueryResult<Vec<(i32, BeforePut)>> {
    let asked = json(asked)?;
    // Each lookup is a `LATERAL ... LIMIT 1`, so it stays one index probe per put: as plain
    // joins and `EXISTS`, PostgreSQL hashed whole tables (every used message, every nonce)
    // for each batch.
    let binds = [Bind::Text(&asked), Bind::Int(now)];
    let rows: Vec<(i32, BeforePutRow)> = Statement::<(Integer, BeforePutSql)>::new(
        "SELECT x.i, n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
         s.owner IS NOT NULL, u.owner IS NULL \
         FROM json_to_recordset(CAST(? AS json)) AS x(i int, owner text, key text, digest text) \
         LEFT JOIN LATERAL (SELECT nonce, created_at FROM nonces \
         WHERE nonces.owner = x.owner LIMIT 1) n ON true \
         LEFT JOIN LATERAL (SELECT owner, bucket_id, size FROM documents \
         WHERE documents.doc_key = x.key LIMIT 1) d ON true \
         LEFT JOIN LATERAL (SELECT owner FROM buckets b WHERE b.owner = x.owner \
         AND b.expires_at <= ? AND b.bytes_used > 0 LIMIT 1) s ON true \
         LEFT JOIN LATERAL (SELECT owner FROM used_messages u WHERE u.owner = x.owner \
         AND u.digest = x.digest LIMIT 1) u ON true",
        &binds,
    )
    .load(conn)?;
    Ok(rows.into_iter().map(|(i, row)| (i, row.into())).collect())
}

/// The owners' live buckets `(id, owner, used, total)`, per owner in the order storage is
/// drawn from.
pub fn live_buckets(
    conn: &mut DbConnection,
    addresses: &str,
    now: i64,
) -> diesel::QueryResult<Vec<(i64, String, i64, i64)>> {
    let binds = [Bind::Text(addresses), Bind::Int(now)];
    Statement::<(BigInt, Text, BigInt, BigInt)>::new(
        "SELECT id, owner, bytes_used, bytes_total FROM buckets \
         WHERE owner = ANY(string_to_array(?, ',')) AND expires_at > ? \
         ORDER BY owner, expires_at, id",
        &binds,
    )
    .load(conn)
}

#[derive(Serialize)]
pub struct Used<'a> {
    pub owner: &'a str,
    pub digest: &'a str,
}

#[derive(Serialize)]
pub struct Delta {
    pub id: i64,
    pub delta: i64,
}

/// Everything a batch decided to write.
#[derive(Default)]
pub struct Writes<'a> {
    pub used: Vec<Used<'a>>,
    pub deltas: Vec<Delta>,
    pub inserts: Vec<NewDocument<'a>>,
    pub updates: Vec<NewDocument<'a>>,
}

/// Every write of the batch in one statement (data-modifying CTEs all run, to completion, on
/// rows that do not overlap: distinct keys, one delta per bucket).
pub fn write(conn: &mut DbConnection, writes: &Writes<'_>) -> diesel::QueryResult<()> {
    let rows = [
        json(&writes.used)?,
        json(&writes.deltas)?,
        json(&writes.inserts)?,
        json(&writes.updates)?,
    ];
    let binds = rows.each_ref().map(|rows| Bind::Text(rows));
    Statement::<()>::new(
        "WITH used AS (INSERT INTO used_messages (owner, digest) SELECT owner, digest \
         FROM json_to_recordset(CAST(? AS json)) AS x(owner text, digest text)), \
         charged AS (UPDATE buckets SET bytes_used = buckets.bytes_used + x.delta \
         FROM json_to_recordset(CAST(? AS json)) AS x(id bigint, delta bigint) \
         WHERE buckets.id = x.id), \
         inserted AS (INSERT INTO documents \
         (doc_key, value, owner, bucket_id, size, testnet, updated_at) \
         SELECT key, value, owner, bucket_id, size, testnet, updated_at \
         FROM json_to_recordset(CAST(? AS json)) AS x(key text, value text, owner text, \
         bucket_id bigint, size bigint, testnet boolean, updated_at bigint)), \
         updated AS (UPDATE documents SET value = x.value, bucket_id = x.bucket_id, \
         size = x.size, testnet = x.testnet, updated_at = x.updated_at \
         FROM json_to_recordset(CAST(? AS json)) AS x(key text, value text, owner text, \
         bucket_id bigint, size bigint, testnet boolean, updated_at bigint) \
         WHERE documents.doc_key = x.key) \
         SELECT 1",
        &binds,
    )
    .execute(conn)?;
    Ok(())
}

fn json<T: Serialize + ?Sized>(rows: &T) -> diesel::QueryResult<String> {
    serde_json::to_string(rows)
        .map_err(|err| diesel::result::Error::SerializationError(Box::new(err)))
}
