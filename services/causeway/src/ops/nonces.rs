//! `/nonce`.

use service_kit::bitcoin::BitcoinAddress;
use service_kit::db::DbConnection;

use crate::AppState;
use crate::db::{nonces, owners};
use crate::domain::{Clock, Nonce};
use crate::error::Error;

/// Clears the owner's nonce when `clear` is the current one (answering ""), else returns the
/// current nonce while it has at least half its lifetime left (so a sync that starts now can
/// finish with it), else a new one.
pub async fn issue(
    state: &AppState,
    owner: &BitcoinAddress,
    clear: Option<String>,
) -> Result<String, Error> {
    let owner = owner.to_string();
    let clock = state.clock();
    state
        .db
        .write(move |conn| issue_in(conn, &owner, clear.as_deref(), clock))
        .await
}

fn issue_in(
    conn: &mut DbConnection,
    owner: &str,
    clear: Option<&str>,
    clock: Clock,
) -> Result<String, Error> {
    owners::lock(conn, owner)?.ok_or(Error::UserNotFound)?;
    let current = nonces::current(conn, owner)?;
    if let (Some(clear), Some((stored, _))) = (clear, &current)
        && !clear.is_empty()
        && clear == stored
    {
        nonces::clear(conn, owner)?;
        return Ok(String::new());
    }
    if let Some((stored, issued)) = current
        && clock.now < issued.saturating_add(clock.nonce_ttl / 2)
    {
        return Ok(stored);
    }
    let fresh = Nonce::random();
    nonces::replace(conn, owner, fresh.as_str(), clock.now)?;
    Ok(fresh.as_str().to_owned())
}
