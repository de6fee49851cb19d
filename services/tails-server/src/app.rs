//! The application: what every handler and operation shares ([`AppState`]), how it starts and
//! serves ([`Application`], a `service_kit` service), its readiness checks and the sweep of
//! temp files left by dead processes.

use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use anyhow::Context as _;
use service_kit::metrics::{Counter, Metrics};
use service_kit::server::{self, Readiness};
use service_kit::settings::LogSettings;
use service_kit::startup::{ServeOnly, Service};

use crate::ledger::Ledgers;
use crate::settings::{Flags, Settings};
use crate::storage::Storage;

/// How often temp files of uploads whose process died (on any replica) are swept.
const STALE_SWEEP_INTERVAL: Duration = Duration::from_secs(600);
/// Multipart framing and part headers around the two parts.
const FRAMING_ALLOWANCE: u64 = 64 * 1024;

/// Everything the handlers and operations share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub storage: Arc<Storage>,
    pub ledgers: Arc<Ledgers>,
    pub limits: Limits,
    pub counters: Counters,
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_tails_size: u64,
    pub max_genesis_size: u64,
}

impl Limits {
    /// Cap on a whole upload body, also when it is only read to be discarded.
    pub fn body(&self) -> u64 {
        self.max_tails_size
            .saturating_add(self.max_genesis_size)
            .saturating_add(FRAMING_ALLOWANCE)
    }
}

#[derive(Clone)]
pub struct Counters {
    pub stored: Counter,
    pub duplicates: Counter,
    pub rejected: Counter,
    pub downloads: Counter,
}

impl Counters {
    pub fn register(metrics: &Metrics) -> Self {
        Self {
            stored: metrics.counter("tails_uploads_stored_total", "Tails files stored."),
            duplicates: metrics.counter(
                "tails_uploads_duplicate_total",
                "Uploads answered 409 because the file was already stored.",
            ),
            rejected: metrics.counter(
                "tails_uploads_rejected_total",
                "Uploads rejected for any other reason.",
            ),
            downloads: metrics.counter("tails_downloads_total", "Tails files served."),
        }
    }
}

/// A bound, not yet running, server.
pub struct Application {
    server: server::Application,
    storage: Arc<Storage>,
}

impl Service for Application {
    const NAME: &'static str = "tails-server";
    const ABOUT: &'static str = "Stores and serves AnonCreds/Indy revocation tails files.";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    type Settings = Settings;
    type Flags = Flags;
    type Command = ServeOnly;

    fn check(settings: &Settings) -> anyhow::Result<()> {
        settings.check()
    }

    fn log(settings: &Settings) -> &LogSettings {
        &settings.log
    }

    /// Prepares storage, reads the ledgers' genesis files and binds (port 0 allowed).
    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let storage = Storage::open(&settings.storage_path).with_context(|| {
            format!(
                "cannot prepare storage directory {}",
                settings.storage_path.display()
            )
        })?;
        let storage = Arc::new(storage);
        let ledgers = Arc::new(Ledgers::from_settings(&settings)?);
        if ledgers.is_empty() {
            log::warn!("no ledger configured: only PUT /hash/{{tails_hash}} can store files");
        }
        let metrics = Metrics::new(Self::NAME);
        let state = AppState {
            storage: Arc::clone(&storage),
            ledgers: Arc::clone(&ledgers),
            limits: Limits {
                max_tails_size: settings.max_tails_size,
                max_genesis_size: settings.max_genesis_size,
            },
            counters: Counters::register(&metrics),
        };
        let readiness = readiness(&storage, &ledgers);
        let mut options = settings.server.options();
        // After an early answer (409 for a file already stored), the rest of an upload of
        // allowed size is still read, so ACA-Py's client, busy sending, sees the answer. A
        // limit beyond the address space means no limit: saturating is the intended meaning.
        options.drain_limit = usize::try_from(state.limits.body()).unwrap_or(usize::MAX);
        let server = server::Application::build(&options, metrics, readiness, move |cfg| {
            crate::routes::configure(cfg, state.clone())
        })
        .with_context(|| {
            format!(
                "cannot listen on {}:{}",
                settings.server.host, settings.server.port
            )
        })?;
        Ok(Self { server, storage })
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT or [`ServerHandle::stop`], sweeping stale temp files.
    async fn run(self) -> anyhow::Result<()> {
        let sweeper = tokio::spawn(sweep_stale_temps(self.storage));
        let result = self.server.run().await;
        sweeper.abort();
        Ok(result?)
    }

    async fn command(command: ServeOnly, settings: Settings) -> anyhow::Result<()> {
        match command {
            ServeOnly::Serve => service_kit::startup::serve::<Self>(settings).await,
        }
    }
}

async fn sweep_stale_temps(storage: Arc<Storage>) {
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
