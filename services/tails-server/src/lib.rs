//! The tails server: stores and serves AnonCreds/Indy revocation tails files, checked against
//! the ledger, as a drop-in for bcgov/indy-tails-server. See README.md.

pub mod app;
pub mod domain;
pub mod error;
pub mod ledger;
pub mod ops;
pub mod routes;
pub mod settings;
pub mod storage;

pub use app::{AppState, Application};
pub use error::Error;
pub use settings::Settings;
