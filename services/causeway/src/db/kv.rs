//! The document operations as wholes: authorisation, nonce, replay and accounting commit or
//! roll back together, so `put` and `delete` run in one transaction (`AppState::write`).

use service_kit::bitcoin::BitcoinAddress;
use service_kit::db::{Backend, DbConnection};

use super::documents::{self, NewDocument};
use super::{buckets, nonces, owners};
use crate::domain::key::stored_size;
use crate::domain::{Enrollment, Key, Nonce, Value};
use crate::error::ApiError;

/// When a request happens and how long nonces live.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub now: i64,
    pub nonce_ttl: i64,
}

/// A `/put` whose signature has been verified.
pub struct Put {
    pub owner: BitcoinAddress,
    pub signer: BitcoinAddress,
    pub key: Key,
    pub value: Value,
    pub nonce: Nonce,
    pub digest: String,
    pub testnet: bool,
    /// The value as an enrollment the master key signed, if it is one.
    pub enrollment: Option<Enrollment>,
}

impl Put {
    /// The delegate this put binds: the value is the owner's own enrollment (signed by the
    /// owner's master key) and the put is signed by the delegate it names or by the master.
    pub fn binds(&self) -> Option<String> {
        let enrollment = self.enrollment.as_ref()?;
        (enrollment.master == self.owner
            && (self.signer == enrollment.delegate || self.signer == self.owner))
            .then(|| enrollment.delegate.to_string())
    }
}

pub fn put(conn: &mut DbConnection, put: &Put, clock: Clock) -> Result<(), ApiError> {
    let owner_address = put.owner.to_string();
    let key = put.key.as_str();
    let binds = put.binds();
    let owner = owners::lock(conn, &owner_address)?.ok_or(ApiError::UserNotFound)?;
    // The owner's signed enrollment authorises the delegate it names, whoever the
    // registered delegate is; any other put needs the owner or its delegate.
    if binds.is_none() {
        owner.authorise(&put.signer)?;
    }
    // Read once the lock is held, so nothing in it predates the previous writer's commit.
    let found = owners::before_put(conn, &owner.address, key, &put.digest, clock.now)?;
    nonces::matches(found.nonce, put.nonce.as_str(), clock.now, clock.nonce_ttl)?;
    if !found.fresh {
        return Err(ApiError::Replay);
    }
    let mut existing = found.placement;
    if let Some(delegate) = &binds
        && (!owner.bound || owner.delegate != *delegate)
    {
        let purged = owners::bind(conn, &owner, delegate)?;
        log::info!(
            "owner {} bound delegate {delegate} by signed enrollment (was {}{}); {purged} documents deleted",
            owner.address,
            owner.delegate,
            if owner.bound {
                ", bound"
            } else {
                ", provisional"
            },
        );
        if purged > 0 {
            existing = documents::placement(conn, key)?;
        }
    }
    if found.stranded && buckets::relocate_expired(conn, &owner.address, clock.now)? > 0 {
        existing = documents::placement(conn, key)?;
    }
    if let Some(placement) = &existing {
        if placement.owner != owner.address {
            return Err(ApiError::KeyTaken);
        }
        buckets::refund_storage(conn, placement.bucket_id, placement.size)?;
    }
    let size = stored_size(&put.key, &put.value);
    let mut doc = NewDocument {
        key,
        value: put.value.as_str(),
        owner: &owner.address,
        bucket_id: 0,
        size,
        testnet: put.testnet,
        now: clock.now,
    };
    // Another owner inserting the same new key concurrently loses on the primary key.
    let taken = |err: diesel::result::Error| {
        if super::is_unique_violation(&err) {
            ApiError::KeyTaken
        } else {
            err.into()
        }
    };
    if existing.is_none() && conn.backend() == Backend::Postgres {
        documents::insert_charged(conn, &doc)
            .map_err(taken)?
            .ok_or(ApiError::InsufficientStorage)?;
        return Ok(());
    }
    doc.bucket_id = buckets::charge_storage(conn, &owner.address, size, clock.now)?
        .ok_or(ApiError::InsufficientStorage)?;
    match existing {
        Some(_) => documents::update(conn, &doc)?,
        None => documents::insert(conn, &doc).map_err(taken)?,
    }
    Ok(())
}

/// A `/delete` whose signature has been verified.
pub struct Delete {
    /// The owner the client names, if it does; the document's owner otherwise.
    pub owner: Option<BitcoinAddress>,
    pub signer: BitcoinAddress,
    pub key: Key,
    pub nonce: Nonce,
    pub digest: String,
}

pub fn delete(conn: &mut DbConnection, delete: &Delete, clock: Clock) -> Result<(), ApiError> {
    let key = delete.key.as_str();
    let placement = documents::placement(conn, key)?.ok_or(ApiError::DeleteNotFound)?;
    if let Some(claimed) = &delete.owner
        && claimed.to_string() != placement.owner
    {
        return Err(ApiError::KeyTaken);
    }
    let owner = owners::lock(conn, &placement.owner)?.ok_or(ApiError::DeleteNotFound)?;
    owner.authorise(&delete.signer)?;
    nonces::check(
        conn,
        &owner.address,
        delete.nonce.as_str(),
        clock.now,
        clock.nonce_ttl,
    )?;
    nonces::remember(conn, &owner.address, &delete.digest)?;
    // Read again under the lock: a concurrent put may have moved it between buckets.
    let placement = documents::placement(conn, key)?
        .filter(|p| p.owner == owner.address)
        .ok_or(ApiError::DeleteNotFound)?;
    buckets::refund_storage(conn, placement.bucket_id, placement.size)?;
    documents::delete(conn, key)?;
    Ok(())
}
