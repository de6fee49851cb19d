//! What the four services share, and nothing else: the error contract, API-token auth,
//! Bitcoin signed-message verification, settings loading, the database pool with its
//! migrations, and server start-up (logging, health, metrics, body limit, shutdown).

pub mod auth;
pub mod bitcoin;
pub mod body;
pub mod db;
pub mod error;
pub mod health;
pub mod log_level;
pub mod metrics;
pub mod request_id;
pub mod server;
pub mod settings;
pub mod startup;

#[cfg(feature = "testing")]
pub mod testing;
