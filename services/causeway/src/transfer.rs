//! Transfer accounting for `/get` without a database write per request. Each replica counts
//! the bytes it serves per owner (and per bucket of the documents read) in memory and writes
//! them in batches, every `transfer_flush_ms`, at once when an owner's unwritten total
//! reaches `transfer_flush_bytes`, and when the server stops: one transaction per flush
//! (`db::buckets::record_transfer`), through the group-commit writer on SQLite.
//!
//! A read is served when the transfer left in the owner's live buckets, as read from the
//! database in the same query as the value, minus what this replica has served and not yet
//! written, covers the value. An owner's unwritten total on one replica never reaches
//! `transfer_flush_bytes` + one value: a read that finds it at the threshold waits for the
//! flush. What a replica cannot see is the other replicas' unwritten transfer, so the
//! overshoot past the quota is below replicas × (`transfer_flush_bytes` + `max_value_bytes`)
//! (README, "Transfer accounting"); every byte served is written, the overshoot included.
//!
//! Reads and flushes meet through a generation counter: a flush that commits bumps it, and a
//! read whose database figure may predate a commit its in-memory figure already reflects (or
//! the reverse) reads again instead of deciding on mixed figures.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, watch};

use crate::AppState;
use crate::db::buckets::{self, Served};
use crate::domain::{EncodedValue, Key};
use crate::error::Error;

/// How long a read waits for flushes before it gives up (the database is away, say).
const MAX_WAIT: Duration = Duration::from_secs(10);

/// One replica's unwritten transfer. Shared by the handlers and the flusher.
pub struct Transfer {
    inner: Mutex<Inner>,
    generation: watch::Sender<u64>,
    wake: Notify,
    /// Serialises flushes (the periodic one and the last one at shutdown).
    flushing: tokio::sync::Mutex<()>,
    threshold: i64,
    interval: Duration,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    owners: HashMap<String, Tally>,
}

#[derive(Default)]
struct Tally {
    /// Served and not yet taken by a flush, per bucket of the documents read.
    pending: BTreeMap<i64, i64>,
    pending_total: i64,
    /// Taken by the flush under way, not yet known to be committed.
    in_flight: i64,
}

impl Tally {
    fn unwritten(&self) -> i64 {
        self.pending_total + self.in_flight
    }
}

/// What a read may do, decided under the lock.
#[derive(Debug, PartialEq, Eq)]
enum Admission {
    Served,
    Exhausted,
    /// A flush committed since the database was read: read again.
    ReadAgain,
    /// Wait for the next flush, then read again.
    AwaitFlush,
}

impl Transfer {
    pub fn new(threshold_bytes: u64, interval: Duration) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            generation: watch::Sender::new(0),
            wake: Notify::new(),
            flushing: tokio::sync::Mutex::new(()),
            // A setting beyond i64 means "never flush for size": it saturates.
            threshold: i64::try_from(threshold_bytes.max(1)).unwrap_or(i64::MAX),
            interval: interval.max(Duration::from_millis(1)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // Nothing panics while holding it; a poisoned lock still holds consistent figures.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What this replica has served for `owner` and not yet written.
    pub fn unwritten(&self, owner: &str) -> i64 {
        self.lock().owners.get(owner).map_or(0, Tally::unwritten)
    }

    fn admit(&self, seen: u64, owner: &str, bucket: i64, bytes: i64, room: i64) -> Admission {
        let mut inner = self.lock();
        if inner.generation != seen {
            return Admission::ReadAgain;
        }
        let (unwritten, in_flight) = inner
            .owners
            .get(owner)
            .map_or((0, 0), |t| (t.unwritten(), t.in_flight));
        if unwritten >= self.threshold {
            self.wake.notify_one();
            return Admission::AwaitFlush;
        }
        if room.saturating_sub(unwritten) < bytes {
            // Bytes in flight may already be in `room`: decide once they are settled.
            return if in_flight > 0 {
                Admission::AwaitFlush
            } else {
                Admission::Exhausted
            };
        }
        let tally = match inner.owners.get_mut(owner) {
            Some(tally) => tally,
            None => inner.owners.entry(owner.to_owned()).or_default(),
        };
        *tally.pending.entry(bucket).or_default() += bytes;
        tally.pending_total += bytes;
        if tally.unwritten() >= self.threshold {
            self.wake.notify_one();
        }
        Admission::Served
    }

    /// Moves everything pending into a flush.
    fn take(&self) -> Served {
        let mut inner = self.lock();
        let mut batch = Served::new();
        for (owner, tally) in inner.owners.iter_mut() {
            if tally.pending_total == 0 {
                continue;
            }
            tally.in_flight += tally.pending_total;
            tally.pending_total = 0;
            batch.insert(owner.clone(), std::mem::take(&mut tally.pending));
        }
        batch
    }

    /// After a flush: committed bytes leave the tally; bytes of a failed flush are pending
    /// again (written by the next one). Either way reads re-evaluate.
    fn settle(&self, batch: Served, committed: bool) {
        let mut inner = self.lock();
        for (owner, per_bucket) in batch {
            let total: i64 = per_bucket.values().sum();
            let Some(tally) = inner.owners.get_mut(&owner) else {
                continue;
            };
            tally.in_flight -= total;
            if !committed {
                for (bucket, bytes) in per_bucket {
                    *tally.pending.entry(bucket).or_default() += bytes;
                }
                tally.pending_total += total;
            }
            if tally.unwritten() == 0 {
                inner.owners.remove(&owner);
            }
        }
        inner.generation += 1;
        let generation = inner.generation;
        drop(inner);
        self.generation.send_replace(generation);
    }

    /// Writes everything served so far in one transaction.
    pub async fn flush(&self, state: &AppState) -> Result<(), Error> {
        let _one_at_a_time = self.flushing.lock().await;
        let batch = self.take();
        if batch.is_empty() {
            return Ok(());
        }
        let now = crate::domain::time::now();
        let written = batch.clone();
        // An error rolls the whole flush back: its bytes are pending again.
        let outcome = state
            .db
            .write(move |conn| Ok::<_, Error>(buckets::record_transfer(conn, &written, now)?))
            .await;
        // Before the settled tally may meet a cached room that predates this flush.
        if let Some(cache) = &state.cache {
            cache.forget_rooms(batch.keys().map(String::as_str));
        }
        self.settle(batch, outcome.is_ok());
        outcome
    }

    /// Flushes every interval, and at once when woken, until `stop` turns true.
    pub async fn run(&self, state: AppState, mut stop: watch::Receiver<bool>) {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.interval) => {}
                _ = self.wake.notified() => {}
                _ = stop.changed() => {}
            }
            if *stop.borrow() {
                return;
            }
            if let Err(err) = self.flush(&state).await {
                log::warn!("transfer flush failed (retried at the next one): {err}");
                // Do not spin on a database that is away.
                tokio::time::sleep(self.interval).await;
            }
        }
    }
}

