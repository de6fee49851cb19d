//! Group commit for `/put` on PostgreSQL, set-based. A put alone is five round trips and a
//! commit; here the puts waiting together (of different keys) run in one
//! transaction of six statements whatever their number: the owners are locked in address
//! order (as every other writer locks them, so no deadlock with single puts, transfer flushes
//! or another replica's batch), everything the rules need is read at once, each put is decided
//! in memory in arrival order, and the accepted ones are written by one statement (the rows
//! travel as JSON parameters).
//!
//! Each put keeps its own outcome: a refused put writes nothing, and the others are not
//! affected. If the transaction fails as a whole (a concurrent writer elsewhere took a key
//! first, say), every put of the batch runs again alone, in its own transaction, and gets the
//! answer it would have had. Puts the batch does not handle (an enrollment that binds a
//! delegate, an owner with documents to move out of expired buckets, a second put of a key
//! already in the batch) run alone after it. Several puts of one owner are decided in arrival
//! order against the owner's buckets as the earlier ones left them.

use std::collections::{BTreeMap, HashMap};

use diesel::RunQueryDsl as _;
use diesel::sql_types::{BigInt, Bool, Integer, Nullable, Text};
use serde_json::{Value, json};
use service_kit::db::{Database, DbConnection, Unavailable, in_transaction};
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::kv::{self, Clock, Put};
use super::prepared::{Bind, Statement};
use crate::domain::Owner;
use crate::domain::key::stored_size;
use crate::error::ApiError;

/// What became of one put of a batch.
pub type Outcome = Result<(), ApiError>;

/// Runs `puts` (in arrival order) on `conn`, batched where it can; one outcome each.
pub fn run(conn: &mut DbConnection, puts: &[(Put, Clock)]) -> Vec<Outcome> {
    let mut outcomes: Vec<Option<Outcome>> = (0..puts.len()).map(|_| None).collect();
    let mut alone_owners = std::collections::HashSet::new();
    let mut keys = std::collections::HashSet::new();
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
        match in_transaction(conn, |conn| decide_and_write(conn, puts, &batch)) {
            Ok(decided) => {
                for (i, outcome) in decided {
                    outcomes[i] = outcome;
                }
            }
            Err(err) => match unavailable(&err) {
                // The outcome of the commit is unknown, or the database is away: every put
                // of the batch is answered so (503), none is tried again.
                Some(kind) => {
                    log::warn!("put batch of {} failed: {err}", batch.len());
                    for &i in &batch {
                        outcomes[i] = Some(Err(ApiError::BatchUnavailable(kind)));
                    }
                }
                None => log::info!(
                    "put batch of {} refused as a whole ({err}); each runs alone",
                    batch.len()
                ),
            },
        }
    }
    outcomes
        .into_iter()
        .zip(puts)
        .map(|(outcome, (put, clock))| {
            outcome.unwrap_or_else(|| in_transaction(conn, |conn| kv::put(conn, put, *clock)))
        })
        .collect()
}

fn unavailable(err: &ApiError) -> Option<Unavailable> {
    use service_kit::error::ServiceError as _;
    err.database_unavailable()
}

