//! One database layer for every service: a diesel `MultiConnection` over SQLite (the embedded
//! default), PostgreSQL and MySQL/MariaDB, chosen by the URL scheme; an r2d2 pool; embedded
//! per-backend migrations; and [`Database::run`], which keeps pool checkouts and queries off the
//! async executor.

mod checkpoint;
pub mod column;
pub mod prepared;
mod writer;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use diesel::connection::{SimpleConnection, TransactionManager};
use diesel::migration::{Migration, MigrationSource};
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;
use diesel::result::DatabaseErrorKind;
use diesel::{MysqlConnection, PgConnection, SqliteConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use sha2::{Digest, Sha256};

/// A connection to whichever backend the URL named.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(PgConnection),
    Mysql(MysqlConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    /// The PostgreSQL connection, for statements only PostgreSQL runs
    /// ([`prepared::PgBind`]); an error on the other backends.
    pub fn postgres(&mut self) -> QueryResult<&mut PgConnection> {
        match self {
            DbConnection::Postgresql(conn) => Ok(conn),
            _ => Err(diesel::result::Error::QueryBuilderError(
                format!("a PostgreSQL statement on {}", self.backend()).into(),
            )),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Mysql(_) => Backend::Mysql,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
            Backend::Mysql => "MySQL",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "unsupported database URL scheme {0:?}: use sqlite://PATH (or a plain path), postgres://, or mysql://"
    )]
    UnsupportedScheme(String),
    #[error("cannot connect to {backend} at {url}: {source}")]
    Connect {
        backend: Backend,
        url: String,
        #[source]
        source: ConnectionError,
    },
    #[error("cannot create the directory of the SQLite file {path}: {source}")]
    SqliteDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    /// The connection was lost while the transaction was committing: it may or may not have
    /// been applied, so it must not be reported as done.
    #[error("connection lost during commit; outcome unknown: {0}")]
    CommitOutcomeUnknown(#[source] diesel::result::Error),
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database task was cancelled")]
    Cancelled,
    /// SQLite's group-commit writer did not commit the operation (or has stopped): nothing of
    /// it was stored.
    #[error("write not committed: {0}")]
    Writer(String),
    /// SQLite's group-commit writer could not commit for want of disk space.
    #[error("write not committed: the database disk is full")]
    WriterStorageFull,
}

/// A database failure that is the client's to retry: the database is away or the
/// connection failed. Services answer it 503 + `Retry-After`, never 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// Nothing was done (no connection, or it failed before a commit).
    Away,
    /// The connection failed while committing: the write may or may not be stored.
    CommitOutcomeUnknown,
    /// The database's disk is full: nothing was stored (answered 507).
    StorageFull,
}

impl Unavailable {
    /// Seconds a client is told to wait: about how long a restarted database takes to be
    /// used again (idle connections are checked after the first failure).
    pub const RETRY_AFTER_SECS: u64 = 2;

    /// `Some` when `err` is a connection-level failure or a full disk.
    pub fn of_query(err: &diesel::result::Error) -> Option<Self> {
        if is_storage_full(err) {
            return Some(Unavailable::StorageFull);
        }
        match err {
            diesel::result::Error::RollbackErrorOnCommit { commit_error, .. }
                if is_connection_error(commit_error) =>
            {
                Some(Unavailable::CommitOutcomeUnknown)
            }
            _ => is_connection_error(err).then_some(Unavailable::Away),
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Unavailable::Away => "database unavailable; try again later",
            Unavailable::CommitOutcomeUnknown => {
                "database connection lost while committing; the request may or may not have \
                 taken effect"
            }
            Unavailable::StorageFull => "insufficient storage: the database disk is full",
        }
    }
}

impl DbError {
    /// `Some` when the database is away or the connection to it failed, as opposed to a
    /// statement the database refused.
    pub fn unavailable(&self) -> Option<Unavailable> {
        match self {
            DbError::Connect { .. } | DbError::Pool(_) => Some(Unavailable::Away),
            DbError::CommitOutcomeUnknown(_) => Some(Unavailable::CommitOutcomeUnknown),
            DbError::WriterStorageFull => Some(Unavailable::StorageFull),
            DbError::Query(err) => Unavailable::of_query(err),
            _ => None,
        }
    }
}

/// The error says the connection itself failed (closed, reset, server shutting down), not
/// the statement. diesel reports only some of these as a kind; the rest carry the server's or
/// client library's text.
pub fn is_connection_error(err: &diesel::result::Error) -> bool {
    use diesel::result::Error;
    match err {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _,
        ) => true,
        Error::DatabaseError(_, info) => {
            let message = info.message().to_ascii_lowercase();
            CONNECTION_FAILURES.iter().any(|m| message.contains(m))
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => is_connection_error(commit_error),
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// The database refused a write for want of disk space (SQLite `SQLITE_FULL`, PostgreSQL
/// 53100 `disk_full`, MySQL/MariaDB 1114 "table is full" and 1021 "disk full").
pub fn is_storage_full(err: &diesel::result::Error) -> bool {
    let diesel::result::Error::DatabaseError(_, info) = err else {
        return false;
    };
    let message = info.message().to_ascii_lowercase();
    STORAGE_FULL.iter().any(|m| message.contains(m))
}

const STORAGE_FULL: &[&str] = &[
    "database or disk is full",
    "no space left on device",
    "could not extend file",
    "is full",
    "disk full",
];

/// Texts of connection-level failures: libpq, PostgreSQL's shutdown notices (SQLSTATE 57P01..
/// 57P03, which diesel does not expose), the MySQL/MariaDB client library.
const CONNECTION_FAILURES: &[&str] = &[
    "server closed the connection",
    "no connection to the server",
    "terminating connection",
    "the database system is",
    "connection to server",
    "could not receive data from server",
    "could not send data to server",
    "ssl syscall error",
    "server has gone away",
    "lost connection to",
    "can't connect to",
    "connection refused",
    "connection reset",
    "broken pipe",
    "server shutdown in progress",
    "connection was killed",
];

/// A parsed database URL: the backend and what its driver is given.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    target: String,
}

impl DatabaseUrl {
    /// `sqlite://PATH`, `sqlite:PATH`, a plain path, `postgres://` / `postgresql://`,
    /// `mysql://` / `mariadb://`. Anything else with a scheme is refused before a pool exists.
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        let (backend, target) = match url.split_once("://") {
            Some(("sqlite", path)) => (Backend::Sqlite, path.to_owned()),
            Some(("postgres" | "postgresql", _)) => (Backend::Postgres, with_libpq_timeouts(url)),
            Some(("mysql", _)) => (Backend::Mysql, url.to_owned()),
            Some(("mariadb", rest)) => (Backend::Mysql, format!("mysql://{rest}")),
            Some((scheme, _)) => return Err(DbError::UnsupportedScheme(scheme.to_owned())),
            None => match url.strip_prefix("sqlite:") {
                Some(path) => (Backend::Sqlite, path.to_owned()),
                None if url == ":memory:" => (Backend::Sqlite, url.to_owned()),
                None if url.contains(':') && !url.starts_with('/') && !url.starts_with('.') => {
                    let scheme = url.split(':').next().unwrap_or_default();
                    return Err(DbError::UnsupportedScheme(scheme.to_owned()));
                }
                None => (Backend::Sqlite, url.to_owned()),
            },
        };
        if target.is_empty() {
            return Err(DbError::UnsupportedScheme(format!(
                "{backend} URL without a target"
            )));
        }
        Ok(Self { backend, target })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL with any password replaced, for logs and errors.
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.target) {
            Ok(mut parsed) if parsed.password().is_some() => {
                let _ = parsed.set_password(Some("***"));
                parsed.to_string()
            }
            _ => self.target.clone(),
        }
    }

    /// The directory of an SQLite file.
    fn sqlite_dir(&self) -> Option<PathBuf> {
        if self.backend != Backend::Sqlite
            || self.target == ":memory:"
            || self.target.starts_with("file:")
        {
            return None;
        }
        let dir = Path::new(&self.target).parent()?;
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        Some(dir.canonicalize().unwrap_or_else(|_| dir.to_owned()))
    }

    /// Opens one connection, with the real backend error on failure.
    pub fn connect(&self) -> Result<DbConnection, DbError> {
        let connect_error = |source| DbError::Connect {
            backend: self.backend,
            url: self.redacted(),
            source,
        };
        match self.backend {
            Backend::Sqlite => {
                create_parent_dir(&self.target)?;
                let mut conn = SqliteConnection::establish(&self.target).map_err(connect_error)?;
                // WAL lets readers run beside the one writer; busy_timeout makes writers queue
                // instead of failing with "database is locked".
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;",
                )
                .map_err(DbError::Query)?;
                Ok(DbConnection::Sqlite(conn))
            }
            Backend::Postgres => PgConnection::establish(&self.target)
                .map(DbConnection::Postgresql)
                .map_err(connect_error),
            Backend::Mysql => {
                let mut conn = MysqlConnection::establish(&self.target).map_err(connect_error)?;
                conn.batch_execute("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED")
                    .map_err(DbError::Query)?;
                Ok(DbConnection::Mysql(conn))
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

/// libpq waits on a dead server's address for as long as TCP lets it (minutes) unless told
/// otherwise: a database host that vanished without closing its connections (a killed pod, a
/// failover) then hangs every request. These bounds apply unless the URL sets its own.
const LIBPQ_TIMEOUTS: &[(&str, &str)] = &[
    ("connect_timeout", "5"),
    ("keepalives", "1"),
    ("keepalives_idle", "10"),
    ("keepalives_interval", "5"),
    ("keepalives_count", "3"),
    ("tcp_user_timeout", "15000"),
];

fn with_libpq_timeouts(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return url.to_owned();
    };
    let given: Vec<String> = parsed.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<_> = LIBPQ_TIMEOUTS
        .iter()
        .filter(|(key, _)| !given.iter().any(|g| g == key))
        .collect();
    if missing.is_empty() {
        return url.to_owned();
    }
    let mut pairs = parsed.query_pairs_mut();
    for (key, value) in missing {
        pairs.append_pair(key, value);
    }
    drop(pairs);
    parsed.to_string()
}

fn create_parent_dir(path: &str) -> Result<(), DbError> {
    if path == ":memory:" || path.starts_with("file:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| DbError::SqliteDir {
                path: path.to_owned(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// A service's embedded migrations, one set per backend.
pub struct Migrations {
    /// Names the advisory lock replicas take so only one migrates at a time.
    pub service: &'static str,
    pub sqlite: EmbeddedMigrations,
    pub postgres: EmbeddedMigrations,
    pub mysql: EmbeddedMigrations,
}

/// Runs the pending migrations under a database-wide lock; returns the versions applied.
pub fn run_migrations(
    conn: &mut DbConnection,
    migrations: &Migrations,
) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => apply(c, &migrations.sqlite),
        DbConnection::Postgresql(c) => {
            let key = lock_key(migrations.service);
            c.batch_execute(&format!("SELECT pg_advisory_lock({key})"))?;
            let applied = apply(c, &migrations.postgres);
            c.batch_execute(&format!("SELECT pg_advisory_unlock({key})"))?;
            applied
        }
        DbConnection::Mysql(c) => {
            let name = format!("{}-migrations", migrations.service);
            c.batch_execute(&format!("DO GET_LOCK('{name}', 600)"))?;
            let applied = apply(c, &migrations.mysql);
            c.batch_execute(&format!("DO RELEASE_LOCK('{name}')"))?;
            applied
        }
    }?;
    for version in &applied {
        log::info!("applied migration {version}");
    }
    Ok(applied)
}

/// Reads what is applied without creating diesel's bookkeeping table (which diesel's own
/// `pending_migrations` does, and which concurrent readiness probes would race to create).
fn pending(conn: &mut DbConnection, migrations: &Migrations) -> Result<Vec<String>, DbError> {
    use diesel::sql_types::{BigInt, Text};

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = Text)]
        version: String,
    }

    let (embedded, schema) = match conn {
        DbConnection::Sqlite(_) => (versions::<diesel::sqlite::Sqlite>(&migrations.sqlite)?, ""),
        DbConnection::Postgresql(_) => (
            versions::<diesel::pg::Pg>(&migrations.postgres)?,
            "table_schema = current_schema() AND ",
        ),
        DbConnection::Mysql(_) => (
            versions::<diesel::mysql::Mysql>(&migrations.mysql)?,
            "table_schema = DATABASE() AND ",
        ),
    };
    let exists = if conn.backend() == Backend::Sqlite {
        "SELECT COUNT(*) AS n FROM sqlite_master \
         WHERE type = 'table' AND name = '__diesel_schema_migrations'"
            .to_owned()
    } else {
        format!(
            "SELECT COUNT(*) AS n FROM information_schema.tables \
             WHERE {schema}table_name = '__diesel_schema_migrations'"
        )
    };
    let found = diesel::sql_query(exists).get_result::<Count>(conn)?.n > 0;
    let applied: std::collections::HashSet<String> = if found {
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations")
            .load::<Applied>(conn)?
            .into_iter()
            .map(|row| row.version)
            .collect()
    } else {
        Default::default()
    };
    Ok(embedded
        .into_iter()
        .filter(|(version, _)| !applied.contains(version))
        .map(|(_, name)| name)
        .collect())
}

