//! `/health/ready`: "this replica can serve". Its own needs (database, schema, storage) are
//! *required*: one failing makes it 503, and Kubernetes takes the replica out of the Service.
//! Upstream ledgers are *dependencies*: one that is down leaves it 200 with
//! `"status": "degraded"` and the reason in the body, because reads that need no ledger must
//! keep being served, and every replica shares the same ledger. Each dependency's last state
//! is the gauge `<service>_dependency_up{dependency="..."}` in `/metrics`.

use std::collections::BTreeMap;
use std::future::Future;
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

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
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
        self.with(name, Kind::Required, check)
    }

    /// A check of an upstream service; `Err(reason)` makes the replica degraded, still 200.
    pub fn dependency<F, Fut>(self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.with(name, Kind::Dependency, check)
    }

    /// `database`: a round trip; `schema`: every migration the binary embeds is applied. A
    /// replica started with `--no-migrate` before the migration Job finished waits unready.
    pub fn database(self, db: &Database, migrations: &'static Migrations) -> Self {
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
        Fut: Future<Output = Result<(), String>> + Send + 'static,
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
                let outcome = tokio::time::timeout(CHECK_TIMEOUT, check())
                    .await
                    .unwrap_or_else(|_| Err("timed out".to_owned()));
                (*name, *kind, outcome)
            }
        }))
        .await;
        let mut health = Health::Ready;
        let mut report = Map::new();
        for (name, kind, outcome) in results {
            if kind == Kind::Dependency {
                lock(&self.dependencies_up).insert(name, outcome.is_ok());
            }
            let text = match outcome {
                Ok(()) => "ok".to_owned(),
                Err(reason) => {
                    log::warn!("readiness check {name} failed: {reason}");
                    health = match (kind, health) {
                        (Kind::Required, _) | (_, Health::Unready) => Health::Unready,
                        (Kind::Dependency, _) => Health::Degraded,
                    };
                    match kind {
                        Kind::Required => reason,
                        Kind::Dependency => format!("unreachable: {reason}"),
                    }
                }
            };
            report.insert(name.to_owned(), Value::String(text));
        }
        (health, report)
    }

    /// Registers `<service>_dependency_up{dependency="..."}` (1 up, 0 down) in `metrics`.
    pub(crate) fn register_gauge(&self, metrics: &Metrics) {
        if !self
            .checks
            .iter()
            .any(|(_, kind, _)| *kind == Kind::Dependency)
        {
            return;
        }
        let name = format!("{}_dependency_up", metrics.service().replace('-', "_"));
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

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