/// `/get`: the value, once its size fits the owner's transfer (see the module's rule).
pub async fn serve(state: &AppState, key: &Key) -> Result<EncodedValue, Error> {
    let ledger = &state.transfer;
    let mut generations = ledger.generation.subscribe();
    let deadline = Instant::now() + MAX_WAIT;
    loop {
        let seen = *generations.borrow_and_update();
        let now = crate::domain::time::now();
        let (doc, room) = crate::ops::kv::read(state, key, now)
            .await?
            .ok_or(Error::KeyNotFound)?;
        // In memory: a value is at most `max_value_bytes`, far below i64::MAX.
        let bytes = i64::try_from(doc.value.size()).unwrap_or(i64::MAX);
        match ledger.admit(seen, &doc.owner, doc.bucket_id, bytes, room) {
            Admission::Served => return Ok(doc.value.clone()),
            Admission::Exhausted => return Err(Error::TransferExhausted),
            Admission::ReadAgain => {}
            Admission::AwaitFlush => {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, generations.changed()).await {
                    Ok(Ok(())) => {}
                    _ => return Err(Error::TransferNotWritten),
                }
            }
        }
        if Instant::now() >= deadline {
            return Err(Error::TransferNotWritten);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_count_against_the_quota_and_wait_at_the_threshold() {
        let transfer = Transfer::new(250, Duration::from_millis(100));
        // Room 300: two reads of 100 fit, the third reaches the threshold (250) first.
        assert_eq!(transfer.admit(0, "o", 1, 100, 300), Admission::Served);
        assert_eq!(transfer.admit(0, "o", 1, 100, 300), Admission::Served);
        assert_eq!(transfer.admit(0, "o", 2, 100, 250), Admission::Exhausted);
        assert_eq!(transfer.admit(0, "o", 2, 100, 300), Admission::Served);
        assert_eq!(transfer.admit(0, "o", 2, 1, 1000), Admission::AwaitFlush);
        assert_eq!(transfer.unwritten("o"), 300);
        // A flush takes it: reads with an older generation read again; while the bytes are
        // in flight a read that does not fit waits instead of being refused.
        let batch = transfer.take();
        assert_eq!(batch["o"], BTreeMap::from([(1, 200), (2, 100)]));
        assert_eq!(transfer.admit(0, "o", 1, 100, 300), Admission::AwaitFlush);
        transfer.settle(batch, false);
        assert_eq!(transfer.admit(0, "o", 1, 1, 1000), Admission::ReadAgain);
        assert_eq!(transfer.unwritten("o"), 300);
        let batch = transfer.take();
        transfer.settle(batch, true);
        assert_eq!(transfer.unwritten("o"), 0);
        // Now the database's figure holds the 300 bytes.
        assert_eq!(transfer.admit(2, "o", 1, 100, 0), Admission::Exhausted);
        assert_eq!(transfer.admit(2, "o", 1, 100, 100), Admission::Served);
    }
}
