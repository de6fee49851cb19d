//! One database layer for every service: a diesel `MultiConnection` over SQLite (the embedded
//! default), PostgreSQL and MySQL/MariaDB, chosen by the URL scheme; an r2d2 pool; embedded
//! per-backend migrations; and [`Database::run`], which keeps pool checkouts and queries off the
//! async executor.

use std::fmt;
use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::migration::{Migration, MigrationSource};
use diesel::prelude::*;
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
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error("database task was cancelled")]
    Cancelled,
}

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
            Some(("postgres" | "postgresql", _)) => (Backend::Postgres, url.to_owned()),
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

struct Manager {
    url: DatabaseUrl,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::Query)
    }

    fn has_broken(&self, _conn: &mut DbConnection) -> bool {
        false
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
            connection_timeout: Duration::from_secs(10),
        }
    }
}

/// The pool of a service. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
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
        let pool = r2d2::Pool::builder()
            .max_size(options.max_size)
            .min_idle(Some(0))
            .connection_timeout(options.connection_timeout)
            .test_on_check_out(false)
            .build_unchecked(Manager { url });
        drop(first);
        Ok(Self { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `work` with a pooled connection on the blocking thread pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = pool.get().map_err(DbError::Pool)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| E::from(DbError::Cancelled))?
    }

    /// Like [`Database::run`], inside one transaction that rolls back on `Err`.
    pub async fn transaction<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(move |conn| conn.transaction(work)).await
    }

    /// Applies the pending migrations (blocking; call at start-up or from `migrate`).
    pub fn migrate(&self, migrations: &Migrations) -> Result<Vec<String>, DbError> {
        let mut conn = self.pool.get()?;
        run_migrations(&mut conn, migrations)
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
