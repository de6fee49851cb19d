//! Helpers for the services' tests and benchmarks (feature `testing`): a fresh database per
//! test on every configured backend, median timing for `make bench`, and checking an OpenAPI
//! document against the service ([`openapi`]).

pub mod openapi;
pub mod outage;
pub mod private_db;
pub mod server;
pub mod small_disk;

pub use server::{TestServer, assert_help_shows_defaults};

use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use rand::Rng;

use crate::db::{Backend, DatabaseUrl, DbError};

/// A database that exists for one test: a new SQLite file, or a uniquely named database on the
/// PostgreSQL / MySQL server of `TEST_POSTGRES_URL` / `TEST_MYSQL_URL`, dropped on drop.
pub struct TestDatabase {
    url: String,
    backend: Backend,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    /// `None` when the backend is not configured for this run (only SQLite always is).
    pub fn create(backend: Backend) -> Result<Option<Self>, DbError> {
        let name = format!("t_{:016x}", rand::thread_rng().r#gen::<u64>());
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().map_err(|source| DbError::SqliteDir {
                    path: "temporary directory".to_owned(),
                    source,
                })?;
                let url = format!("sqlite://{}", dir.path().join("test.sqlite").display());
                Ok(Some(Self {
                    url,
                    backend,
                    admin_url: None,
                    name,
                    _dir: Some(dir),
                }))
            }
            Backend::Postgres | Backend::Mysql => {
                let Some(admin_url) = server_url(backend) else {
                    return Ok(None);
                };
                let mut admin = DatabaseUrl::parse(&admin_url)?.connect()?;
                admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
                let url = replace_database(&admin_url, &name)?;
                Ok(Some(Self {
                    url,
                    backend,
                    admin_url: Some(admin_url),
                    name,
                    _dir: None,
                }))
            }
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(admin_url) = &self.admin_url else {
            return;
        };
        let statement = match self.backend {
            Backend::Postgres => format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            _ => format!("DROP DATABASE IF EXISTS {}", self.name),
        };
        let dropped = DatabaseUrl::parse(admin_url)
            .and_then(|url| url.connect())
            .and_then(|mut conn| conn.batch_execute(&statement).map_err(DbError::Query));
        if let Err(err) = dropped {
            eprintln!("could not drop test database {}: {err}", self.name);
        }
    }
}

/// The server URL configured for `backend`, if any.
pub fn server_url(backend: Backend) -> Option<String> {
    if backend == Backend::Sqlite {
        return None;
    }
    std::env::var(url_variable(backend))
        .ok()
        .filter(|v| !v.trim().is_empty())
}

fn replace_database(server_url: &str, name: &str) -> Result<String, DbError> {
    let mut url = url::Url::parse(server_url)
        .map_err(|e| DbError::UnsupportedScheme(format!("unparsable test URL: {e}")))?;
    url.set_path(&format!("/{name}"));
    Ok(url.to_string())
}

impl TestDatabase {
    /// A fresh database on `backend`; a backend that is not configured fails the test (it
    /// never passes without running). `make test` leaves such tests out and says so.
    pub fn require(backend: Backend) -> Self {
        match Self::create(backend) {
            Ok(Some(db)) => db,
            Ok(None) => panic!(
                "{backend} is not configured: set {} (make test does when the local server \
                 answers, and otherwise leaves the {backend} tests out and reports them)",
                url_variable(backend)
            ),
            Err(err) => panic!("cannot create a {backend} test database: {err}"),
        }
    }
}

/// The variable naming the server of `backend`'s tests.
pub fn url_variable(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "nothing (SQLite is always there)",
        Backend::Postgres => "TEST_POSTGRES_URL",
        Backend::Mysql => "TEST_MYSQL_URL",
    }
}

/// Generates one test per backend for `body(url: String)`, named `sqlite`, `postgres` and
/// `mysql`. A PostgreSQL or MySQL test whose server is not configured fails, so a skipped
/// backend is never counted as passed; `make test` filters them out by those names and
/// reports how many it left out.
#[macro_export]
macro_rules! backend_tests {
    ($name:ident, $body:path) => {
        mod $name {
            use super::*;

            async fn on(backend: $crate::db::Backend) {
                let db = $crate::testing::TestDatabase::require(backend);
                $body(db.url().to_owned()).await
            }

            #[actix_web::test]
            async fn sqlite() {
                on($crate::db::Backend::Sqlite).await
            }

            #[actix_web::test]
            async fn postgres() {
                on($crate::db::Backend::Postgres).await
            }

            #[actix_web::test]
            async fn mysql() {
                on($crate::db::Backend::Mysql).await
            }
        }
    };
}

