//! WAL checkpoints beside the SQLite writer ([`super::writer`]). SQLite's automatic checkpoint
//! runs on the connection that commits, every 1,000 pages: it copies those pages into the
//! database file and fsyncs it while the next batch waits. In causeway's signed puts that was
//! a fifth of the writer thread's time, and the writer is what every write queues on
//! (profiled; without it signed puts ran about 25 % faster).
//!
//! Here a thread with a connection of its own checkpoints (`PASSIVE`: it never blocks the
//! writer or a reader) whenever the writer has committed since its last run, at most once per
//! [`INTERVAL`]. A checkpoint running beside a writer seldom reaches the end of the WAL, and
//! only a complete one lets a later write start the WAL over from its beginning; so the
//! writer keeps SQLite's automatic checkpoint, at [`WAL_FRAMES_LIMIT`] frames instead of
//! 1,000: it completes what the thread has not copied yet (little, unless the thread was
//! starved of CPU) and bounds the WAL under any load. A crash loses nothing: the WAL is the
//! durable copy until a checkpoint has copied it.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::{DbConnection, DbError};

/// WAL frames (pages) after which the writer's own automatic checkpoint runs.
const WAL_FRAMES_LIMIT: u64 = 8192;
/// A WAL file grown past this is cut back when the WAL restarts. Not less: the WAL reaches
/// the frame limit (32 MiB of 4 KiB pages) between restarts, and cutting it each time had
/// the writer allocate its pages afresh (profiled).
const WAL_FILE_LIMIT: u64 = 64 * 1024 * 1024;
/// The least time between two background checkpoints: each one fsyncs the database file.
const INTERVAL: Duration = Duration::from_millis(50);

/// Sets up the writer's connection for a checkpointer beside it.
pub(super) fn configure_writer(conn: &mut DbConnection) -> Result<(), DbError> {
    conn.batch_execute(&format!(
        "PRAGMA wal_autocheckpoint = {WAL_FRAMES_LIMIT}; \
         PRAGMA journal_size_limit = {WAL_FILE_LIMIT}"
    ))
    .map_err(DbError::Query)
}

#[derive(Default)]
struct Signal {
    committed: bool,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    signal: Mutex<Signal>,
    wake: Condvar,
}

impl Shared {
    fn update(&self, change: impl FnOnce(&mut Signal)) {
        change(&mut self.signal.lock().unwrap_or_else(PoisonError::into_inner));
        self.wake.notify_one();
    }
}

/// The writer's handle on its checkpointer; dropping it stops the thread.
pub(super) struct Checkpoints {
    shared: Arc<Shared>,
}

impl Checkpoints {
    /// Starts the checkpointer on `conn`, a connection of its own to the writer's file.
    pub(super) fn start(conn: DbConnection) -> Result<Self, DbError> {
        let shared = Arc::new(Shared::default());
        let theirs = Arc::clone(&shared);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".to_owned())
            .spawn(move || run(conn, &theirs))
            .map_err(|err| DbError::Writer(format!("cannot start the checkpointer: {err}")))?;
        Ok(Self { shared })
    }

    /// After each commit of the writer: there is something to copy.
    pub(super) fn committed(&self) {
        self.shared.update(|signal| signal.committed = true);
    }
}

impl Drop for Checkpoints {
    fn drop(&mut self) {
        self.shared.update(|signal| signal.closed = true);
    }
}

fn run(mut conn: DbConnection, shared: &Shared) {
    loop {
        {
            let mut signal = shared.signal.lock().unwrap_or_else(PoisonError::into_inner);
            while !signal.committed && !signal.closed {
                signal = shared
                    .wake
                    .wait(signal)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            if signal.closed {
                return;
            }
            signal.committed = false;
        }
        if let Err(err) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            log::warn!("WAL checkpoint failed: {err}");
        }
        std::thread::sleep(INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;
    use std::time::Instant;

    use diesel::RunQueryDsl;
    use diesel::sql_types::BigInt;
    use futures_util::future::join_all;

    use super::super::{Database, DatabaseUrl, PoolOptions};
    use super::*;

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    /// Rows of 4 KiB, so each takes a page or two.
    const ROW: usize = 4096;

    async fn table(dir: &Path) -> Database {
        let url = format!("sqlite://{}", dir.join("c.sqlite").display());
        let db = Database::connect(&url, PoolOptions::default()).unwrap();
        db.write(|conn| {
            conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
                .map_err(DbError::Query)
        })
        .await
        .unwrap();
        db
    }

    async fn insert(db: &Database, rows: usize, per_write: usize) {
        let writes = (0..rows / per_write).map(|_| {
            db.write(move |conn| {
                for _ in 0..per_write {
                    conn.batch_execute(&format!("INSERT INTO t (body) VALUES (zeroblob({ROW}))"))
                        .map_err(DbError::Query)?;
                }
                Ok::<_, DbError>(())
            })
        });
        for written in join_all(writes).await {
            written.unwrap();
        }
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).map(|m| m.len()).unwrap_or_default()
    }

    /// Far fewer pages than SQLite's automatic checkpoint waited for reach the database
    /// file soon after their commit: the checkpointer copied them.
    #[tokio::test]
    async fn pages_reach_the_database_file_without_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        insert(&db, 200, 1).await;
        let file = dir.path().join("c.sqlite");
        let deadline = Instant::now() + Duration::from_secs(10);
        while size(&file) < 200 * ROW as u64 {
            assert!(
                Instant::now() < deadline,
                "no checkpoint: {} bytes",
                size(&file)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Three times the frame limit written by many writers at once: the WAL file never grows
    /// far past the limit.
    #[tokio::test]
    async fn the_wal_stays_bounded_under_sustained_writes() {
        let dir = tempfile::tempdir().unwrap();
        let db = table(dir.path()).await;
        let rows = usize::try_from(3 * WAL_FRAMES_LIMIT).unwrap();
        insert(&db, rows, 8).await;
        let wal = size(&dir.path().join("c.sqlite-wal"));
        let bound = 2 * WAL_FRAMES_LIMIT * (4096 + 24);
        assert!(wal < bound, "WAL {wal} bytes");
        let count = db
            .run(|conn| {
                diesel::sql_query("SELECT COUNT(*) AS n FROM t")
                    .get_result::<Count>(conn)
                    .map_err(DbError::Query)
            })
            .await
            .unwrap();
        assert_eq!(count.n, i64::try_from(rows).unwrap());
    }

    /// Past the limit the writer checkpoints itself, even with no checkpointer thread.
    #[test]
    fn past_the_limit_the_writer_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(&dir.path().join("w.sqlite").display().to_string()).unwrap();
        let mut conn = url.connect().unwrap();
        configure_writer(&mut conn).unwrap();
        conn.batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .unwrap();
        let file = dir.path().join("w.sqlite");
        // Each row takes two pages (its body overflows); one transaction per row.
        let rows = WAL_FRAMES_LIMIT / 2 + 10;
        for row in 0..rows {
            if row == rows / 2 {
                assert!(
                    size(&file) < 100 * ROW as u64,
                    "checkpointed before the limit"
                );
            }
            conn.batch_execute(&format!("INSERT INTO t (body) VALUES (zeroblob({ROW}))"))
                .unwrap();
        }
        assert!(size(&file) >= 1000 * ROW as u64, "{} bytes", size(&file));
    }
}
