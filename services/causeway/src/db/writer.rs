//! Group commit for SQLite. SQLite has one writer at a time: writers on a pool queue behind
//! its file lock (sleeping in the busy handler) and each pays its own commit. Instead, one
//! thread with its own connection takes every write from a queue, runs the operations it
//! finds waiting inside one `BEGIN IMMEDIATE` transaction, each in its own `SAVEPOINT`, and
//! commits once for all of them.
//!
//! Each operation keeps its own guarantees: it sees the writes of those before it, runs its
//! own conditional checks, and an error rolls back its savepoint only, so a failed operation
//! leaves nothing and does not affect its neighbours. Replies are sent after the commit; if
//! the commit fails, every operation of the batch is answered with an error, so nothing is
//! reported done that is not.

use std::panic::{AssertUnwindSafe, catch_unwind};

use anyhow::Context as _;
use diesel::connection::SimpleConnection;
use service_kit::db::{DbConnection, is_storage_full};
use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

/// Operations waiting for the writer; senders wait when it is full.
const QUEUE: usize = 1024;
/// Operations per transaction at most, so one commit never waits on an endless queue.
const MAX_BATCH: usize = 256;
/// The writer's page cache, in KiB (SQLite's default is 2 MiB).
const CACHE_SIZE: &str = "PRAGMA cache_size = -65536";

/// The queue of the writer thread. Cheap to clone; the thread stops when the last clone is
/// dropped.
#[derive(Clone)]
pub struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, a connection of its own.
    pub fn start(mut conn: DbConnection) -> anyhow::Result<Self> {
        // Every write and `/get` reads through this one connection: a page cache large
        // enough for the hot documents saves a read syscall per page.
        conn.batch_execute(CACHE_SIZE)
            .context("cannot size the writer's page cache")?;
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("causeway-writer".to_owned())
            .spawn(move || run(conn, jobs))
            .context("cannot start the SQLite writer thread")?;
        Ok(Self { queue })
    }

    /// Runs `work` as one all-or-nothing operation in the next batch.
    pub async fn write<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work, true).await
    }

    /// Runs `work`, whose writes are each a single atomic statement, in the next batch
    /// without a savepoint of its own: an error leaves nothing to roll back.
    pub async fn write_each<T, F>(&self, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.submit(work, false).await
    }

    async fn submit<T, F>(&self, work: F, savepoint: bool) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            savepoint,
            outcome: None,
            reply,
        };
        self.queue
            .send(Box::new(job))
            .await
            .map_err(|_| ApiError::WriteFailed)?;
        answer.await.map_err(|_| ApiError::WriteFailed)?
    }
}

/// One queued operation, whatever it returns.
trait Job: Send {
    /// Whether the operation needs a savepoint to be all-or-nothing.
    fn savepoint(&self) -> bool;
    /// Runs the operation; whether it succeeded (and its savepoint is kept).
    fn run(&mut self, conn: &mut DbConnection) -> bool;
    /// Answers the request once the batch's fate is known.
    fn reply(self: Box<Self>, batch: Result<(), BatchFailure>);
}

struct Pending<T, F> {
    work: Option<F>,
    savepoint: bool,
    outcome: Option<Result<T, ApiError>>,
    reply: oneshot::Sender<Result<T, ApiError>>,
}

impl<T, F> Job for Pending<T, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send,
    T: Send,
{
    fn savepoint(&self) -> bool {
        self.savepoint
    }

    fn run(&mut self, conn: &mut DbConnection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A panicking operation must not take the writer, and every later write, with it.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
            log::error!("a write operation panicked; rolled back");
            Err(ApiError::WriteFailed)
        });
        let done = outcome.is_ok();
        self.outcome = Some(outcome);
        done
    }

    fn reply(self: Box<Self>, batch: Result<(), BatchFailure>) {
        let answer = match (self.outcome, batch) {
            (Some(outcome), Ok(())) => outcome,
            (_, Err(BatchFailure::DiskFull)) => Err(ApiError::DatabaseFull),
            _ => Err(ApiError::WriteFailed),
        };
        // The client may have gone away; its operation stands or falls with the batch anyway.
        let _ = self.reply.send(answer);
    }
}

/// Why a batch did not commit: a full disk is answered 507 (and passes when space returns).
#[derive(Debug, Clone, Copy)]
enum BatchFailure {
    DiskFull,
    Other,
}

fn run(mut conn: DbConnection, mut jobs: mpsc::Receiver<Box<dyn Job>>) {
    while let Some(first) = jobs.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let committed = commit(&mut conn, &mut batch).map_err(|err| {
            log::error!("write batch of {} failed: {err}", batch.len());
            let _ = conn.batch_execute("ROLLBACK");
            if is_storage_full(&err) {
                BatchFailure::DiskFull
            } else {
                BatchFailure::Other
            }
        });
        for job in batch {
            job.reply(committed);
        }
    }
}

fn commit(conn: &mut DbConnection, batch: &mut [Box<dyn Job>]) -> diesel::QueryResult<()> {
    conn.batch_execute("BEGIN IMMEDIATE")?;
    for job in batch.iter_mut() {
        if !job.savepoint() {
            job.run(conn);
            continue;
        }
        conn.batch_execute("SAVEPOINT op")?;
        if job.run(conn) {
            conn.batch_execute("RELEASE op")?;
        } else {
            conn.batch_execute("ROLLBACK TO op; RELEASE op")?;
        }
    }
    conn.batch_execute("COMMIT")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    use futures_util::future::join_all;
    use service_kit::db::DatabaseUrl;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection) -> i64 {
        diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Row>(conn)
            .unwrap()
            .n
    }

    fn open(path: &std::path::Path) -> DbConnection {
        DatabaseUrl::parse(path.to_str().unwrap())
            .unwrap()
            .connect()
            .unwrap()
    }

    /// A failing operation in a batch leaves nothing and its neighbours commit; a panic is
    /// one failed operation, not a dead writer.
    #[tokio::test]
    async fn failures_stay_inside_their_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.sqlite");
        let mut reader = open(&path);
        reader
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL)")
            .unwrap();
        let writer = Writer::start(open(&path)).unwrap();
        let outcomes = join_all((0..200i64).map(|i| {
            let writer = writer.clone();
            async move {
                writer
                    .write(move |conn| {
                        conn.batch_execute(&format!("INSERT INTO t VALUES ({i})"))?;
                        conn.batch_execute(&format!("INSERT INTO t VALUES ({})", i + 1000))?;
                        match i % 3 {
                            0 => Err(ApiError::InsufficientStorage),
                            1 if i == 100 => panic!("boom"),
                            _ => Ok(i),
                        }
                    })
                    .await
            }
        }))
        .await;
        let kept = outcomes.iter().filter(|o| o.is_ok()).count();
        assert_eq!(kept, 200 - 67 - 1);
        assert!(matches!(outcomes[0], Err(ApiError::InsufficientStorage)));
        assert!(matches!(outcomes[100], Err(ApiError::WriteFailed)));
        assert_eq!(count(&mut reader), 2 * kept as i64);
        // A constraint failure is the operation's own error; the writer goes on.
        let duplicate = writer
            .write(|conn| Ok(conn.batch_execute("INSERT INTO t VALUES (2)")?))
            .await;
        assert!(matches!(duplicate, Err(ApiError::Query(_))));
        let counted = writer.write_each(|conn| Ok(count(conn))).await.unwrap();
        assert_eq!(counted, 2 * kept as i64);
    }
}
