//! `/get`'s reads on PostgreSQL and MySQL, batched: the reads waiting together are one query
//! ([`super::documents::read_many`]) instead of one round trip each. Each read still happens
//! after its request arrived, so the transfer rule (`crate::transfer`) holds as for a read
//! alone.

use std::collections::HashMap;
use std::sync::Arc;

use service_kit::db::Database;
use tokio::sync::{Semaphore, mpsc, oneshot};

use super::documents::{self, Readable};
use crate::error::ApiError;

const QUEUE: usize = 4096;
/// Reads per query at most.
const MAX_BATCH: usize = 64;
/// Queries under way at once, each on a pooled connection.
const CONCURRENT_BATCHES: usize = 3;

type Reply = oneshot::Sender<Result<Option<Readable>, ApiError>>;

struct Job {
    key: String,
    now: i64,
    reply: Reply,
}

/// The queue of the read batcher. Cheap to clone.
#[derive(Clone)]
pub struct ReadBatcher {
    queue: mpsc::Sender<Job>,
}

/// The batcher's end of the queue, until [`Reads::run`] serves it.
pub struct Reads {
    jobs: mpsc::Receiver<Job>,
}

pub fn channel() -> (ReadBatcher, Reads) {
    let (queue, jobs) = mpsc::channel(QUEUE);
    (ReadBatcher { queue }, Reads { jobs })
}

impl ReadBatcher {
    pub async fn read(&self, key: String, now: i64) -> Result<Option<Readable>, ApiError> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job { key, now, reply })
            .await
            .map_err(|_| ApiError::WriteFailed)?;
        answer.await.map_err(|_| ApiError::WriteFailed)?
    }
}

impl Reads {
    /// Serves the queue until every [`ReadBatcher`] is dropped.
    pub async fn run(mut self, db: Database) {
        let slots = Arc::new(Semaphore::new(CONCURRENT_BATCHES));
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
                let keys: Vec<String> = jobs.iter().map(|job| job.key.clone()).collect();
                // The earliest request's time: no read is judged later than it was asked.
                let now = jobs.iter().map(|job| job.now).min().unwrap_or_default();
                let found = db
                    .run(move |conn| {
                        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                        documents::read_many(conn, &keys, now).map_err(ApiError::from)
                    })
                    .await;
                match found {
                    Ok(mut found) => {
                        // A key asked twice is answered twice.
                        let mut counts: HashMap<&str, usize> = HashMap::new();
                        for job in &jobs {
                            *counts.entry(job.key.as_str()).or_default() += 1;
                        }
                        let mut counts: HashMap<String, usize> =
                            counts.into_iter().map(|(k, n)| (k.to_owned(), n)).collect();
                        for job in jobs {
                            let left = counts.get_mut(&job.key).map_or(0, |n| {
                                *n -= 1;
                                *n
                            });
                            let doc = if left == 0 {
                                found.remove(&job.key)
                            } else {
                                found.get(&job.key).cloned()
                            };
                            let _ = job.reply.send(Ok(doc));
                        }
                    }
                    Err(err) => {
                        let kind = {
                            use service_kit::error::ServiceError as _;
                            err.database_unavailable()
                        };
                        for job in jobs {
                            let _ = job.reply.send(Err(match kind {
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
