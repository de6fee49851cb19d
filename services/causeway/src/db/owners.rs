use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use service_kit::db::prepared::{Bind, Statement};
use service_kit::db::{Backend, DbConnection};

use super::buckets;
use super::schema::{documents, owners};
use crate::domain::Owner;

/// Registers an owner unless it exists, with a provisional (unbound) delegate. An existing
/// owner is left as it is: an unsigned registration never replaces a delegate, provisional
/// or bound; only the owner's signed enrollment does ([`bind`]).
pub fn ensure(
    conn: &mut DbConnection,
    address: &str,
    delegate: &str,
    contact: &str,
    now: i64,
) -> QueryResult<()> {
    let inserted = diesel::insert_into(owners::table)
        .values((
            owners::address.eq(address),
            owners::delegate.eq(delegate),
            owners::contact.eq(contact),
            owners::created_at.eq(now),
            owners::delegate_bound.eq(false),
        ))
        .execute(conn);
    match inserted {
        Err(err) if !super::is_unique_violation(&err) => Err(err),
        _ => Ok(()),
    }
}

pub fn find(conn: &mut DbConnection, address: &str) -> QueryResult<Option<Owner>> {
    select(conn, SELECT_OWNER, address)
}

const SELECT_OWNER: &str = "SELECT address, delegate, delegate_bound FROM owners WHERE address = ?";

fn select(conn: &mut DbConnection, sql: &str, address: &str) -> QueryResult<Option<Owner>> {
    let binds = [Bind::Text(address)];
    let row: Option<(String, String, bool)> = Statement::<(Text, Text, Bool)>::new(sql, &binds)
        .get_result(conn)
        .optional()?;
    Ok(row.map(|(address, delegate, bound)| Owner {
        address,
        delegate,
        bound,
    }))
}

/// Reads the owner and, inside a transaction, locks its row until commit: every write to an
/// owner's documents, nonce and buckets goes through here, so they are serialised per owner
/// while different owners proceed in parallel. SQLite's immediate transaction already
/// serialises all writers.
pub fn lock(conn: &mut DbConnection, address: &str) -> QueryResult<Option<Owner>> {
    match conn.backend() {
        Backend::Sqlite => find(conn, address),
        Backend::Postgres | Backend::Mysql => select(
            conn,
            "SELECT address, delegate, delegate_bound FROM owners WHERE address = ? FOR UPDATE",
            address,
        ),
    }
}

/// Makes `delegate` the owner's bound delegate (the caller holds the owner's lock and has
/// verified the master key's enrollment naming it). When it replaces a *provisional*
/// delegate that is another key, that delegate was registered by an unsigned request, so
/// possibly by a squatter: everything stored under the owner so far is deleted and its
/// space refunded, so none of it stands as the owner's. Returns how many documents went.
pub fn bind(conn: &mut DbConnection, owner: &Owner, delegate: &str) -> QueryResult<usize> {
    let purged = if !owner.bound && owner.delegate != delegate {
        purge_documents(conn, &owner.address)?
    } else {
        0
    };
    diesel::update(owners::table.find(&owner.address))
        .set((
            owners::delegate.eq(delegate),
            owners::delegate_bound.eq(true),
        ))
        .execute(conn)?;
    Ok(purged)
}

fn purge_documents(conn: &mut DbConnection, owner: &str) -> QueryResult<usize> {
    let placed: Vec<(i64, i64)> = documents::table
        .filter(documents::owner.eq(owner))
        .select((documents::bucket_id, documents::size))
        .load(conn)?;
    let mut per_bucket = std::collections::BTreeMap::<i64, i64>::new();
    for (bucket, size) in &placed {
        *per_bucket.entry(*bucket).or_default() += size;
    }
    for (bucket, size) in per_bucket {
        buckets::refund_storage(conn, bucket, size)?;
    }
    diesel::delete(documents::table.filter(documents::owner.eq(owner))).execute(conn)
}