/// The batch's transaction: outcomes of the puts it decided (`None`: run it alone after).
fn decide_and_write(
    conn: &mut DbConnection,
    puts: &[(Put, Clock)],
    batch: &[usize],
) -> Result<Vec<(usize, Option<Outcome>)>, ApiError> {
    let now = batch.first().map_or(0, |&i| puts[i].1.now);
    let mut addresses: Vec<String> = batch.iter().map(|&i| puts[i].0.owner.to_string()).collect();
    addresses.sort();
    addresses.dedup();
    let list = addresses.join(",");

    let binds = [Bind::Text(&list)];
    let locked: Vec<(String, String, bool)> = Statement::<(Text, Text, Bool)>::new(
        "SELECT address, delegate, delegate_bound FROM owners \
         WHERE address = ANY(string_to_array(?, ',')) ORDER BY address FOR UPDATE",
        &binds,
    )
    .load(conn)?;
    let owners: HashMap<String, Owner> = locked
        .into_iter()
        .map(|(address, delegate, bound)| {
            (
                address.clone(),
                Owner {
                    address,
                    delegate,
                    bound,
                },
            )
        })
        .collect();

    let wanted: Vec<Value> = batch
        .iter()
        .map(|&i| {
            let put = &puts[i].0;
            json!({"i": i, "owner": put.owner.to_string(), "key": put.key.as_str(),
                   "digest": put.digest})
        })
        .collect();
    let wanted = Value::Array(wanted).to_string();
    let binds = [Bind::Text(&wanted), Bind::Int(now)];
    type Found = (
        i32,
        Option<String>,
        Option<i64>,
        Option<String>,
        Option<i64>,
        Option<i64>,
        bool,
        bool,
    );
    let found: Vec<Found> = Statement::<(
        Integer,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<Text>,
        Nullable<BigInt>,
        Nullable<BigInt>,
        Bool,
        Bool,
    )>::new(
        "SELECT x.i, n.nonce, n.created_at, d.owner, d.bucket_id, d.size, \
         EXISTS (SELECT 1 FROM used_messages u WHERE u.owner = x.owner AND u.digest = x.digest), \
         EXISTS (SELECT 1 FROM buckets b WHERE b.owner = x.owner AND b.expires_at <= ? \
         AND b.bytes_used > 0) \
         FROM json_to_recordset(CAST(? AS json)) AS x(i int, owner text, key text, digest text) \
         LEFT JOIN nonces n ON n.owner = x.owner LEFT JOIN documents d ON d.doc_key = x.key",
        // The placeholders in order: `now` comes first in the text.
        &[binds[1], binds[0]],
    )
    .load(conn)?;

    let binds = [Bind::Text(&list), Bind::Int(now)];
    let rows: Vec<(i64, String, i64, i64)> = Statement::<(BigInt, Text, BigInt, BigInt)>::new(
        "SELECT id, owner, bytes_used, bytes_total FROM buckets \
         WHERE owner = ANY(string_to_array(?, ',')) AND expires_at > ? \
         ORDER BY owner, expires_at, id",
        &binds,
    )
    .load(conn)?;
    // Per owner, its live buckets in the order storage is drawn from: (id, used, total).
    let mut live: HashMap<String, Vec<(i64, i64, i64)>> = HashMap::new();
    for (id, owner, used, total) in rows {
        live.entry(owner).or_default().push((id, used, total));
    }

    let mut decided = Vec::new();
    let mut used_rows = Vec::new();
    let mut deltas = BTreeMap::<i64, i64>::new();
    let mut inserts = Vec::new();
    let mut updates = Vec::new();
    let mut found: HashMap<usize, Found> = found
        .into_iter()
        .filter_map(|row| usize::try_from(row.0).ok().map(|i| (i, row)))
        .collect();
    // What earlier puts of the batch decided: their signed messages, and owners whose
    // stranded documents a put alone must move first.
    let mut digests = std::collections::HashSet::new();
    let mut stranded_owners = std::collections::HashSet::new();
    for &i in batch {
        let (put, clock) = &puts[i];
        let Some((_, nonce, issued, doc_owner, doc_bucket, doc_size, replay, stranded)) =
            found.remove(&i)
        else {
            decided.push((i, Some(Err(ApiError::UserNotFound))));
            continue;
        };
        let address = put.owner.to_string();
        let Some(owner) = owners.get(&address) else {
            decided.push((i, Some(Err(ApiError::UserNotFound))));
            continue;
        };
        let checks = owner.authorise(&put.signer).and_then(|()| {
            super::nonces::matches(nonce.zip(issued), put.nonce.as_str(), now, clock.nonce_ttl)
        });
        if let Err(err) = checks {
            decided.push((i, Some(Err(err))));
            continue;
        }
        if replay || digests.contains(&put.digest) {
            decided.push((i, Some(Err(ApiError::Replay))));
            continue;
        }
        if stranded || stranded_owners.contains(&address) {
            // Moving documents out of expired buckets is the single put's business; the
            // owner's later puts follow it.
            stranded_owners.insert(address);
            decided.push((i, None));
            continue;
        }
        let existing = match (doc_owner, doc_bucket, doc_size) {
            (Some(o), Some(bucket), Some(size)) if o == address => Some((bucket, size)),
            (Some(_), Some(_), Some(_)) => {
                decided.push((i, Some(Err(ApiError::KeyTaken))));
                continue;
            }
            _ => None,
        };
        let size = stored_size(&put.key, &put.value);
        let buckets = live.entry(address.clone()).or_default();
        // The refund of the old size comes first, as in the single put.
        let refund = |id: i64| existing.filter(|(b, _)| *b == id).map_or(0, |(_, s)| s);
        let Some(slot) = buckets
            .iter_mut()
            .find(|(id, used, total)| used - refund(*id) + size <= *total)
        else {
            decided.push((i, Some(Err(ApiError::InsufficientStorage))));
            continue;
        };
        slot.1 += size;
        let bucket = slot.0;
        *deltas.entry(bucket).or_default() += size;
        if let Some((old, old_size)) = existing {
            if let Some(old_slot) = buckets.iter_mut().find(|(id, _, _)| *id == old) {
                old_slot.1 -= old_size;
            }
            *deltas.entry(old).or_default() -= old_size;
        }
        digests.insert(put.digest.clone());
        used_rows.push(json!({"owner": address, "digest": put.digest}));
        let row = json!({"key": put.key.as_str(), "value": put.value.as_str(), "owner": address,
                         "bucket_id": bucket, "size": size, "testnet": put.testnet,
                         "updated_at": clock.now});
        if existing.is_some() {
            updates.push(row);
        } else {
            inserts.push(row);
        }
        decided.push((i, Some(Ok(()))));
    }

    if used_rows.is_empty() {
        return Ok(decided);
    }
    let deltas: Vec<Value> = deltas
        .into_iter()
        .filter(|(_, delta)| *delta != 0)
        .map(|(id, delta)| json!({"id": id, "delta": delta}))
        .collect();
    let rows = [
        Value::Array(used_rows).to_string(),
        Value::Array(deltas).to_string(),
        Value::Array(inserts).to_string(),
        Value::Array(updates).to_string(),
    ];
    let binds = rows.each_ref().map(|rows| Bind::Text(rows));
    // Every write of the batch in one statement (data-modifying CTEs all run, to completion,
    // on rows that do not overlap: distinct keys, one delta per bucket).
    Statement::<()>::new(
        "WITH used AS (INSERT INTO used_messages (owner, digest) SELECT owner, digest \
         FROM json_to_recordset(CAST(? AS json)) AS x(owner text, digest text)), \
         charged AS (UPDATE buckets SET bytes_used = buckets.bytes_used + x.delta \
         FROM json_to_recordset(CAST(? AS json)) AS x(id bigint, delta bigint) \
         WHERE buckets.id = x.id), \
         inserted AS (INSERT INTO documents \
         (doc_key, value, owner, bucket_id, size, testnet, updated_at) \
         SELECT key, value, owner, bucket_id, size, testnet, updated_at \
         FROM json_to_recordset(CAST(? AS json)) AS x(key text, value text, owner text, \
         bucket_id bigint, size bigint, testnet boolean, updated_at bigint)), \
         updated AS (UPDATE documents SET value = x.value, bucket_id = x.bucket_id, \
         size = x.size, testnet = x.testnet, updated_at = x.updated_at \
         FROM json_to_recordset(CAST(? AS json)) AS x(key text, value text, owner text, \
         bucket_id bigint, size bigint, testnet boolean, updated_at bigint) \
         WHERE documents.doc_key = x.key) \
         SELECT 1",
        &binds,
    )
    .execute(conn)?;
    Ok(decided)
}

