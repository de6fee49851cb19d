//! Batches of jobs on pooled connections: requests queue their job, a serving task takes the
//! jobs waiting (up to a batch) whenever one of its slots is free and runs them together on
//! one connection, and each request gets its own outcome. `/put` on PostgreSQL
//! (`ops::put_batch`) and `/get`'s reads on PostgreSQL and MySQL (`ops::kv::read_batch`) use
//! it: one round trip or one commit for many requests.

use std::sync::Arc;

use service_kit::db::{Database, DbConnection, DbError};
use service_kit::error::ServiceError;
use tokio::sync::{Semaphore, mpsc, oneshot};

use crate::error::Error;

/// How much a batcher holds.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Jobs waiting; senders wait when it is full.
    pub queue: usize,
    /// Jobs per batch at most.
    pub max_batch: usize,
    /// Batches under way at once, each on a pooled connection: one waits for its database
    /// while the others run.
    pub concurrent: usize,
}

type Queued<J, O> = (J, oneshot::Sender<O>);

/// The queue's sending end. Cheap to clone.
pub struct Batcher<J, O> {
    queue: mpsc::Sender<Queued<J, O>>,
}

impl<J, O> Clone for Batcher<J, O> {
    fn clone(&self) -> Self {
        Self {
            queue: self.queue.clone(),
        }
    }
}

/// The queue's serving end, until [`Batches::run`] serves it.
pub struct Batches<J, O> {
    jobs: mpsc::Receiver<Queued<J, O>>,
    limits: Limits,
}

pub fn channel<J, O>(limits: Limits) -> (Batcher<J, O>, Batches<J, O>) {
    let (queue, jobs) = mpsc::channel(limits.queue);
    (Batcher { queue }, Batches { jobs, limits })
}

impl<J, O> Batcher<J, O> {
    /// Runs `job` in the next batch; its outcome, `None` when the batcher has stopped.
    pub async fn submit(&self, job: J) -> Option<O> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((job, reply)).await.ok()?;
        answer.await.ok()
    }
}

/// What a job of a batch is answered.
pub trait Outcome: Send + 'static {
    /// The answer to a job whose batch got no connection.
    fn failed(err: &DbError) -> Self;
    /// Whether the job met a database that may be lost, so the connection is checked.
    fn lost(&self) -> bool;
}

impl<T: Send + 'static> Outcome for Result<T, Error> {
    fn failed(err: &DbError) -> Self {
        Err(Error::batch_failed(err.unavailable()))
    }

    fn lost(&self) -> bool {
        self.as_ref()
            .is_err_and(|err| err.database_unavailable().is_some())
    }
}

impl<J: Send + 'static, O: Outcome> Batches<J, O> {
    /// Serves the queue until every [`Batcher`] is dropped. `work` runs one batch (jobs in
    /// arrival order) and returns one outcome per job, in order.
    pub async fn run<W>(mut self, db: Database, work: W)
    where
        W: Fn(&mut DbConnection, Vec<J>) -> Vec<O> + Clone + Send + 'static,
    {
        let slots = Arc::new(Semaphore::new(self.limits.concurrent));
        while let Some(first) = self.jobs.recv().await {
            let Ok(slot) = slots.clone().acquire_owned().await else {
                return;
            };
            let mut queued = vec![first];
            while queued.len() < self.limits.max_batch {
                match self.jobs.try_recv() {
                    Ok(job) => queued.push(job),
                    Err(_) => break,
                }
            }
            let (db, work) = (db.clone(), work.clone());
            tokio::spawn(async move {
                let _slot = slot;
                let (jobs, replies): (Vec<J>, Vec<_>) = queued.into_iter().unzip();
                let outcomes = db
                    .run_judged(
                        move |conn| work(conn, jobs),
                        |outcomes: &Vec<O>| outcomes.iter().any(O::lost),
                    )
                    .await;
                match outcomes {
                    Ok(outcomes) => {
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            // The client may have gone; its job stands or falls anyway.
                            let _ = reply.send(outcome);
                        }
                    }
                    Err(err) => {
                        log::warn!("batch of {} not run: {err}", replies.len());
                        for reply in replies {
                            let _ = reply.send(O::failed(&err));
                        }
                    }
                }
            });
        }
    }
}
