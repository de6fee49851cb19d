use diesel::prelude::*;
use service_kit::db::DbConnection;

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

/// The value and its placement, for `/get`.
pub fn read(conn: &mut DbConnection, key: &str) -> QueryResult<Option<(String, Placement)>> {
    let row: Option<(String, String, i64, i64)> = documents::table
        .find(key)
        .select((
            documents::value,
            documents::owner,
            documents::bucket_id,
            documents::size,
        ))
        .first(conn)
        .optional()?;
    Ok(row.map(|(value, owner, bucket_id, size)| {
        (
            value,
            Placement {
                owner,
                bucket_id,
                size,
            },
        )
    }))
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
