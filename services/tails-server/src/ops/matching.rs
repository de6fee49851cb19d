//! Listing stored names.

use crate::app::AppState;
use crate::error::Error;

/// Stored names containing `substring`, sorted. Names only: the original leaked absolute
/// server paths here.
pub async fn names_containing(state: &AppState, substring: String) -> Result<Vec<String>, Error> {
    Ok(state.storage.matching(substring).await?)
}