/// One test per database server for `body(backend)`, named `postgres` and `mysql` like the
/// variants of [`backend_tests!`] (so `make test` filters and reports them the same way), for
/// tests that start their own server ([`private_db`]).
#[macro_export]
macro_rules! server_tests {
    ($body:path) => {
        #[actix_web::test]
        async fn postgres() {
            $body($crate::db::Backend::Postgres).await
        }

        #[actix_web::test]
        async fn mysql() {
            $body($crate::db::Backend::Mysql).await
        }
    };
}

/// The median wall time of `runs` calls of `work` (after one warm-up call).
pub fn median_time(runs: usize, mut work: impl FnMut()) -> Duration {
    work();
    let mut samples: Vec<Duration> = (0..runs.max(1))
        .map(|_| {
            let started = Instant::now();
            work();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[samples.len() / 2]
}

/// One row of the `make bench` table: `| service | benchmark | median | unit | note |`.
pub fn bench_row(service: &str, benchmark: &str, value: f64, unit: &str, note: &str) {
    println!("BENCH\t{service}\t{benchmark}\t{value:.3}\t{unit}\t{note}");
}

/// `GET <base>/health/ready`: the status and the JSON report.
pub async fn readiness(base: &str) -> (u16, serde_json::Value) {
    let response = reqwest::get(format!("{base}/health/ready"))
        .await
        .unwrap_or_else(|err| panic!("GET {base}/health/ready: {err}"));
    let status = response.status().as_u16();
    let report = response.json().await.unwrap_or_default();
    (status, report)
}

/// `GET <base>/metrics`: the Prometheus text.
pub async fn metrics(base: &str) -> String {
    let response = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap_or_else(|err| panic!("GET {base}/metrics: {err}"));
    response.text().await.unwrap_or_default()
}

/// Asserts the replica is ready (200, perhaps degraded) and its readiness check `check`
/// reports the free bytes of a data directory, as it does on a full disk.
pub async fn assert_ready_reporting_space(base: &str, check: &str) {
    let (status, report) = readiness(base).await;
    assert_eq!(status, 200, "{report}");
    let text = report["checks"][check].as_str().unwrap_or_default();
    assert!(text.contains("bytes free"), "{report}");
}

/// Asserts the replica is unready because its schema lacks migrations (started with
/// `--no-migrate` before the migration Job ran), runs `migrate`, and asserts it is ready.
pub async fn assert_waits_for_schema(base: &str, migrate: impl std::future::Future<Output = ()>) {
    let (status, report) = readiness(base).await;
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["checks"]["database"], "ok", "{report}");
    let schema = report["checks"]["schema"].as_str().unwrap_or_default();
    assert!(schema.contains("not applied yet"), "{report}");
    migrate.await;
    let (status, report) = readiness(base).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["checks"]["schema"], "ok", "{report}");
}

/// Sends `head` (request line and headers, without the blank line) with a chunked body of
/// 64 KiB chunks that never ends, to the server at `addr`, and asserts the server answers and
/// then closes the connection within the drain bounds of [`crate::body`] (plus slack for a
/// busy machine). Returns the answer's status line.
pub fn assert_endless_body_is_cut(addr: &str, head: &str) -> String {
    use std::io::{Read, Write};
    let mut socket =
        std::net::TcpStream::connect(addr).unwrap_or_else(|err| panic!("connect {addr}: {err}"));
    let request = format!("{head}Transfer-Encoding: chunked\r\n\r\n");
    socket
        .write_all(request.as_bytes())
        .unwrap_or_else(|err| panic!("send head: {err}"));
    let mut reader = socket
        .try_clone()
        .unwrap_or_else(|err| panic!("clone socket: {err}"));
    let answer = std::thread::spawn(move || {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && matches!(reader.read(&mut byte), Ok(1)) {
            head.push(byte[0]);
        }
        (String::from_utf8_lossy(&head).into_owned(), Instant::now())
    });
    let chunk = [b'x'; 65536];
    let mut framed = format!("{:x}\r\n", chunk.len()).into_bytes();
    framed.extend_from_slice(&chunk);
    framed.extend_from_slice(b"\r\n");
    let started = Instant::now();
    let mut sent_after = 0u64;
    while socket.write_all(&framed).is_ok() {
        if answer.is_finished() {
            sent_after += framed.len() as u64;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the server went on reading an endless body for a minute"
        );
    }
    let closed = Instant::now();
    let (head, answered) = answer
        .join()
        .unwrap_or_else(|_| panic!("reading the answer failed"));
    let closed_after = closed.duration_since(answered);
    assert!(
        closed_after < crate::body::DRAIN_TIMEOUT + crate::body::LINGER + Duration::from_secs(5),
        "closed {closed_after:?} after answering"
    );
    eprintln!("answered, then closed {closed_after:?} later ({sent_after} bytes sent after)");
    head.lines().next().unwrap_or_default().to_owned()
}