/// Locks the rows of `addresses` (sorted, so concurrent callers never deadlock) until the
/// end of the transaction; a no-op on SQLite, whose writer is alone.
pub fn lock_all(conn: &mut DbConnection, addresses: &[&str]) -> QueryResult<()> {
    let backend = conn.backend();
    if backend == Backend::Sqlite || addresses.is_empty() {
        return Ok(());
    }
    let placeholders: Vec<String> = (1..=addresses.len())
        .map(|n| match backend {
            Backend::Postgres => format!("${n}"),
            _ => "?".to_owned(),
        })
        .collect();
    let sql = format!(
        "SELECT address FROM owners WHERE address IN ({}) ORDER BY address FOR UPDATE",
        placeholders.join(", ")
    );
    let mut query = diesel::sql_query(sql).into_boxed();
    for address in addresses {
        query = query.bind::<Text, _>(*address);
    }
    query.execute(conn)?;
    Ok(())
}

/// What a put needs to know before it writes, once the owner is locked ([`lock`]): the
/// owner's nonce, where the key is stored now, whether some expired bucket of the owner
/// still holds documents, and whether the request's digest was new (it is remembered now;
/// an error later rolls that back with the rest). One round trip on PostgreSQL.
pub struct BeforePut {
    pub nonce: Option<(String, i64)>,
    pub placement: Option<super::documents::Placement>,
    pub stranded: bool,
    pub fresh: bool,
}

/// The row of a [`BeforePut`]: nonce, issued, the key's owner, bucket and size, stranded,
/// fresh.
pub type BeforePutRow = (
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    bool,
    bool,
);

/// The SQL types of a [`BeforePutRow`].
pub type BeforePutSql = (
    Nullable<Text>,
    Nullable<BigInt>,
    Nullable<Text>,
    Nullable<BigInt>,
    Nullable<BigInt>,
    Bool,
    Bool,
);

impl From<BeforePutRow> for BeforePut {
    fn from(row: BeforePutRow) -> Self {
        let (nonce, issued, doc_owner, bucket_id, size, stranded, fresh) = row;
        BeforePut {
            nonce: nonce.zip(issued),
            placement: match (doc_owner, bucket_id, size) {
                (Some(owner), Some(bucket_id), Some(size)) => Some(super::documents::Placement {
                    owner,
                    bucket_id,
                    size,
                }),
                _ => None,
            },
            stranded,
            fresh,
        }
    }
}

pub fn before_put(
    conn: &mut DbConnection,
    owner: &str,
    key: &str,
    digest: &str,
    now: i64,
) -> QueryResult<BeforePut> {
    macro_rules! before_put_sql {
        ($with:literal, $fresh:literal) => {
            concat!(
                $with,
                "SELECT n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
                 EXISTS (SELECT 1 FROM buckets b WHERE b.owner = o.address \
                 AND b.expires_at <= ? AND b.bytes_used > 0), ",
                $fresh,
                " FROM owners o LEFT JOIN nonces n ON n.owner = o.address \
                 LEFT JOIN documents d ON d.doc_key = ? WHERE o.address = ?"
            )
        };
    }
    let postgres = conn.backend() == Backend::Postgres;
    let with_digest = [
        Bind::Text(owner),
        Bind::Text(digest),
        Bind::Int(now),
        Bind::Text(key),
        Bind::Text(owner),
    ];
    let binds = if postgres {
        &with_digest[..]
    } else {
        &with_digest[2..]
    };
    let sql = if postgres {
        before_put_sql!(
            "WITH used AS (INSERT INTO used_messages (owner, digest) VALUES (?, ?) \
             ON CONFLICT DO NOTHING RETURNING 1) ",
            "EXISTS (SELECT 1 FROM used)"
        )
    } else {
        before_put_sql!("", "1 = 1")
    };
    let mut found: BeforePut = Statement::<BeforePutSql>::new(sql, binds)
        .get_result::<BeforePutRow>(conn)?
        .into();
    if !postgres {
        found.fresh = super::nonces::remember(conn, owner, digest)?;
    }
    Ok(found)
}
