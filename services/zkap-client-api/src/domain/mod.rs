//! Rules with no I/O: vouchers and their states, prices, tokens and passes, timestamps.

pub mod idempotency;
pub mod lease;
pub mod pass;
pub mod pricing;
pub mod time;
pub mod tokens;
pub mod voucher;
