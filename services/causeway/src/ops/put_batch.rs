//! Group commit for `/put` on PostgreSQL and MySQL/MariaDB, set-based. A put alone is five
//! round trips and a commit on PostgreSQL, eight on MariaDB; here the puts waiting together
//! (of different keys) run in one transaction of a fixed number of statements whatever their
//! number (`db::put_batch`): the owners are locked in address order (as every other writer
//! locks them, so no deadlock with single puts, transfer flushes or another replica's batch),
//! everything the rules need is read at once, each put is decided in memory in arrival order
//! by the rules of a single put ([`super::kv::admit`], [`super::kv::existing`]), and the
//! accepted ones are written together (one statement on PostgreSQL, one per table on MariaDB).
//!
//! Each put keeps its own outcome: a refused put writes nothing, and the others are not
//! affected. If the transaction fails as a whole (a concurrent writer elsewhere took a key
//! first, say), every put of the batch runs again alone, in its own transaction, and gets the
//! answer it would have had. Puts the batch does not handle (an enrollment that binds a
//! delegate, an owner with documents to move out of expired buckets, a second put of a key
//! already in the batch) run alone after it. Several puts of one owner are decided in arrival
//! order against the owner's buckets as the earlier ones left them.

use std::collections::{BTreeMap, HashMap, HashSet};

use service_kit::db::{DbConnection, in_transaction};
use service_kit::error::ServiceError as _;
use service_kit::metrics::{Counter, Metrics};

use super::kv::{self, admit, existing};
use crate::db::batcher::Limits;
use crate::db::documents::NewDocument;
use crate::db::owners::BeforePut;
use crate::db::put_batch::{self, Asked, Writes};
use crate::domain::key::stored_size;
use crate::domain::{Clock, Put};
use crate::error::Error;

/// What became of one put of a batch.
pub type Outcome = Result<(), Error>;

/// Two batches at once: one is decided and written while the other waits for its commit.
/// Against three, in alternating runs: `wrk` with one owner (every batch locks the same row)
/// 53,300-53,600 -> 61,300-62,900 puts per 5 s on PostgreSQL; `cargo bench` (64 owners)
/// about 5 % more on PostgreSQL and MariaDB. Five were 20 % slower on MariaDB.
pub const LIMITS: Limits = Limits {
    queue: 1024,
    max_batch: 64,
    concurrent: 2,
};

/// What `/metrics` counts of the batches.
#[derive(Clone)]
pub struct Counters {
    batches: Counter,
    refused: Counter,
}

impl Counters {
    pub fn registered(metrics: &Metrics) -> Self {
        Self {
            batches: metrics.counter(
                "causeway_put_batches_total",
                "Transactions that ran several puts together",
            ),
            refused: metrics.counter(
                "causeway_put_batches_refused_total",
                "Put batches that failed as a whole, their puts then run one by one",
            ),
        }
    }
}

/// Runs `puts` (in arrival order) on `conn`, batched where it can; one outcome each.
pub fn run(conn: &mut DbConnection, puts: Vec<(Put, Clock)>, counters: &Counters) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = (0..puts.len()).map(|_| None).collect();
    let mut alone_owners = HashSet::new();
    let mut keys = HashSet::new();
    let mut batch = Vec::new();
    for (i, (put, _)) in puts.iter().enumerate() {
        let owner = put.owner.to_string();
        let key = put.key.as_str();
        // Several puts of one owner are decided in the batch in arrival order; a second put
        // of a key, and every put of an owner after one that must run alone, run alone after.
        let fresh = !alone_owners.contains(&owner) && !keys.contains(key);
        keys.insert(key);
        if fresh && put.binds().is_none() {
            batch.push(i);
        } else {
            alone_owners.insert(owner);
        }
    }
    if batch.len() > 1 {
        counters.batches.inc();
        match in_transaction(conn, |conn| decide_and_write(conn, &puts, &batch)) {
            Ok(decided) => {
                for (i, outcome) in decided {
                    outcomes[i] = outcome;
                }
            }
            Err(err) => match err.database_unavailable() {
                // The outcome of the commit is unknown, or the database is away: every put
                // of the batch is answered so (503), none is tried again.
                Some(kind) => {
                    log::warn!("put batch of {} failed: {err}", batch.len());
                    for &i in &batch {
                        outcomes[i] = Some(Err(Error::BatchUnavailable(kind)));
                    }
                }
                None => {
                    counters.refused.inc();
                    log::info!(
                        "put batch of {} refused as a whole ({err}); each runs alone",
                        batch.len()
                    );
                }
            },
        }
    }
    outcomes
        .into_iter()
        .zip(&puts)
        .map(|(outcome, (put, clock))| {
            outcome.unwrap_or_else(|| {
                in_transaction(conn, |conn| kv::put_alone(conn, put, *clock)).map(drop)
            })
        })
        .collect()
}

