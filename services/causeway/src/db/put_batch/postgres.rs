//! PostgreSQL: rows travel column by column as array parameters (binary, so PostgreSQL parses
//! no value), so each statement has a fixed text (prepared once), and every write of the
//! batch is one statement.

use diesel::PgConnection;
use diesel::RunQueryDsl as _;
use diesel::sql_types::{BigInt, Bool, Text};
use service_kit::db::prepared::{Bind, PgBind, Statement};

use super::{Asked, LockedOwner, Writes};
use crate::db::documents::NewDocument;
use crate::db::owners::{BeforePutRow, BeforePutSql};

pub fn lock_owners(
    conn: &mut PgConnection,
    addresses: &[&str],
) -> diesel::QueryResult<Vec<LockedOwner>> {
    let binds = [PgBind::Texts(addresses)];
    Statement::<(Text, Text, Bool), _>::new(
        "SELECT address, delegate, delegate_bound FROM owners \
         WHERE address = ANY(?) ORDER BY address FOR UPDATE",
        &binds,
    )
    .load(conn)
}

pub fn facts(
    conn: &mut PgConnection,
    asked: &Asked<'_>,
    now: i64,
) -> diesel::QueryResult<Vec<(i64, BeforePutRow)>> {
    // Each lookup is a `LATERAL ... LIMIT 1`, so it stays one index probe per put: as plain
    // joins and `EXISTS`, PostgreSQL hashed whole tables (every used message, every nonce)
    // for each batch.
    let binds = [
        PgBind::Ints(&asked.i),
        PgBind::Texts(&asked.owners),
        PgBind::Texts(&asked.keys),
        PgBind::Texts(&asked.digests),
        PgBind::One(Bind::Int(now)),
    ];
    Statement::<(BigInt, BeforePutSql), _>::new(
        "SELECT x.i, n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
         s.owner IS NOT NULL, u.owner IS NULL \
         FROM unnest(?, ?, ?, ?) AS x(i, owner, key, digest) \
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
    .load(conn)
}

pub fn live_buckets(
    conn: &mut PgConnection,
    addresses: &[&str],
    now: i64,
) -> diesel::QueryResult<Vec<(i64, String, i64, i64)>> {
    let binds = [PgBind::Texts(addresses), PgBind::One(Bind::Int(now))];
    Statement::<(BigInt, Text, BigInt, BigInt), _>::new(
        "SELECT id, owner, bytes_used, bytes_total FROM buckets \
         WHERE owner = ANY(?) AND expires_at > ? ORDER BY owner, expires_at, id",
        &binds,
    )
    .load(conn)
}

/// Every write of the batch in one statement (data-modifying CTEs all run, to completion, on
/// rows that do not overlap: distinct keys, one delta per bucket).
pub fn write(conn: &mut PgConnection, writes: &Writes<'_>) -> diesel::QueryResult<()> {
    let (used_owners, digests): (Vec<&str>, Vec<&str>) = writes.used.iter().copied().unzip();
    let (buckets, deltas): (Vec<i64>, Vec<i64>) = writes.deltas.iter().copied().unzip();
    let new = Documents::of(&writes.inserts);
    let changed = Documents::of(&writes.updates);
    let binds = [
        PgBind::Texts(&used_owners),
        PgBind::Texts(&digests),
        PgBind::Ints(&buckets),
        PgBind::Ints(&deltas),
        PgBind::Texts(&new.keys),
        PgBind::Texts(&new.values),
        PgBind::Texts(&new.owners),
        PgBind::Ints(&new.buckets),
        PgBind::Ints(&new.sizes),
        PgBind::Bools(&new.testnets),
        PgBind::Ints(&new.times),
        PgBind::Texts(&changed.keys),
        PgBind::Texts(&changed.values),
        PgBind::Ints(&changed.buckets),
        PgBind::Ints(&changed.sizes),
        PgBind::Bools(&changed.testnets),
        PgBind::Ints(&changed.times),
    ];
    Statement::<(), _>::new(
        "WITH used AS (INSERT INTO used_messages (owner, digest) SELECT * FROM unnest(?, ?)), \
         charged AS (UPDATE buckets SET bytes_used = buckets.bytes_used + x.delta \
         FROM unnest(?, ?) AS x(id, delta) WHERE buckets.id = x.id), \
         inserted AS (INSERT INTO documents \
         (doc_key, value, owner, bucket_id, size, testnet, updated_at) \
         SELECT * FROM unnest(?, ?, ?, ?, ?, ?, ?)), \
         updated AS (UPDATE documents SET value = x.value, bucket_id = x.bucket_id, \
         size = x.size, testnet = x.testnet, updated_at = x.updated_at \
         FROM unnest(?, ?, ?, ?, ?, ?) \
         AS x(key, value, bucket_id, size, testnet, updated_at) \
         WHERE documents.doc_key = x.key) \
         SELECT 1",
        &binds,
    )
    .execute(conn)?;
    Ok(())
}

/// Documents column by column.
struct Documents<'a> {
    keys: Vec<&'a str>,
    values: Vec<&'a str>,
    owners: Vec<&'a str>,
    buckets: Vec<i64>,
    sizes: Vec<i64>,
    testnets: Vec<bool>,
    times: Vec<i64>,
}

impl<'a> Documents<'a> {
    fn of(docs: &[NewDocument<'a>]) -> Self {
        Self {
            keys: docs.iter().map(|d| d.key).collect(),
            values: docs.iter().map(|d| d.value).collect(),
            owners: docs.iter().map(|d| d.owner).collect(),
            buckets: docs.iter().map(|d| d.bucket_id).collect(),
            sizes: docs.iter().map(|d| d.size).collect(),
            testnets: docs.iter().map(|d| d.testnet).collect(),
            times: docs.iter().map(|d| d.now).collect(),
        }
    }
}