/// Puts waiting for the batcher; senders wait when it is full.
const QUEUE: usize = 1024;
/// Puts per batch at most.
const MAX_BATCH: usize = 64;
/// Batches under way at once, each on a pooled connection: one waits for its commit while
/// the others are decided and written.
const CONCURRENT_BATCHES: usize = 3;

struct Job {
    put: Put,
    clock: Clock,
    reply: oneshot::Sender<Outcome>,
}

/// The queue of PostgreSQL's put batcher. Cheap to clone.
#[derive(Clone)]
pub struct PutBatcher {
    queue: mpsc::Sender<Job>,
}

/// The batcher's end of the queue, until [`Batches::run`] serves it.
pub struct Batches {
    jobs: mpsc::Receiver<Job>,
}

pub fn channel() -> (PutBatcher, Batches) {
    let (queue, jobs) = mpsc::channel(QUEUE);
    (PutBatcher { queue }, Batches { jobs })
}

impl PutBatcher {
    /// Runs `put` in the next batch; its own outcome.
    pub async fn put(&self, put: Put, clock: Clock) -> Outcome {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { put, clock, reply })
            .await
            .map_err(|_| ApiError::WriteFailed)?;
        answer.await.map_err(|_| ApiError::WriteFailed)?
    }
}

impl Batches {
    /// Takes the puts waiting (up to [`MAX_BATCH`]) whenever a batch slot is free, until every
    /// [`PutBatcher`] is dropped.
    pub async fn run(mut self, db: Database) {
        let slots = std::sync::Arc::new(Semaphore::new(CONCURRENT_BATCHES));
        while let Some(first) = self.jobs.recv().await {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match self.jobs.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            let db = db.clone();
            tokio::spawn(async move {
                let _slot = slot;
                let (puts, replies): (Vec<_>, Vec<_>) = jobs
                    .into_iter()
                    .map(|job| ((job.put, job.clock), job.reply))
                    .unzip();
                let outcomes = db
                    .run(move |conn| Ok::<_, ApiError>(run(conn, &puts)))
                    .await;
                match outcomes {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            // The client may have gone; its put stands or falls anyway.
                            let _ = reply.send(outcome);
                        }
                    }
                    Err(err) => {
                        let kind = unavailable(&err);
                        log::warn!("put batch not run: {err}");
                        for reply in replies {
                            let _ = reply.send(Err(match kind {
                                Some(kind) => ApiError::BatchUnavailable(kind),
                                None => ApiError::WriteFailed,
                            }));
                        }
                    }
                }
            });
        }
    }
}
