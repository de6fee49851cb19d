//! The real server on port 0 against a fresh database and ledger-sim's ZKAP issuer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth;
mod bodies;
mod disk_full;
mod endless_body;
mod helpers;
mod lease;
mod openapi;
mod outage;
mod passes;
mod price;
mod redemption;
mod schema;
mod voucher;
