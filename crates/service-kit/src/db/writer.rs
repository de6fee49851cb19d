//! Group commit for SQLite, behind [`super::Database::write`]. SQLite has one writer at a time:
//! writers on a pool queue behind its file lock (sleeping in the busy handler) and each pays its
//! own commit. Instead, one thread with its own connection takes every write from a queue, runs
//! the operations it finds waiting inside one `BEGIN IMMEDIATE` transaction, each in its own
//! `SAVEPOINT`, and commits once for all of them.
//!
//! Each operation keeps its own guarantees: it sees the writes of those before it, runs its
//! own conditional checks, and an error rolls back its savepoint only, so a failed operation
//! leaves nothing and does not affect its neighbours. Replies are sent after the commit; if
//! the commit fails, every operation of the batch is answered with an error, so nothing is
//! reported done that is not.

use std::panic::{AssertUnwindSafe, catch_unwind};

use diesel::Connection;
use diesel::connection::{
    AnsiTransactionManager, SimpleConnection, TransactionManager, TransactionManagerStatus,
};
use tokio::sync::{mpsc, oneshot};

use super::checkpoint::{self, Checkpoints};
use super::{DbConnection, DbError, is_storage_full};

/// Operations waiting for the writer; senders wait when it is full.
const QUEUE: usize = 1024;
/// Operations per transaction at most, so one commit never waits on an endless queue.
const MAX_BATCH: usize = 256;
/// The writer's page cache, in KiB (SQLite's default is 2 MiB): every write reads the pages
/// it changes through this one connection. Not larger: SQLite scans the whole page-cache hash
/// table at the end of each transaction, which at 64 MiB took 4.5 % of the CPU of causeway's
/// signed puts (profiled); pages beyond it come from the operating system's cache.
const CACHE_SIZE: &str = "PRAGMA cache_size = -8192";

/// The queue of the writer thread. Cheap to clone; the thread stops when the last clone is
/// dropped.
#[derive(Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Box<dyn Job>>,
}

impl Writer {
    /// Starts the writer thread on `conn`, a connection of its own; with `checkpoints`, a
    /// second connection to the same file, WAL checkpoints run beside it
    /// ([`super::checkpoint`]); without, SQLite's automatic checkpoint runs in the writer.
    pub(super) fn start(
        mut conn: DbConnection,
        checkpoints: Option<DbConnection>,
    ) -> Result<Self, DbError> {
        conn.batch_execute(CACHE_SIZE)?;
        let checkpoints = match checkpoints {
            Some(other) => {
                checkpoint::configure_writer(&mut conn)?;
                Some(Checkpoints::start(other)?)
            }
            None => None,
        };
        let (queue, jobs) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("sqlite-writer".to_owned())
            .spawn(move || run(conn, jobs, checkpoints))
            .map_err(|err| DbError::Writer(format!("cannot start the writer thread: {err}")))?;
        Ok(Self { queue })
    }

    /// Runs `work` as one all-or-nothing operation in the next batch.
    pub(super) async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            outcome: None,
            reply,
        };
        let gone = || E::from(DbError::Writer("the writer has stopped".to_owned()));
        self.queue.send(Box::new(job)).await.map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

/// One queued operation, whatever it returns.
trait Job: Send {
    /// Runs the operation; whether it succeeded (and its savepoint is kept).
    fn run(&mut self, conn: &mut DbConnection) -> bool;
    /// Answers the request once the batch's fate is known.
    fn reply(self: Box<Self>, batch: Result<(), BatchFailure>);
}

struct Pending<T, E, F> {
    work: Option<F>,
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Job for Pending<T, E, F>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send,
    T: Send,
    E: From<DbError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        // A panicking operation must not take the writer, and every later write, with it.
        let outcome = catch_unwind(AssertUnwindSafe(|| work(conn))).unwrap_or_else(|_| {
            log::error!("a write operation panicked; rolled back");
            Err(E::from(DbError::Writer(
                "the operation failed and was rolled back".to_owned(),
            )))
        });
        let done = outcome.is_ok();
        self.outcome = Some(outcome);
        done
    }

    fn reply(self: Box<Self>, batch: Result<(), BatchFailure>) {
        let answer = match (self.outcome, batch) {
            (Some(outcome), Ok(())) => outcome,
            (_, Err(BatchFailure::StorageFull)) => Err(E::from(DbError::WriterStorageFull)),
            _ => Err(E::from(DbError::Writer(
                "the write batch was not committed".to_owned(),
            ))),
        };
        // The client may have gone away; its operation stands or falls with the batch anyway.
        let _ = self.reply.send(answer);
    }
}

/// Why a batch did not commit: a full disk is answered 507 (and passes when space returns).
#[derive(Debug, Clone, Copy)]
enum BatchFailure {
    StorageFull,
    Other,
}

