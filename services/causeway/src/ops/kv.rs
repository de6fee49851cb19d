//! `/get`, `/put`, `/delete`. A put or delete is one transaction: authorisation, nonce, replay
//! and accounting commit or roll back together. On PostgreSQL puts are decided in batches
//! ([`super::put_batch`]) by the same rules ([`admit`], [`existing`]).

use std::sync::Arc;

use service_kit::db::{Backend, DbConnection, Unavailable};

use crate::AppState;
use crate::db::documents::{self, NewDocument, Placement, Readable};
use crate::db::{buckets, is_unique_violation, nonces, owners};
use crate::domain::key::stored_size;
use crate::domain::{Clock, Delete, EncodedValue, Key, Owner, Put};
use crate::error::Error;
use crate::read_cache::{Document, Lookup, Room, Stale};

/// `/put`: stores the value under the key for its owner.
pub async fn put(state: &AppState, put: Put) -> Result<(), Error> {
    let clock = state.clock();
    if let Some(batcher) = &state.puts {
        return batcher
            .submit((put, clock))
            .await
            .unwrap_or(Err(Error::BatchFailed));
    }
    let (key, owner) = (put.key.as_str().to_owned(), put.owner.to_string());
    let stale = move |outcome: &Result<Reach, Error>| match outcome {
        // A failed commit may have happened after all, and moved other documents.
        Ok(Reach::Owner) | Err(Error::Db(_) | Error::Query(_)) => Stale::Owner(owner),
        _ => Stale::Key(key),
    };
    state
        .write_for_get(move |conn| put_alone(conn, &put, clock), stale)
        .await
        .map(drop)
}

/// `/delete`: removes the document and refunds its space.
pub async fn delete(state: &AppState, delete: Delete) -> Result<(), Error> {
    let clock = state.clock();
    let stale = Stale::Key(delete.key.as_str().to_owned());
    state
        .write_for_get(move |conn| delete_in(conn, &delete, clock), |_| stale)
        .await
}

/// `/get`: the value, once its size fits the owner's transfer (`crate::transfer`).
pub async fn get(state: &AppState, key: &Key) -> Result<EncodedValue, Error> {
    crate::transfer::serve(state, key).await
}

/// What every put must pass once its owner is locked: the signer may act for the owner
/// (unless the put is the owner's enrollment binding a delegate, which authorises it), the
/// nonce is live, and the signed request was not accepted before (`fresh`).
pub fn admit(
    put: &Put,
    owner: &Owner,
    nonce: Option<(String, i64)>,
    fresh: bool,
    clock: Clock,
) -> Result<(), Error> {
    if put.binds().is_none() {
        owner.authorise(&put.signer)?;
    }
    put.nonce.check(nonce, clock)?;
    if !fresh {
        return Err(Error::Replay);
    }
    Ok(())
}

/// Where the key is stored now, when the owner may write it: another owner's key is taken.
pub fn existing(placement: Option<Placement>, owner: &str) -> Result<Option<Placement>, Error> {
    match placement {
        Some(placement) if placement.owner != owner => Err(Error::KeyTaken),
        placement => Ok(placement),
    }
}

/// What a put changed besides its own key's document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    Key,
    /// Other documents of the owner were deleted (a delegate bound) or moved (out of
    /// expired buckets).
    Owner,
}

/// One put in the caller's transaction.
pub fn put_alone(conn: &mut DbConnection, put: &Put, clock: Clock) -> Result<Reach, Error> {
    let key = put.key.as_str();
    let owner = owners::lock(conn, put.owner.as_str())?.ok_or(Error::UserNotFound)?;
    // Read once the lock is held, so nothing in it predates the previous writer's commit.
    let found = owners::before_put(conn, &owner.address, key, &put.digest, clock.now)?;
    admit(put, &owner, found.nonce, found.fresh, clock)?;
    let mut placement = found.placement;
    let mut reach = Reach::Key;
    if let Some(delegate) = put.binds()
        && (!owner.bound || owner.delegate != delegate)
    {
        let purged = owners::bind(conn, &owner, &delegate)?;
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
            reach = Reach::Owner;
            placement = documents::placement(conn, key)?;
        }
    }
    if found.stranded && buckets::relocate_expired(conn, &owner.address, clock.now)? > 0 {
        reach = Reach::Owner;
        placement = documents::placement(conn, key)?;
    }
    let existing = existing(placement, &owner.address)?;
    if let Some(placement) = &existing {
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
        if is_unique_violation(&err) {
            Error::KeyTaken
        } else {
            err.into()
        }
    };
    if existing.is_none() && conn.backend() == Backend::Postgres {
        documents::insert_charged(conn, &doc)
            .map_err(taken)?
            .ok_or(Error::InsufficientStorage)?;
        return Ok(reach);
    }
    doc.bucket_id = buckets::charge_storage(conn, &owner.address, size, clock.now)?
        .ok_or(Error::InsufficientStorage)?;
    match existing {
        Some(_) => documents::update(conn, &doc)?,
        None => documents::insert(conn, &doc).map_err(taken)?,
    }
    Ok(reach)
}

