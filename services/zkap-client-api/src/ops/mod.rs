//! The operations: one function per thing a client asks for, taking the shared state and
//! domain types, owning its transaction, returning domain types or [`Error`]. Nothing here
//! knows about HTTP.

pub mod lease;
pub mod passes;
pub mod pricing;
pub mod redemption;
pub mod vouchers;

use diesel::QueryResult;
use service_kit::db::{Database, DbConnection};

use crate::error::Error;

/// Queries outside a transaction, with their diesel errors as [`Error`].
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