fn run(
    mut conn: DbConnection,
    mut jobs: mpsc::Receiver<Box<dyn Job>>,
    checkpoints: Option<Checkpoints>,
) {
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
            abandon(&mut conn);
            if is_storage_full(&err) {
                BatchFailure::StorageFull
            } else {
                BatchFailure::Other
            }
        });
        for job in batch {
            job.reply(committed);
        }
        if let (Ok(()), Some(checkpoints)) = (committed, &checkpoints) {
            checkpoints.committed();
        }
    }
}

/// Rolls back whatever is open after a failed batch, leaving the connection ready for the next.
fn abandon(conn: &mut DbConnection) {
    type Transactions = <DbConnection as Connection>::TransactionManager;
    loop {
        match Transactions::transaction_manager_status_mut(conn).transaction_depth() {
            Ok(None) => return,
            Ok(Some(_)) if Transactions::rollback_transaction(conn).is_ok() => {}
            _ => break,
        }
    }
    // The manager lost track of the transaction: roll it back by hand and start afresh.
    let _ = conn.batch_execute("ROLLBACK");
    *Transactions::transaction_manager_status_mut(conn) = TransactionManagerStatus::default();
}

/// The batch's transaction and each operation's savepoint go through diesel's transaction
/// manager, so an operation may open transactions of its own (diesel's multi-row inserts on
/// SQLite do): they nest as savepoints instead of failing on a second `BEGIN`.
fn commit(conn: &mut DbConnection, batch: &mut [Box<dyn Job>]) -> diesel::QueryResult<()> {
    type Transactions = <DbConnection as Connection>::TransactionManager;
    match conn {
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?
        }
        _ => Transactions::begin_transaction(conn)?,
    }
    for job in batch.iter_mut() {
        Transactions::begin_transaction(conn)?;
        if job.run(conn) {
            Transactions::commit_transaction(conn)?;
        } else {
            Transactions::rollback_transaction(conn)?;
        }
    }
    Transactions::commit_transaction(conn)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    use futures_util::future::join_all;

    use super::super::{Database, PoolOptions};
    use super::*;

    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    #[derive(Debug, thiserror::Error)]
    enum OpError {
        #[error("refused")]
        Refused,
        #[error(transparent)]
        Db(#[from] DbError),
        #[error(transparent)]
        Query(#[from] diesel::result::Error),
    }

    fn count(conn: &mut DbConnection) -> Result<i64, OpError> {
        Ok(diesel::sql_query("SELECT COUNT(*) AS n FROM t")
            .get_result::<Row>(conn)?
            .n)
    }

    /// A failing operation in a batch leaves nothing and its neighbours commit; a panic is
    /// one failed operation, not a dead writer.
    #[tokio::test]
    async fn failures_stay_inside_their_savepoint() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("w.sqlite").display());
        let db = Database::connect(&url, PoolOptions::default()).unwrap();
        db.run(|conn| {
            conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY NOT NULL)")
                .map_err(OpError::from)
        })
        .await
        .unwrap();
        let outcomes = join_all((0..200i64).map(|i| {
            let db = db.clone();
            async move {
                db.write(move |conn| {
                    conn.batch_execute(&format!("INSERT INTO t VALUES ({i})"))?;
                    conn.batch_execute(&format!("INSERT INTO t VALUES ({})", i + 1000))?;
                    match i % 3 {
                        0 => Err(OpError::Refused),
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
        assert!(matches!(outcomes[0], Err(OpError::Refused)));
        assert!(matches!(
            outcomes[100],
            Err(OpError::Db(DbError::Writer(_)))
        ));
        assert_eq!(db.run(count).await.unwrap(), 2 * kept as i64);
        // A constraint failure is the operation's own error; the writer goes on.
        let duplicate = db
            .write(|conn| Ok::<_, OpError>(conn.batch_execute("INSERT INTO t VALUES (2)")?))
            .await;
        assert!(matches!(duplicate, Err(OpError::Query(_))));
        assert_eq!(db.write(count).await.unwrap(), 2 * kept as i64);
        // An operation's own transaction nests as a savepoint; its failure stays inside.
        let nested = db
            .write(|conn| {
                conn.batch_execute("INSERT INTO t VALUES (5000)")?;
                let inner = conn.transaction(|conn| {
                    conn.batch_execute("INSERT INTO t VALUES (5001)")?;
                    Err::<(), _>(OpError::Refused)
                });
                assert!(matches!(inner, Err(OpError::Refused)));
                conn.transaction(|conn| conn.batch_execute("INSERT INTO t VALUES (5002)"))?;
                Ok::<_, OpError>(())
            })
            .await;
        assert!(nested.is_ok());
        assert_eq!(db.write(count).await.unwrap(), 2 * kept as i64 + 2);
    }
}
