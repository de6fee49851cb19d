//! Typed async clients for the ledgers the services consult. One shared `reqwest::Client`
//! per service (see [`http_client`]), one module per ledger.

pub mod bitcoin_rpc;
mod error;
pub mod indy;
pub mod request_id;
pub mod zkap;

pub use error::LedgerError;

use std::time::Duration;

/// How long a ledger may take before the call fails with [`LedgerError::TimedOut`].
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(30),
        }
    }
}

/// The one HTTP client a service shares between all its ledger calls.
pub fn http_client(timeouts: Timeouts) -> Result<reqwest::Client, LedgerError> {
    reqwest::Client::builder()
        .connect_timeout(timeouts.connect)
        .timeout(timeouts.request)
        .user_agent(concat!("ledger-client/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LedgerError::Protocol(format!("cannot build HTTP client: {e}")))
}
