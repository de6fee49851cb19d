//! Causeway: Rein's microhosting server. A key/value store whose writes are authorised by
//! Bitcoin signed messages, sold in buckets of storage and transfer, paid in bitcoin.
//! Compatible with python-rein's wire format and with the seed's parameters.

pub mod app;
pub mod db;
pub mod domain;
pub mod error;
pub mod ops;
pub mod payments;
pub mod read_cache;
pub mod routes;
pub mod settings;
pub mod transfer;

pub use app::{AppState, Application};
pub use error::Error;
pub use settings::Settings;
