//! downstream-node: Storj's proof-of-storage verification node, wire-compatible with
//! downstream-farmer. See README.md for the API.

pub mod app;
pub mod db;
pub mod domain;
pub mod error;
pub mod geoip;
pub mod heartbeat;
pub mod ops;
pub mod ratelimit;
pub mod routes;
pub mod settings;

pub use app::{AppState, Application};
pub use error::Error;
pub use settings::Settings;
