//! The application: what it shares with every handler and operation ([`AppState`]), how it
//! starts, serves and runs its subcommands ([`Application`], a `service_kit` service), and its
//! background upkeep.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use anyhow::Context as _;
use service_kit::db::Database;
use service_kit::metrics::Metrics;
use service_kit::server::{self, Readiness};
use service_kit::settings::LogSettings;
use service_kit::startup::Service;

use crate::db;
use crate::geoip::GeoIp;
use crate::heartbeat::HeartbeatKey;
use crate::ops::maintenance;
use crate::ratelimit::RateLimits;
use crate::settings::{Command, Flags, Settings, WhitelistCommand};

/// Everything the handlers and operations share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub key: Arc<HeartbeatKey>,
    pub geo: Arc<GeoIp>,
    pub settings: Arc<Settings>,
    /// Per-IP and per-token request budgets, shared by every worker of this process.
    pub limits: Arc<RateLimits>,
}

impl AppState {
    pub fn new(db: Database, key: HeartbeatKey, geo: GeoIp, settings: Settings) -> Self {
        Self {
            db,
            key: Arc::new(key),
            geo: Arc::new(geo),
            limits: Arc::new(RateLimits::from_settings(&settings)),
            settings: Arc::new(settings),
        }
    }

    /// The challenge interval in milliseconds. Saturating on purpose: an interval beyond
    /// what an `i64` of milliseconds holds means "never due" either way.
    pub(crate) fn interval_millis(&self) -> i64 {
        i64::try_from(self.settings.interval)
            .unwrap_or(i64::MAX / 2_000)
            .saturating_mul(1000)
    }

    pub(crate) fn location_json(&self, ip: IpAddr) -> Option<String> {
        self.geo
            .locate(ip)
            .and_then(|location| serde_json::to_string(&location).ok())
    }
}

/// A bound server plus its statistics sweeper and scheduled `cleandb`.
pub struct Application {
    server: server::Application,
    state: AppState,
}

impl Application {
    /// Binds a server around an assembled state (tests give their own key and GeoIP).
    pub fn with_state(state: AppState) -> anyhow::Result<Self> {
        let settings = &state.settings;
        let metrics = Metrics::new("downstream-node");
        let pool = state.db.clone();
        metrics.gauge(
            "downstream_node_db_connections",
            "Open database connections",
            move || f64::from(pool.pool_state().0),
        );
        let readiness = Readiness::new().database(&state.db, &db::MIGRATIONS);
        let routes_state = state.clone();
        let server = server::Application::build(
            &settings.server.options(),
            metrics,
            readiness,
            move |cfg| crate::routes::configure(cfg, routes_state.clone()),
        )
        .with_context(|| format!("binding {}:{}", settings.server.host, settings.server.port))?;
        Ok(Self { server, state })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }
}

impl Service for Application {
    const NAME: &'static str = "downstream-node";
    const ABOUT: &'static str =
        "Storj proof-of-storage verification node (downstream-farmer compatible)";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    type Settings = Settings;
    type Flags = Flags;
    type Command = Command;

    fn check(settings: &Settings) -> anyhow::Result<()> {
        settings
            .check()
            .map_err(|reason| anyhow::anyhow!("invalid settings: {reason}"))
    }

    fn log(settings: &Settings) -> &LogSettings {
        &settings.log
    }

    /// Connects the database (migrating unless told not to), loads or creates the heartbeat
    /// key, opens the GeoIP database and binds (port 0 allowed).
    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect(&settings)?;
        if settings.database.migrate {
            db.migrate(&db::MIGRATIONS)
                .context("migrating the database")?;
        }
        let key = HeartbeatKey::load_or_create(&settings.key_file)?;
        let geo = GeoIp::open(settings.geoip_db.as_deref());
        Self::with_state(AppState::new(db, key, geo, settings))
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until shutdown, sweeping statistics every `stats_interval` seconds and running
    /// `cleandb` every `cleandb_interval` seconds (when no other replica is).
    async fn run(self) -> anyhow::Result<()> {
        let settings = self.state.settings.clone();
        let sweeper = sweeper(self.state.db.clone(), settings.stats_interval);
        let cleaner = cleaner(self.state.db.clone(), settings.cleandb_interval);
        tokio::select! {
            served = self.server.run() => Ok(served?),
            () = sweeper => Ok(()),
            () = cleaner => Ok(()),
        }
    }

    async fn command(command: Command, settings: Settings) -> anyhow::Result<()> {
        match command {
            Command::Serve => service_kit::startup::serve::<Self>(settings).await,
            Command::Migrate => {
                let applied = connect(&settings)?.migrate(&db::MIGRATIONS)?;
                println!("applied {} migration(s)", applied.len());
                Ok(())
            }
            Command::Whitelist {
                command: WhitelistCommand::Import { file, keep_missing },
            } => {
                let database = connect_migrated(&settings)?;
                let report = maintenance::import_whitelist(&database, &file, keep_missing)
                    .await
                    .with_context(|| format!("importing {}", file.display()))?;
                println!(
                    "whitelist: {} added, {} updated, {} unchanged, {} deleted",
                    report.added, report.updated, report.unchanged, report.deleted
                );
                Ok(())
            }
            Command::Cleandb => {
                let deleted = maintenance::cleandb(&connect_migrated(&settings)?).await?;
                println!("cleandb: {deleted} expired contract(s) deleted");
                Ok(())
            }
        }
    }
}

/// The statistics sweep, every `interval` seconds (at least one).
async fn sweeper(db: Database, interval: u64) {
    every(Duration::from_secs(interval.max(1)), move || {
        let db = db.clone();
        async move {
            match maintenance::sweep(&db).await {
                Ok(report) if report.expired > 0 => {
                    log::info!("statistics sweep: {} contracts expired", report.expired)
                }
                Ok(_) => {}
                Err(err) => log::warn!("statistics sweep failed: {err}"),
            }
        }
    })
    .await
}

/// `cleandb` every `interval` seconds on one replica at a time; never when 0.
async fn cleaner(db: Database, interval: u64) {
    if interval == 0 {
        return std::future::pending().await;
    }
    let period = Duration::from_secs(interval);
    // The first run one period after start, not at once: replicas restarted together would
    // otherwise all try at the same moment.
    tokio::time::sleep(period).await;
    every(period, move || {
        let db = db.clone();
        async move {
            match maintenance::cleandb_exclusive(&db).await {
                Ok(Some(deleted)) => log::info!("cleandb: {deleted} expired contract(s) deleted"),
                Ok(None) => log::debug!("cleandb: another replica is running it"),
                Err(err) => log::warn!("cleandb failed: {err}"),
            }
        }
    })
    .await
}

/// Runs `task` every `period` (the first time at once), never two at a time.
async fn every<F, Fut>(period: Duration, mut task: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        task().await;
    }
}

/// The database of `settings`, without migrating.
pub fn connect(settings: &Settings) -> anyhow::Result<Database> {
    let mut options = settings.database.pool();
    options.max_size = options.max_size.max(1);
    Ok(Database::connect(&settings.database.database_url, options)?)
}

/// The database of `settings`, migrated: what the subcommands that use it work on.
fn connect_migrated(settings: &Settings) -> anyhow::Result<Database> {
    let database = connect(settings)?;
    database.migrate(&db::MIGRATIONS)?;
    Ok(database)
}
