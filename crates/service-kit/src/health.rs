//! `/health/ready`: "this replica can serve". Its own needs (database, schema, storage) are
//! *required*: one failing makes it 503, and Kubernetes takes the replica out of the Service.
//! Upstream ledgers are *dependencies*: one that is down leaves it 200 with
//! `"status": "degraded"` and the reason in the body, because reads that need no ledger must
//! keep being served, and every replica shares the same ledger. Each dependency's last state
//! is the gauge `<service>_dependency_up{dependency="..."}` in `/metrics`. A data directory
//! short of space degrades the replica the same way (reads still work; writes answer 507),
//! with its free bytes in the body and in `<service>_free_bytes{path="..."}`.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Map, Value, json};

use crate::db::{Database, Migrations};
use crate::metrics::Metrics;

/// How long a single check may take before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(5);
/// How often dependencies are probed when nobody asks, so the gauge stays current.
pub(crate) const DEPENDENCY_REFRESH: Duration = Duration::from_secs(15);

/// Below this many free bytes a data directory is reported degraded.
pub const LOW_SPACE: u64 = 64 * 1024 * 1024;

/// What one check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    /// The replica still serves, with less than it should (the reason says what).
    Degraded(String),
    /// The replica cannot serve.
    Unready(String),
}

type CheckFuture = Pin<Box<dyn Future<Output = Outcome> + Send>>;
type Check = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Required,
    Dependency,
}

/// The named checks `/health/ready` runs.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(&'static str, Kind, Check)>,
    /// The last outcome of each dependency, for the gauge.
    dependencies_up: Arc<Mutex<BTreeMap<&'static str, bool>>>,
    /// Data directories whose free space is reported.
    data_dirs: Vec<PathBuf>,
}

/// The overall outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Health {
    Ready,
    Degraded,
    Unready,
}

impl Readiness {
    pub fn new() -> Self {
        Self::default()
    }