fn delete_in(conn: &mut DbConnection, delete: &Delete, clock: Clock) -> Result<(), Error> {
    let key = delete.key.as_str();
    let placement = documents::placement(conn, key)?.ok_or(Error::DeleteNotFound)?;
    if let Some(claimed) = &delete.owner
        && claimed.as_str() != placement.owner
    {
        return Err(Error::KeyTaken);
    }
    let owner = owners::lock(conn, &placement.owner)?.ok_or(Error::DeleteNotFound)?;
    owner.authorise(&delete.signer)?;
    delete
        .nonce
        .check(nonces::current(conn, &owner.address)?, clock)?;
    if !nonces::remember(conn, &owner.address, &delete.digest)? {
        return Err(Error::Replay);
    }
    // Read again under the lock: a concurrent put may have moved it between buckets.
    let placement = documents::placement(conn, key)?
        .filter(|p| p.owner == owner.address)
        .ok_or(Error::DeleteNotFound)?;
    buckets::refund_storage(conn, placement.bucket_id, placement.size)?;
    documents::delete(conn, key)?;
    Ok(())
}

/// `/get`'s read: the document and its owner's transfer left. On SQLite from the read cache
/// when it holds both, else from the pool, filling the cache; on PostgreSQL and MySQL batched
/// with other reads.
pub async fn read(
    state: &AppState,
    key: &Key,
    now: i64,
) -> Result<Option<(Arc<Document>, i64)>, Error> {
    if let Some(cache) = &state.cache {
        let ticket = match cache.lookup(key.as_str(), now) {
            Lookup::Hit(doc, left) => return Ok(Some((doc, left))),
            Lookup::Miss(ticket) => ticket,
        };
        let owned = key.clone();
        let found = state
            .query(move |conn| {
                let Some(found) = documents::read(conn, owned.as_str(), now)? else {
                    return Ok(None);
                };
                let until = buckets::first_expiry(conn, &found.owner, now)?;
                Ok(Some((found, until.unwrap_or(i64::MAX))))
            })
            .await?;
        return Ok(found.map(|(found, until)| {
            let room = Room {
                left: found.room,
                until,
            };
            let doc = Arc::new(document(found));
            cache.fill(ticket, key.as_str(), &doc, room);
            (doc, room.left)
        }));
    }
    let found = match &state.reads {
        Some(batcher) => batcher
            .submit((key.as_str().to_owned(), now))
            .await
            .unwrap_or(Err(Error::BatchFailed))?,
        None => {
            let key = key.clone();
            state
                .query(move |conn| documents::read(conn, key.as_str(), now))
                .await?
        }
    };
    Ok(found.map(|found| {
        let left = found.room;
        (Arc::new(document(found)), left)
    }))
}

fn document(found: Readable) -> Document {
    Document {
        value: EncodedValue::encode(&found.value),
        owner: Arc::from(found.owner),
        bucket_id: found.bucket_id,
    }
}

/// A batch of reads `(key, when asked)` as one query; each read's outcome, in order. A key
/// asked twice is answered twice; no read is judged later than it was asked.
pub fn read_batch(
    conn: &mut DbConnection,
    reads: Vec<(String, i64)>,
) -> Vec<Result<Option<Readable>, Error>> {
    let now = reads.iter().map(|(_, now)| *now).min().unwrap_or_default();
    let keys: Vec<&str> = reads.iter().map(|(key, _)| key.as_str()).collect();
    let mut found = match documents::read_many(conn, &keys, now) {
        Ok(found) => found,
        Err(err) => {
            let kind = Unavailable::of_query(&err);
            return reads
                .iter()
                .map(|_| Err(Error::batch_failed(kind)))
                .collect();
        }
    };
    let mut left: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (key, _) in &reads {
        *left.entry(key.as_str()).or_default() += 1;
    }
    let mut outcomes = Vec::with_capacity(reads.len());
    for (key, _) in &reads {
        let last = left.get_mut(key.as_str()).is_none_or(|n| {
            *n -= 1;
            *n == 0
        });
        outcomes.push(Ok(if last {
            found.remove(key)
        } else {
            found.get(key).cloned()
        }));
    }
    outcomes
}