/// (version, name) of each migration in `set`.
fn versions<DB: diesel::backend::Backend>(
    set: &EmbeddedMigrations,
) -> Result<Vec<(String, String)>, DbError> {
    let found =
        MigrationSource::<DB>::migrations(set).map_err(|e| DbError::Migration(e.to_string()))?;
    Ok(found
        .iter()
        .map(|m| (m.name().version().to_string(), m.name().to_string()))
        .collect())
}

fn apply<C>(conn: &mut C, set: &EmbeddedMigrations) -> Result<Vec<String>, DbError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    conn.run_pending_migrations(Borrowed(set))
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| DbError::Migration(e.to_string()))
}

/// `EmbeddedMigrations` is neither `Copy` nor `Clone`, and the harness takes its source by value.
struct Borrowed<'a>(&'a EmbeddedMigrations);

impl<DB: diesel::backend::Backend> MigrationSource<DB> for Borrowed<'_> {
    fn migrations(&self) -> diesel::migration::Result<Vec<Box<dyn Migration<DB>>>> {
        MigrationSource::<DB>::migrations(self.0)
    }
}

fn lock_key(service: &str) -> i64 {
    let digest = Sha256::digest(service.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

/// A pooled connection and what the pool knows of its health.
pub struct Pooled {
    conn: DbConnection,
    /// The outage count when this connection was last known good.
    checked_at: u64,
    broken: bool,
}

/// Connections are checked on checkout only after some connection of the pool has failed
/// (counted in `outages`): a restarted database leaves every idle connection dead, and a
/// round trip per checkout would cost every request while nothing is wrong.
struct Manager {
    url: DatabaseUrl,
    health: Arc<Health>,
}

/// What the pool has learnt about the database, shared by the manager and [`Database`].
#[derive(Default)]
struct Health {
    /// Connection failures seen so far; a connection last checked at an older count is
    /// checked again before its next use.
    outages: AtomicU64,
    /// The last attempt to connect failed: checkouts wait briefly instead of the whole
    /// connection timeout, so clients get their 503 at once while the database is away.
    unreachable: AtomicBool,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = DbError;

    fn connect(&self) -> Result<Pooled, DbError> {
        let checked_at = self.health.outages.load(Ordering::Acquire);
        let connected = self.url.connect();
        self.health
            .unreachable
            .store(connected.is_err(), Ordering::Release);
        connected.map(|conn| Pooled {
            conn,
            checked_at,
            broken: false,
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), DbError> {
        let outages = self.health.outages.load(Ordering::Acquire);
        if pooled.checked_at == outages {
            return Ok(());
        }
        pooled
            .conn
            .batch_execute("SELECT 1")
            .map_err(DbError::Query)?;
        pooled.checked_at = outages;
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.broken || pooled.conn.is_broken()
    }
}

/// Pool sizing; the defaults suit one replica on a small machine.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub max_size: u32,
    pub connection_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_size: 8,
            // r2d2 retries a failed connect with a backoff capped at half of this: with 5 s a
            // restarted database is connected to again within 2.5 s.
            connection_timeout: Duration::from_secs(5),
        }
    }
}

/// The pool of a service. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    health: Arc<Health>,
    /// Where an SQLite database keeps its files.
    sqlite_dir: Option<PathBuf>,
    /// SQLite's group-commit writer (see [`Database::write`]); `None` on the servers.
    writer: Option<writer::Writer>,
}

