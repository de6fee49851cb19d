//! Answers of `POST passes` kept under their `Idempotency-Key` for a retry.

use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::pass_requests;
use crate::domain::time::Micros;

#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = pass_requests)]
pub struct PassRequest {
    pub idempotency_key: String,
    pub request_hash: String,
    /// The passes as the JSON array that was answered.
    pub passes: String,
    pub created: Micros,
}

pub fn find(conn: &mut DbConnection, key: &str, since: Micros) -> QueryResult<Option<PassRequest>> {
    pass_requests::table
        .find(key)
        .filter(pass_requests::created.ge(since))
        .select(PassRequest::as_select())
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, request: &PassRequest) -> QueryResult<usize> {
    diesel::insert_into(pass_requests::table)
        .values(request)
        .execute(conn)
}

/// Forgets keys older than `before`.
pub fn prune(conn: &mut DbConnection, before: Micros) -> QueryResult<usize> {
    diesel::delete(pass_requests::table.filter(pass_requests::created.lt(before))).execute(conn)
}
