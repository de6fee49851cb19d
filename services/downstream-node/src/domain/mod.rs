//! Newtypes and rules with no I/O.

pub mod address;
pub mod contract;
pub mod listing;
pub mod proxies;
pub mod schedule;
pub mod token;
pub mod uptime;

pub use address::SjcxAddress;
pub use contract::{Contract, ProofItem, parse_contract_id};
pub use listing::{ListQuery, ListQueryError, SortKey};
pub use proxies::{Cidr, TrustedProxies};
pub use schedule::{Answer, Refresh, Schedule};
pub use token::{FarmerId, FarmerToken};
pub use uptime::Uptime;

/// Milliseconds since the Unix epoch: every time the service stores.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}