/// A checkout waits in slices of this, so it gives up soon after the database is found away
/// instead of waiting the whole connection timeout.
const CHECKOUT_SLICE: Duration = Duration::from_millis(250);

fn checkout(
    pool: &r2d2::Pool<Manager>,
    health: &Health,
) -> Result<r2d2::PooledConnection<Manager>, r2d2::Error> {
    let deadline = Instant::now() + pool.connection_timeout();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match pool.get_timeout(left.min(CHECKOUT_SLICE)) {
            Ok(pooled) => return Ok(pooled),
            Err(err) if left <= CHECKOUT_SLICE || health.unreachable.load(Ordering::Acquire) => {
                return Err(err);
            }
            Err(_) => {}
        }
    }
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Database {
    /// Connects once first, so an unreachable database fails with its real error rather than
    /// the pool's "timed out waiting for connection".
    pub fn connect(url: &str, options: PoolOptions) -> Result<Self, DbError> {
        let url = DatabaseUrl::parse(url)?;
        let first = url.connect()?;
        let backend = url.backend();
        let sqlite_dir = url.sqlite_dir();
        let writer = match backend {
            // A second connection to an in-memory database would open another database.
            Backend::Sqlite => {
                let checkpoints = sqlite_dir.as_ref().map(|_| url.connect()).transpose()?;
                Some(writer::Writer::start(first, checkpoints)?)
            }
            Backend::Postgres | Backend::Mysql => None,
        };
        let health = Arc::new(Health::default());
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(true)
            .build_unchecked(Manager {
                url,
                health: Arc::clone(&health),
            });
        Ok(Self {
            pool,
            backend,
            health,
            sqlite_dir,
            writer,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The directory of an SQLite database's files (`None` on a server, or in memory).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.sqlite_dir.clone()
    }

    /// Runs `work` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        match self.run_judged(work, Result::is_err).await {
            Ok(outcome) => outcome,
            Err(err) => Err(err.into()),
        }
    }

    /// Like [`Database::run`], for work whose outcome is more than one `Result` (a batch
    /// answering many requests): `failed` says whether it met a failure, after which the
    /// connection is checked before it goes back to the pool. A failure left unreported
    /// would return a dead connection to the pool after the database restarts, again and
    /// again.
    pub async fn run_judged<T, F, J>(&self, work: F, failed: J) -> Result<T, DbError>
    where
        F: FnOnce(&mut DbConnection) -> T + Send + 'static,
        J: FnOnce(&T) -> bool + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        let health = Arc::clone(&self.health);
        actix_web::web::block(move || {
            let mut pooled = checkout(&pool, &health).map_err(DbError::Pool)?;
            let outcome = work(&mut pooled.conn);
            if failed(&outcome) {
                check_after_failure(&mut pooled, &health.outages);
            }
            Ok(outcome)
        })
        .await
        .map_err(|_| DbError::Cancelled)?
    }

    /// Like [`Database::run`], inside one transaction that rolls back on `Err`. A commit
    /// that loses its connection is [`DbError::CommitOutcomeUnknown`], never success.
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| in_transaction(conn, work)).await
    }

    /// Runs `work` as one all-or-nothing write, the way every service writes. SQLite: in the
    /// next batch of the group-commit writer (one `BEGIN IMMEDIATE` … `COMMIT` for every write
    /// waiting, a savepoint each, answered after the commit), so writers never queue on the
    /// file lock and a read-then-write operation cannot meet `SQLITE_BUSY`. PostgreSQL and
    /// MySQL: [`Database::transaction`] on a pooled connection; the operation takes the row
    /// locks it needs.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(work).await,
            None => self.transaction(work).await,
        }
    }

    /// Applies the pending migrations (blocking; call at start-up or from `migrate`).
    pub fn migrate(&self, migrations: &Migrations) -> Result<Vec<String>, DbError> {
        let mut pooled = self.pool.get()?;
        run_migrations(&mut pooled.conn, migrations)
    }

    /// The versions of `migrations` the database does not hold yet.
    pub async fn pending_migrations(
        &self,
        migrations: &'static Migrations,
    ) -> Result<Vec<String>, DbError> {
        self.run(move |conn| pending(conn, migrations)).await
    }

    /// Readiness probe: a round trip to the database.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.run(|conn| conn.batch_execute("SELECT 1").map_err(DbError::Query))
            .await
    }

    /// Pool state, for metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }
}

