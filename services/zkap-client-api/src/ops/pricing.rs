//! The price of storing files for one lease period.

use crate::app::AppState;
use crate::error::Error;

/// Passes for files of these sizes, and the seconds they pay for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub passes: u128,
    pub period: u64,
}

pub fn price(state: &AppState, sizes: &[u64]) -> Result<Price, Error> {
    let passes = state
        .pricing
        .price(sizes)
        .map_err(|e| Error::invalid(e.to_string()))?;
    Ok(Price {
        passes,
        period: state.pricing.period(),
    })
}
