//! MySQL/MariaDB: MariaDB has neither array parameters nor data-modifying CTEs, so the rows
//! are placeholders, and the writes are one statement per table. A statement's text depends
//! on its number of rows and diesel prepares each text once per connection, so the numbers
//! are powers of two: reads repeat their last row up to the next one (a repeated owner,
//! key or bucket changes nothing they find), writes go in chunks of powers of two. A
//! connection then prepares at most seven texts of each statement; with the exact numbers
//! it prepared most of them afresh, about a fifth of a batch's time.

use diesel::RunQueryDsl as _;
use diesel::sql_types::{BigInt, Bool, Text};
use service_kit::db::DbConnection;
use service_kit::db::prepared::{Bind, Statement, padded};

use super::{Asked, LockedOwner, Writes};
use crate::db::documents::{self, NewDocument};
use crate::db::owners::{BeforePutRow, BeforePutSql};

/// Bytes of values per `INSERT`, far below MariaDB's default `max_allowed_packet` (16 MiB)
/// whatever `--max-value-bytes` says.
const INSERTED_BYTES: usize = 4 << 20;

/// `row` `rows` times, comma-separated.
fn repeated(row: &str, rows: usize) -> String {
    vec![row; rows].join(", ")
}

/// `rows` in chunks whose lengths are powers of two, largest first.
fn chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = 1 << rows.len().ilog2();
        let (chunk, rest) = rows.split_at(len);
        rows = rest;
        Some(chunk)
    })
}

pub fn lock_owners(
    conn: &mut DbConnection,
    addresses: &[&str],
) -> diesel::QueryResult<Vec<LockedOwner>> {
    let addresses = padded(addresses);
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
    let rows: Vec<usize> = padded(&(0..asked.i.len()).collect::<Vec<_>>());
    let sql = format!(
        "SELECT CAST(x.i AS SIGNED), n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
         EXISTS (SELECT 1 FROM buckets b WHERE b.owner = x.owner AND b.expires_at <= ? \
         AND b.bytes_used > 0), \
         NOT EXISTS (SELECT 1 FROM used_messages u WHERE u.owner = x.owner \
         AND u.digest = x.digest) \
         FROM (SELECT ? AS i, ? AS owner, ? AS doc_key, ? AS digest{}) AS x \
         LEFT JOIN nonces n ON n.owner = x.owner \
         LEFT JOIN documents d ON d.doc_key = x.doc_key",
        " UNION ALL SELECT ?, ?, ?, ?".repeat(rows.len().saturating_sub(1))
    );
    let mut binds = vec![Bind::Int(now)];
    for n in rows {
        binds.extend([
            Bind::Int(asked.i[n]),
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
    let addresses = padded(addresses);
    let sql = format!(
        "SELECT id, owner, bytes_used, bytes_total FROM buckets \
         WHERE owner IN ({}) AND expires_at > ? ORDER BY owner, expires_at, id",
        repeated("?", addresses.len())
    );
    let mut binds: Vec<Bind<'_>> = addresses.iter().map(|a| Bind::Text(a)).collect();
    binds.push(Bind::Int(now));
    Statement::<(BigInt, Text, BigInt, BigInt)>::new(&sql, &binds).load(conn)
}

/// The writes of the batch: the used messages, the bucket charges and the new documents,
/// each in as few statements as their number (and the documents' size) allows; each update
/// alone.
pub fn write(conn: &mut DbConnection, writes: &Writes<'_>) -> diesel::QueryResult<()> {
    for used in chunks(&writes.used) {
        let sql = format!(
            "INSERT INTO used_messages (owner, digest) VALUES {}",
            repeated("(?, ?)", used.len())
        );
        let binds: Vec<Bind<'_>> = used
            .iter()
            .flat_map(|(owner, digest)| [Bind::Text(owner), Bind::Text(digest)])
            .collect();
        Statement::<()>::new(&sql, &binds).execute(conn)?;
    }
    charge(conn, &writes.deltas)?;
    let mut inserts = &writes.inserts[..];
    while !inserts.is_empty() {
        let mut bytes = 0;
        let fit = inserts
            .iter()
            .take_while(|doc| {
                bytes += doc.value.len();
                bytes <= INSERTED_BYTES
            })
            .count()
            .max(1);
        let (now, rest) = inserts.split_at(fit);
        for docs in chunks(now) {
            insert(conn, docs)?;
        }
        inserts = rest;
    }
    for doc in &writes.updates {
        documents::update(conn, doc)?;
    }
    Ok(())
}

/// Adds each `(bucket, delta)` to the bucket's bytes used, in one statement.
fn charge(conn: &mut DbConnection, deltas: &[(i64, i64)]) -> diesel::QueryResult<()> {
    if deltas.is_empty() {
        return Ok(());
    }
    // A repeated bucket matches its first `WHEN`, and is charged once.
    let deltas = padded(deltas);
    let sql = format!(
        "UPDATE buckets SET bytes_used = bytes_used + CASE id {} END WHERE id IN ({})",
        "WHEN ? THEN ? ".repeat(deltas.len()),
        repeated("?", deltas.len())
    );
    let mut binds: Vec<Bind<'_>> = deltas
        .iter()
        .flat_map(|&(id, delta)| [Bind::Int(id), Bind::Int(delta)])
        .collect();
    binds.extend(deltas.iter().map(|&(id, _)| Bind::Int(id)));
    Statement::<()>::new(&sql, &binds).execute(conn)?;
    Ok(())
}

fn insert(conn: &mut DbConnection, docs: &[NewDocument<'_>]) -> diesel::QueryResult<()> {
    let sql = format!(
        "INSERT INTO documents (doc_key, value, owner, bucket_id, size, testnet, updated_at) \
         VALUES {}",
        repeated("(?, ?, ?, ?, ?, ?, ?)", docs.len())
    );
    let binds: Vec<Bind<'_>> = docs
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
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_are_powers_of_two_largest_first() {
        let rows: Vec<u32> = (0..13).collect();
        let lens: Vec<usize> = chunks(&rows).map(<[u32]>::len).collect();
        assert_eq!(lens, [8, 4, 1]);
        assert_eq!(chunks(&rows).flatten().copied().collect::<Vec<_>>(), rows);
        assert_eq!(chunks::<u8>(&[]).count(), 0);
    }
}