/// Runs `work` in a transaction, as diesel's `Connection::transaction` does, but tells a
/// commit whose connection failed apart from one the database refused.
pub fn in_transaction<T, E, F>(conn: &mut DbConnection, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    type Transactions = <DbConnection as Connection>::TransactionManager;
    Transactions::begin_transaction(conn)?;
    match work(conn) {
        Ok(value) => match Transactions::commit_transaction(conn) {
            Ok(()) => Ok(value),
            Err(err) if is_connection_error(&err) => Err(DbError::CommitOutcomeUnknown(err).into()),
            Err(err) => Err(err.into()),
        },
        Err(work_error) => match Transactions::rollback_transaction(conn) {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(work_error),
            Err(rollback_error) => Err(rollback_error.into()),
        },
    }
}

/// After a failed operation: is the connection itself still usable? If not, it leaves the
/// pool, and every idle connection is checked before its next use.
fn check_after_failure(pooled: &mut Pooled, outages: &AtomicU64) {
    if pooled.conn.backend() == Backend::Sqlite {
        return;
    }
    if pooled.conn.is_broken() || pooled.conn.batch_execute("SELECT 1").is_err() {
        pooled.broken = true;
        outages.fetch_add(1, Ordering::AcqRel);
        log::warn!(
            "a {} connection failed; checking the others before reuse",
            pooled.conn.backend()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_schemes() {
        let parsed = |u: &str| DatabaseUrl::parse(u).map(|p| (p.backend, p.target));
        assert_eq!(
            parsed("sqlite://data/x.sqlite").unwrap(),
            (Backend::Sqlite, "data/x.sqlite".into())
        );
        assert_eq!(
            parsed("sqlite:///abs/x.db").unwrap(),
            (Backend::Sqlite, "/abs/x.db".into())
        );
        assert_eq!(
            parsed("data/x.sqlite").unwrap(),
            (Backend::Sqlite, "data/x.sqlite".into())
        );
        assert_eq!(parsed("postgres://u@h/db").unwrap().0, Backend::Postgres);
        assert_eq!(parsed("postgresql://u@h/db").unwrap().0, Backend::Postgres);
        assert_eq!(
            parsed("mariadb://root@h/db").unwrap(),
            (Backend::Mysql, "mysql://root@h/db".into())
        );
        for bad in [
            "redis://h",
            "http://x",
            "mongodb+srv://x",
            "sqlite://",
            "pg:foo",
        ] {
            assert!(
                matches!(DatabaseUrl::parse(bad), Err(DbError::UnsupportedScheme(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn connection_failures_are_told_from_refused_statements() {
        use diesel::result::Error;
        let db_error = |kind, text: &str| Error::DatabaseError(kind, Box::new(text.to_owned()));
        let lost = || {
            db_error(
                DatabaseErrorKind::Unknown,
                "Lost connection to server during query",
            )
        };
        assert_eq!(Unavailable::of_query(&lost()), Some(Unavailable::Away));
        assert_eq!(
            Unavailable::of_query(&db_error(
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command"
            )),
            Some(Unavailable::Away)
        );
        assert_eq!(
            Unavailable::of_query(&db_error(DatabaseErrorKind::ClosedConnection, "")),
            Some(Unavailable::Away)
        );
        let on_commit = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(lost()),
            commit_error: Box::new(lost()),
        };
        assert_eq!(
            Unavailable::of_query(&on_commit),
            Some(Unavailable::CommitOutcomeUnknown)
        );
        for refused in [
            db_error(DatabaseErrorKind::UniqueViolation, "duplicate key"),
            db_error(DatabaseErrorKind::Unknown, "syntax error at or near"),
            Error::NotFound,
        ] {
            assert_eq!(Unavailable::of_query(&refused), None, "{refused}");
        }
        assert_eq!(
            DbError::CommitOutcomeUnknown(lost()).unavailable(),
            Some(Unavailable::CommitOutcomeUnknown)
        );
    }

    #[test]
    fn postgres_urls_get_network_timeouts_unless_they_set_them() {
        let url = DatabaseUrl::parse("postgres://u@h/db?sslmode=disable").unwrap();
        assert!(url.target.contains("sslmode=disable"), "{}", url.target);
        assert!(url.target.contains("connect_timeout=5"), "{}", url.target);
        assert!(
            url.target.contains("tcp_user_timeout=15000"),
            "{}",
            url.target
        );
        let own = DatabaseUrl::parse("postgres://u@h/db?connect_timeout=30").unwrap();
        assert!(own.target.contains("connect_timeout=30"), "{}", own.target);
        assert!(!own.target.contains("connect_timeout=5"), "{}", own.target);
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::parse("postgres://app:hunter2@db:5432/app").unwrap();
        assert!(!url.redacted().contains("hunter2"));
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn unreachable_database_reports_the_backend_error() {
        let err = Database::connect("postgres://nobody@127.0.0.1:1/none", PoolOptions::default())
            .unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("cannot connect to PostgreSQL"), "{text}");
        assert!(text.contains("127.0.0.1"), "{text}");
    }
}
