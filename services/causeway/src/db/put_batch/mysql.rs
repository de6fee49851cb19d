//! MySQL/MariaDB: MariaDB has neither array parameters nor data-modifying CTEs, so the rows
//! are placeholders and the statement text depends on their number (diesel prepares each
//! text once per connection), and the writes are one statement per table.

use diesel::RunQueryDsl as _;
use diesel::sql_types::{BigInt, Bool, Text};
use service_kit::db::DbConnection;
use service_kit::db::prepared::{Bind, Statement};

use super::{Asked, LockedOwner, Writes};
use crate::db::documents;
use crate::db::owners::{BeforePutRow, BeforePutSql};

/// Bytes of values per `INSERT`, far below MariaDB's default `max_allowed_packet` (16 MiB)
/// whatever `--max-value-bytes` says.
const INSERTED_BYTES: usize = 4 << 20;

/// `row` `rows` times, comma-separated.
fn repeated(row: &str, rows: usize) -> String {
    vec![row; rows].join(", ")
}

pub fn lock_owners(
    conn: &mut DbConnection,
    addresses: &[&str],
) -> diesel::QueryResult<Vec<LockedOwner>> {
    let sql = format!(
        "SELECT address, delegate, delegate_bound FROM owners WHERE address IN ({}) \
         ORDER BY address FOR UPDATE",
        repeated("?", addresses.len())
    );
    let binds: Vec<Bind<'_>> = addresses.iter().map(|a| Bind::Text(a)).collect();
    Statement::<(Text, Text, Bool)>::new(&sql, &binds).load(conn)
}

pub fn facts(
    conn: &mut DbConnection,
    asked: &Asked<'_>,
    now: i64,
) -> diesel::QueryResult<Vec<(i64, BeforePutRow)>> {
    let sql = format!(
        "SELECT CAST(x.i AS SIGNED), n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
         EXISTS (SELECT 1 FROM buckets b WHERE b.owner = x.owner AND b.expires_at <= ? \
         AND b.bytes_used > 0), \
         NOT EXISTS (SELECT 1 FROM used_messages u WHERE u.owner = x.owner \
         AND u.digest = x.digest) \
         FROM (SELECT ? AS i, ? AS owner, ? AS doc_key, ? AS digest{}) AS x \
         LEFT JOIN nonces n ON n.owner = x.owner \
         LEFT JOIN documents d ON d.doc_key = x.doc_key",
        " UNION ALL SELECT ?, ?, ?, ?".repeat(asked.i.len().saturating_sub(1))
    );
    let mut binds = vec![Bind::Int(now)];
    for (n, &i) in asked.i.iter().enumerate() {
        binds.extend([
            Bind::Int(i),
            Bind::Text(asked.owners[n]),
            Bind::Text(asked.keys[n]),
            Bind::Text(asked.digests[n]),
        ]);
    }
    Statement::<(BigInt, BeforePutSql)>::new(&sql, &binds).load(conn)
}

pub fn live_buckets(
    conn: &mut DbConnection,
    addresses: &[&str],
    now: i64,
) -> diesel::QueryResult<Vec<(i64, String, i64, i64)>> {
    let sql = format!(
        "SELECT id, owner, bytes_used, bytes_total FROM buckets \
         WHERE owner IN ({}) AND expires_at > ? ORDER BY owner, expires_at, id",
        repeated("?", addresses.len())
    );
    let mut binds: Vec<Bind<'_>> = addresses.iter().map(|a| Bind::Text(a)).collect();
    binds.push(Bind::Int(now));
    Statement::<(BigInt, Text, BigInt, BigInt)>::new(&sql, &binds).load(conn)
}

/// The writes of the batch: the used messages, the bucket charges and the new documents in
/// one statement each (the documents in as many as their size needs), each update alone.
pub fn write(conn: &mut DbConnection, writes: &Writes<'_>) -> diesel::QueryResult<()> {
    if !writes.used.is_empty() {
        let sql = format!(
            "INSERT INTO used_messages (owner, digest) VALUES {}",
            repeated("(?, ?)", writes.used.len())
        );
        let binds: Vec<Bind<'_>> = writes
            .used
            .iter()
            .flat_map(|(owner, digest)| [Bind::Text(owner), Bind::Text(digest)])
            .collect();
        Statement::<()>::new(&sql, &binds).execute(conn)?;
    }
    if !writes.deltas.is_empty() {
        let sql = format!(
            "UPDATE buckets SET bytes_used = bytes_used + CASE id {} END WHERE id IN ({})",
            "WHEN ? THEN ? ".repeat(writes.deltas.len()),
            repeated("?", writes.deltas.len())
        );
        let mut binds: Vec<Bind<'_>> = writes
            .deltas
            .iter()
            .flat_map(|&(id, delta)| [Bind::Int(id), Bind::Int(delta)])
            .collect();
        binds.extend(writes.deltas.iter().map(|&(id, _)| Bind::Int(id)));
        Statement::<()>::new(&sql, &binds).execute(conn)?;
    }
    let mut inserts = &writes.inserts[..];
    while !inserts.is_empty() {
        let mut bytes = 0;
        let rows = inserts
            .iter()
            .take_while(|doc| {
                bytes += doc.value.len();
                bytes <= INSERTED_BYTES
            })
            .count()
            .max(1);
        let (now, rest) = inserts.split_at(rows);
        let sql = format!(
            "INSERT INTO documents (doc_key, value, owner, bucket_id, size, testnet, \
             updated_at) VALUES {}",
            repeated("(?, ?, ?, ?, ?, ?, ?)", now.len())
        );
        let binds: Vec<Bind<'_>> = now
            .iter()
            .flat_map(|doc| {
                [
                    Bind::Text(doc.key),
                    Bind::Text(doc.value),
                    Bind::Text(doc.owner),
                    Bind::Int(doc.bucket_id),
                    Bind::Int(doc.size),
                    Bind::Bool(doc.testnet),
                    Bind::Int(doc.now),
                ]
            })
            .collect();
        Statement::<()>::new(&sql, &binds).execute(conn)?;
        inserts = rest;
    }
    for doc in &writes.updates {
        documents::update(conn, doc)?;
    }
    Ok(())
}
