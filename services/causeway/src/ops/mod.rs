//! The operations: one `pub async fn` per use case, taking the state and domain types,
//! owning its transaction, returning domain types or [`crate::error::Error`].

pub mod accounts;
pub mod bitcoin;
pub mod buckets;
pub mod info;
pub mod kv;
pub mod nonces;
pub mod put_batch;
pub mod query;
