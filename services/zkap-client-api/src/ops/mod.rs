//! The operations: one function per thing a client asks for, taking the shared state and
//! domain types, owning its transaction, returning domain types or [`Error`]. Nothing here
//! knows about HTTP.

pub mod lease;
pub mod passes;
pub mod pricing;
pub mod redemption;
pub mod vouchers;

use std::sync::Arc;

use diesel::QueryResult;
use service_kit::db::{Database, DbConnection};

use crate::db::is_unique_violation;
use crate::error::Error;

/// Reads outside a transaction, with their diesel errors as [`Error`].
pub(crate) trait Queries {
    fn query<T, F>(&self, work: F) -> impl Future<Output = Result<T, Error>> + Send
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static;
}

impl Queries for Database {
    fn query<T, F>(&self, work: F) -> impl Future<Output = Result<T, Error>> + Send
    where
        F: FnOnce(&mut DbConnection) -> QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.run(move |conn| Ok(work(conn)?))
    }
}

/// Runs `work` as one all-or-nothing write ([`Database::write`]). An operation that looks
/// for a row before inserting it can still lose the race to a concurrent one on PostgreSQL or
/// MySQL, where the failed INSERT spoils its transaction: it runs once more, in a new one,
/// and then finds the row.
pub(crate) async fn write<T, F>(db: &Database, work: F) -> Result<T, Error>
where
    F: Fn(&mut DbConnection) -> Result<T, Error> + Send + Sync + 'static,
    T: Send + 'static,
{
    let work = Arc::new(work);
    let attempt = |work: Arc<F>| db.write(move |conn| work(conn));
    match attempt(work.clone()).await {
        Err(Error::Query(err)) if is_unique_violation(&err) => attempt(work).await,
        other => other,
    }
}
