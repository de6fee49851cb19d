use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
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
#[derive(Debug, QueryableByName)]
pub struct Readable {
    #[diesel(sql_type = Text)]
    pub value: String,
    #[diesel(sql_type = Text)]
    pub owner: String,
    #[diesel(sql_type = BigInt)]
    pub bucket_id: i64,
    #[diesel(sql_type = BigInt)]
    pub room: i64,
}

pub fn read(conn: &mut DbConnection, key: &str, now: i64) -> QueryResult<Option<Readable>> {
    const ROOM: &str = "SELECT SUM(b.transfer_total - b.transfer_used) FROM buckets b \
                        WHERE b.owner = d.owner AND b.expires_at >";
    let sql = match conn.backend() {
        Backend::Postgres => format!(
            "SELECT d.value, d.owner, d.bucket_id, \
             CAST(COALESCE(({ROOM} $1), 0) AS BIGINT) AS room \
             FROM documents d WHERE d.doc_key = $2"
        ),
        Backend::Mysql => format!(
            "SELECT d.value, d.owner, d.bucket_id, \
             CAST(COALESCE(({ROOM} ?), 0) AS SIGNED) AS room \
             FROM documents d WHERE d.doc_key = ?"
        ),
        Backend::Sqlite => format!(
            "SELECT d.value, d.owner, d.bucket_id, COALESCE(({ROOM} ?), 0) AS room \
             FROM documents d WHERE d.doc_key = ?"
        ),
    };
    diesel::sql_query(sql)
        .bind::<BigInt, _>(now)
        .bind::<Text, _>(key)
        .get_result(conn)
        .optional()
}

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

pub fn update(conn: &mut DbConnection, doc: &NewDocument<'_>) -> QueryResult<()> {
    diesel::update(documents::table.find(doc.key))
        .set((
            documents::value.eq(doc.value),
            documents::bucket_id.eq(doc.bucket_id),
            documents::size.eq(doc.size),
            documents::testnet.eq(doc.testnet),
            documents::updated_at.eq(doc.now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConnection, key: &str) -> QueryResult<()> {
    diesel::delete(documents::table.find(key)).execute(conn)?;
    Ok(())
}
