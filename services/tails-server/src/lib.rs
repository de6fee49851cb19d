//! The tails server: stores and serves AnonCreds/Indy revocation tails files, checked against
//! the ledger, as a drop-in for bcgov/indy-tails-server. See README.md.

pub mod domain;
pub mod error;
pub mod ledger;
pub mod routes;
pub mod settings;
pub mod storage;

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use service_kit::metrics::Metrics;
use service_kit::server::{self, Readiness, ServerOptions};

use crate::ledger::{LedgerSetupError, Ledgers};
use crate::routes::{AppState, Counters, Limits};
use crate::settings::Settings;
use crate::storage::Storage;

/// How often temp files of uploads whose process died (on any replica) are swept.
const STALE_SWEEP_INTERVAL: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot prepare storage directory {path}: {source}")]
    Storage {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Ledger(#[from] LedgerSetupError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

/// A bound, not yet running, server.
pub struct Application {
    server: server::Application,
    storage: Arc<Storage>,
}

impl Application {
    /// Prepares storage, reads the ledgers' genesis files and binds (port 0 allowed).
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let storage =
            Storage::open(&settings.storage_path).map_err(|source| StartupError::Storage {
                path: settings.storage_path.display().to_string(),
                source,
            })?;
        let storage = Arc::new(storage);
        let ledgers = Arc::new(Ledgers::from_settings(&settings)?);
        if ledgers.is_empty() {
            log::warn!("no ledger configured: only PUT /hash/{{tails_hash}} can store files");
        }
        let metrics = Metrics::new("tails-server");
        let state = web::Data::new(AppState {
            storage: Arc::clone(&storage),
            ledgers: Arc::clone(&ledgers),
            limits: Limits {
                max_tails_size: settings.max_tails_size,
                max_genesis_size: settings.max_genesis_size,
            },
            counters: Counters::register(&metrics),
        });
        let readiness = readiness(&storage, &ledgers);
        let upload_limit = state.limits.body();
        let options = ServerOptions {
            host: settings.host.clone(),
            port: settings.port,
            // Uploads stream through their own limits; this caps only buffered bodies.
            body_limit: 64 * 1024,
            workers: settings.workers,
            shutdown_timeout: settings.shutdown_timeout_secs,
            // After an early answer (409 for a file already stored), the rest of an upload of
            // allowed size is still read, so ACA-Py's client, busy sending, sees the answer.
            drain_limit: usize::try_from(upload_limit).unwrap_or(usize::MAX),
        };
        let server = server::Application::build(&options, metrics, readiness, move |cfg| {
            routes::configure(cfg, state.clone())
        })
        .map_err(|source| StartupError::Bind {
            addr: format!("{}:{}", settings.host, settings.port),
            source,
        })?;
        Ok(Self { server, storage })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.server.addr()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT or [`ServerHandle::stop`].
    pub async fn run(self) -> std::io::Result<()> {
        let storage = self.storage;
        let sweeper = tokio::spawn(async move {
            let mut interval = tokio::time::interval(STALE_SWEEP_INTERVAL);
            interval.tick().await;
            loop {
                interval.tick().await;
                let storage = Arc::clone(&storage);
                match tokio::task::spawn_blocking(move || storage.clean_stale_temps()).await {
                    Ok(Ok(0)) => {}
                    Ok(Ok(removed)) => log::info!("removed {removed} stale temp files"),
                    Ok(Err(err)) => log::warn!("sweeping stale temp files: {err}"),
                    Err(err) => log::warn!("sweeping stale temp files: {err}"),
                }
            }
        });
        let result = self.server.run().await;
        sweeper.abort();
        result
    }
}

fn readiness(storage: &Arc<Storage>, ledgers: &Arc<Ledgers>) -> Readiness {
    let storage = Arc::clone(storage);
    let root = storage.root().to_owned();
    let readiness = Readiness::new()
        .check_outcome("storage", move || {
            let storage = Arc::clone(&storage);
            async move { storage.check_writable().await }
        })
        .disk_space("storage_space", root);
    if ledgers.is_empty() {
        return readiness;
    }
    let ledgers = Arc::clone(ledgers);
    readiness.dependency("ledger", move || {
        let ledgers = Arc::clone(&ledgers);
        async move { ledgers.check_reachable().await }
    })
}