    /// A check of what this replica itself needs; `Err(reason)` makes it unready (503).
    pub fn check<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.with(name, Kind::Required, move || {
            let outcome = check();
            async move {
                outcome
                    .await
                    .map_or_else(Outcome::Unready, |()| Outcome::Ok)
            }
        })
    }

    /// A check that tells degraded from unready itself (storage that is full but readable).
    pub fn check_outcome<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.with(name, Kind::Required, check)
    }

    /// A check of an upstream service; `Err(reason)` makes the replica degraded, still 200.
    pub fn dependency<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.with(name, Kind::Dependency, move || {
            let outcome = check();
            async move {
                outcome.await.map_or_else(
                    |reason| Outcome::Degraded(format!("unreachable: {reason}")),
                    |()| Outcome::Ok,
                )
            }
        })
    }

    /// `<name>_space`: degraded while `dir` has less than [`LOW_SPACE`] free; its free bytes
    /// also go to `/metrics`.
    pub fn disk_space(mut self, name: &'static str, dir: PathBuf) -> Self {
        self.data_dirs.push(dir.clone());
        self.with(name, Kind::Required, move || {
            let dir = dir.clone();
            async move {
                match tokio::task::spawn_blocking(move || free_bytes(&dir)).await {
                    Ok(Ok(free)) if free < LOW_SPACE => {
                        Outcome::Degraded(format!("low on space: {free} bytes free"))
                    }
                    Ok(Ok(_)) => Outcome::Ok,
                    Ok(Err(err)) => Outcome::Degraded(format!("free space unknown: {err}")),
                    Err(err) => Outcome::Degraded(format!("free space unknown: {err}")),
                }
            }
        })
    }

    /// `database`: a round trip; `schema`: every migration the binary embeds is applied. A
    /// replica started with `--no-migrate` before the migration Job finished waits unready.
    pub fn database(self, db: &Database, migrations: &'static Migrations) -> Self {
        let this = match db.data_dir() {
            Some(dir) => self.disk_space("database_space", dir),
            None => self,
        };
        this.database_checks(db, migrations)
    }

    fn database_checks(self, db: &Database, migrations: &'static Migrations) -> Self {
        let ping = db.clone();
        let schema = db.clone();
        let complete = Arc::new(AtomicBool::new(false));
        self.check("database", move || {
            let db = ping.clone();
            async move { db.ping().await.map_err(|e| e.to_string()) }
        })
        .check("schema", move || {
            let (db, complete) = (schema.clone(), complete.clone());
            async move {
                // Migrations are never taken back while the service runs: once complete, the
                // check is free.
                if complete.load(Ordering::Acquire) {
                    return Ok(());
                }
                let pending = db
                    .pending_migrations(migrations)
                    .await
                    .map_err(|e| e.to_string())?;
                if pending.is_empty() {
                    complete.store(true, Ordering::Release);
                    return Ok(());
                }
                Err(format!(
                    "{} migration(s) not applied yet: {}",
                    pending.len(),
                    pending.join(", ")
                ))
            }
        })
    }

    fn with<F, Fut>(mut self, name: &'static str, kind: Kind, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        self.checks
            .push((name, kind, Arc::new(move || Box::pin(check()))));
        self
    }

    /// Runs the checks of the given kinds at once; the outcome and one line per check.
    async fn run(&self, only_dependencies: bool) -> (Health, Map<String, Value>) {
        let selected = self
            .checks
            .iter()
            .filter(|(_, kind, _)| !only_dependencies || *kind == Kind::Dependency);
        let results = futures_util::future::join_all(selected.map(|(name, kind, check)| {
            let check = check.clone();
            async move {
                // An upstream that hangs (a stopped pod's address) is as away as one that
                // refuses: degraded, like any other failed dependency.
                let timed_out = || match kind {
                    Kind::Dependency => Outcome::Degraded("timed out".to_owned()),
                    _ => Outcome::Unready("timed out".to_owned()),
                };
                let outcome = tokio::time::timeout(CHECK_TIMEOUT, check())
                    .await
                    .unwrap_or_else(|_| timed_out());
                (*name, *kind, outcome)
            }
        }))
        .await;
        let mut health = Health::Ready;
        let mut report = Map::new();
        for (name, kind, outcome) in results {
            if kind == Kind::Dependency {
                lock(&self.dependencies_up).insert(name, outcome == Outcome::Ok);
            }
            let text = match outcome {
                Outcome::Ok => "ok".to_owned(),
                Outcome::Degraded(reason) => {
                    log::warn!("readiness check {name} degraded: {reason}");
                    if health == Health::Ready {
                        health = Health::Degraded;
                    }
                    reason
                }
                Outcome::Unready(reason) => {
                    log::warn!("readiness check {name} failed: {reason}");
                    health = Health::Unready;
                    reason
                }
            };
            report.insert(name.to_owned(), Value::String(text));
        }
        (health, report)
    }

    /// Registers `<service>_dependency_up{dependency="..."}` (1 up, 0 down) and
    /// `<service>_free_bytes{path="..."}` in `metrics`.
    pub(crate) fn register_gauges(&self, metrics: &Metrics) {
        let prefix = metrics.service().replace('-', "_");
        if !self.data_dirs.is_empty() {
            let dirs = self.data_dirs.clone();
            metrics.labelled_gauge(
                &format!("{prefix}_free_bytes"),
                "Bytes free for this service in each of its data directories.",
                "path",
                move || {
                    dirs.iter()
                        .filter_map(|dir| {
                            let free = free_bytes(dir).ok()?;
                            Some((dir.display().to_string(), free as f64))
                        })
                        .collect()
                },
            );
        }
        if !self
            .checks
            .iter()
            .any(|(_, kind, _)| *kind == Kind::Dependency)
        {
            return;
        }
        let name = format!("{prefix}_dependency_up");
        let states = Arc::clone(&self.dependencies_up);
        metrics.labelled_gauge(
            &name,
            "Whether an upstream dependency answered its last check (1) or not (0).",
            "dependency",
            move || {
                lock(&states)
                    .iter()
                    .map(|(name, up)| ((*name).to_owned(), f64::from(u8::from(*up))))
                    .collect()
            },
        );
    }

    /// Probes the dependencies now and then every [`DEPENDENCY_REFRESH`], until dropped.
    pub(crate) async fn refresh_dependencies(self) {
        let mut interval = tokio::time::interval(DEPENDENCY_REFRESH);
        loop {
            interval.tick().await;
            self.run(true).await;
        }
    }
}

pub(crate) async fn ready(readiness: web::Data<Readiness>) -> HttpResponse {
    let (health, checks) = readiness.run(false).await;
    let (status, word) = match health {
        Health::Ready => (StatusCode::OK, "ready"),
        Health::Degraded => (StatusCode::OK, "degraded"),
        Health::Unready => (StatusCode::SERVICE_UNAVAILABLE, "unready"),
    };
    HttpResponse::build(status).json(json!({ "status": word, "checks": checks }))
}

/// Bytes an unprivileged process may still write under `dir`.
pub fn free_bytes(dir: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(dir)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
