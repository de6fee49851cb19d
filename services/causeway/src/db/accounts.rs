//! Owners' buckets, nonces and balances as wholes; the writes run in one transaction
//! (`AppState::write`).

use service_kit::bitcoin::BitcoinAddress;
use service_kit::db::DbConnection;

use super::buckets::{self, BucketTerms};
use super::kv::Clock;
use super::{nonces, owners};
use crate::domain::bucket::Bucket;
use crate::domain::{Nonce, Sats};
use crate::error::ApiError;

/// `/request`: a free bucket unless the owner already has `limit` of them. Returns whether
/// one was granted and all the owner's buckets.
pub fn request_free(
    conn: &mut DbConnection,
    owner: &str,
    limit: u32,
    terms: BucketTerms,
    now: i64,
) -> Result<(bool, Vec<Bucket>), ApiError> {
    owners::lock(conn, owner)?.ok_or(ApiError::UserNotFound)?;
    let granted = buckets::count_free(conn, owner)? < i64::from(limit);
    if granted {
        buckets::insert(conn, owner, true, 0, terms, now)?;
        buckets::relocate_expired(conn, owner, now)?;
    }
    Ok((granted, buckets::list(conn, owner)?))
}

/// What `/buy` did.
pub struct Purchase {
    pub bought: bool,
    /// Received minus spent, after the purchase.
    pub balance: i64,
    pub buckets: Vec<Bucket>,
}

/// `/buy`: turns `received` (satoshis paid to the owner's deposit addresses) minus what the
/// owner already spent into a bucket when it covers `price`. Under the owner's lock, so
/// concurrent purchases cannot spend the same satoshis twice.
pub fn buy(
    conn: &mut DbConnection,
    owner: &str,
    price: Sats,
    received: i64,
    terms: BucketTerms,
    now: i64,
) -> Result<Purchase, ApiError> {
    owners::lock(conn, owner)?.ok_or(ApiError::UserNotFound)?;
    let mut balance = received - buckets::spent(conn, owner)?;
    let bought = balance >= price.as_i64();
    if bought {
        buckets::insert(conn, owner, false, price.as_i64(), terms, now)?;
        buckets::relocate_expired(conn, owner, now)?;
        balance -= price.as_i64();
    }
    Ok(Purchase {
        bought,
        balance,
        buckets: buckets::list(conn, owner)?,
    })
}

/// `/nonce`: clears the nonce when `clear` is the current one (answering ""), else returns
/// the current nonce while it has at least half its lifetime left (so a sync that starts
/// now can finish with it), else a new one.
pub fn issue_nonce(
    conn: &mut DbConnection,
    owner: &str,
    clear: Option<&str>,
    clock: Clock,
) -> Result<String, ApiError> {
    owners::lock(conn, owner)?.ok_or(ApiError::UserNotFound)?;
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

/// Checks a signed read (`/balance`): the owner exists, the signer may act for it and the
/// nonce is live. Reads are not remembered: replaying one reveals nothing new.
pub fn authorise_read(
    conn: &mut DbConnection,
    owner: &BitcoinAddress,
    signer: &BitcoinAddress,
    nonce: &Nonce,
    clock: Clock,
) -> Result<(), ApiError> {
    let owner = owners::find(conn, &owner.to_string())?.ok_or(ApiError::UserNotFound)?;
    owner.authorise(signer)?;
    nonces::check(
        conn,
        &owner.address,
        nonce.as_str(),
        clock.now,
        clock.nonce_ttl,
    )
}
