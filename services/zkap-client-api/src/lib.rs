//! ZKAPAuthorizer's client API as a standalone service, compatible with GridSync: voucher
//! redemption against a PaymentServer-compatible issuer, voucher status, prices, lease
//! maintenance, and passes for storage operations. See README.md.

pub mod app;
pub mod db;
pub mod domain;
pub mod error;
pub mod ops;
pub mod routes;
pub mod settings;
pub mod tahoe_cfg;

pub use app::{AppState, Application};
pub use error::Error;
pub use settings::Settings;