/// A live bucket as the batch draws storage from it.
struct Live {
    id: i64,
    used: i64,
    total: i64,
}

/// The batch's transaction: outcomes of the puts it decided (`None`: run it alone after).
fn decide_and_write(
    conn: &mut DbConnection,
    puts: &[(Put, Clock)],
    batch: &[usize],
) -> Result<Vec<(usize, Option<Outcome>)>, Error> {
    let now = batch.first().map_or(0, |&i| puts[i].1.now);
    let owners_of: Vec<String> = puts.iter().map(|(put, _)| put.owner.to_string()).collect();
    let mut addresses: Vec<&str> = batch.iter().map(|&i| owners_of[i].as_str()).collect();
    addresses.sort_unstable();
    addresses.dedup();

    let owners: HashMap<String, crate::domain::Owner> = put_batch::lock_owners(conn, &addresses)?
        .into_iter()
        .map(|owner| (owner.address.clone(), owner))
        .collect();
    let mut asked = Asked::default();
    for &i in batch {
        asked.i.push(i as i64);
        asked.owners.push(&owners_of[i]);
        asked.keys.push(puts[i].0.key.as_str());
        asked.digests.push(&puts[i].0.digest);
    }
    let mut found: HashMap<usize, BeforePut> = put_batch::facts(conn, &asked, now)?
        .into_iter()
        .filter_map(|(i, found)| usize::try_from(i).ok().map(|i| (i, found)))
        .collect();
    // Per owner, its live buckets in the order storage is drawn from.
    let mut live: HashMap<String, Vec<Live>> = HashMap::new();
    for (id, owner, used, total) in put_batch::live_buckets(conn, &addresses, now)? {
        live.entry(owner)
            .or_default()
            .push(Live { id, used, total });
    }

    let mut decided = Vec::new();
    let mut writes = Writes::default();
    let mut deltas = BTreeMap::<i64, i64>::new();
    // What earlier puts of the batch decided: their signed messages, and owners whose
    // stranded documents a put alone must move first.
    let mut digests = HashSet::new();
    let mut stranded_owners = HashSet::new();
    for &i in batch {
        let (put, clock) = &puts[i];
        let address = owners_of[i].as_str();
        let (Some(found), Some(owner)) = (found.remove(&i), owners.get(address)) else {
            decided.push((i, Some(Err(Error::UserNotFound))));
            continue;
        };
        let fresh = found.fresh && !digests.contains(put.digest.as_str());
        let judged = Clock { now, ..*clock };
        if let Err(err) = admit(put, owner, found.nonce, fresh, judged) {
            decided.push((i, Some(Err(err))));
            continue;
        }
        if found.stranded || stranded_owners.contains(address) {
            // Moving documents out of expired buckets is the single put's business; the
            // owner's later puts follow it.
            stranded_owners.insert(address);
            decided.push((i, None));
            continue;
        }
        let existing = match existing(found.placement, address) {
            Ok(existing) => existing.map(|p| (p.bucket_id, p.size)),
            Err(err) => {
                decided.push((i, Some(Err(err))));
                continue;
            }
        };
        let size = stored_size(&put.key, &put.value);
        let buckets = live.entry(address.to_owned()).or_default();
        // The refund of the old size comes first, as in the single put.
        let refund = |id: i64| existing.filter(|(b, _)| *b == id).map_or(0, |(_, s)| s);
        let Some(slot) = buckets
            .iter_mut()
            .find(|b| b.used - refund(b.id) + size <= b.total)
        else {
            decided.push((i, Some(Err(Error::InsufficientStorage))));
            continue;
        };
        slot.used += size;
        let bucket = slot.id;
        *deltas.entry(bucket).or_default() += size;
        if let Some((old, old_size)) = existing {
            if let Some(old_slot) = buckets.iter_mut().find(|b| b.id == old) {
                old_slot.used -= old_size;
            }
            *deltas.entry(old).or_default() -= old_size;
        }
        digests.insert(put.digest.as_str());
        writes.used.push((address, &put.digest));
        let row = NewDocument {
            key: put.key.as_str(),
            value: put.value.as_str(),
            owner: address,
            bucket_id: bucket,
            size,
            testnet: put.testnet,
            now: clock.now,
        };
        if existing.is_some() {
            writes.updates.push(row);
        } else {
            writes.inserts.push(row);
        }
        decided.push((i, Some(Ok(()))));
    }

    if writes.used.is_empty() {
        return Ok(decided);
    }
    writes.deltas = deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .collect();
    put_batch::write(conn, &writes)?;
    Ok(decided)
}
