//! Lease maintenance as the storage client reports it.

use super::time::Micros;

/// One finished run: when it ended and how many passes renewing everything seen needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spending {
    pub when: Micros,
    pub count: u64,
}
