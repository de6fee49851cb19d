//! downstream-node: Storj's proof-of-storage verification node, wire-compatible with
//! downstream-farmer. See README.md for the API.

pub mod db;
pub mod domain;
pub mod error;
pub mod geoip;
pub mod heartbeat;
pub mod node;
pub mod ratelimit;
pub mod routes;
pub mod settings;

use std::time::Duration;

use anyhow::Context as _;
use service_kit::db::{Database, PoolOptions};
use service_kit::metrics::Metrics;
use service_kit::server::{self, Readiness, ServerOptions};

use crate::geoip::GeoIp;
use crate::heartbeat::HeartbeatKey;
use crate::node::Node;
use crate::settings::Settings;

/// A bound server plus its statistics sweeper.
pub struct Application {
    server: server::Application,
    node: Node,
}

impl Application {
    /// Connects the database (migrating unless told not to), loads or creates the heartbeat
    /// key, opens the GeoIP database and binds (port 0 allowed).
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect(&settings)?;
        if settings.migrate {
            db.migrate(&db::MIGRATIONS)
                .context("migrating the database")?;
        }
        let key = HeartbeatKey::load_or_create(&settings.key_file)?;
        let geo = GeoIp::open(settings.geoip_db.as_deref());
        Self::from_node(Node::new(db, key, geo, settings))
    }

    /// Binds a server around an assembled node (tests give their own key and GeoIP).
    pub fn from_node(node: Node) -> anyhow::Result<Self> {
        let settings = &node.settings;
        let mut options = ServerOptions::new(&settings.host, settings.port);
        options.body_limit = settings.body_limit;
        options.workers = settings.workers;
        let metrics = Metrics::new("downstream-node");
        let pool = node.db.clone();
        metrics.gauge(
            "downstream_node_db_connections",
            "Open database connections",
            move || f64::from(pool.pool_state().0),
        );
        let readiness = Readiness::new().database(&node.db, &db::MIGRATIONS);
        let routes_node = node.clone();
        let server = server::Application::build(&options, metrics, readiness, move |cfg| {
            routes::configure(cfg, routes_node.clone())
        })
        .with_context(|| format!("binding {}:{}", settings.host, settings.port))?;
        Ok(Self { server, node })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Serves until shutdown, sweeping statistics every `stats_interval` seconds and running
    /// `cleandb` every `cleandb_interval` seconds (when no other replica is).
    pub async fn run(self) -> std::io::Result<()> {
        let settings = self.node.settings.clone();
        let db = self.node.db.clone();
        let sweeper = every(
            Duration::from_secs(settings.stats_interval.max(1)),
            move || {
                let db = db.clone();
                async move {
                    match node::maintenance::sweep(&db).await {
                        Ok(report) if report.expired > 0 => {
                            log::info!("statistics sweep: {} contracts expired", report.expired)
                        }
                        Ok(_) => {}
                        Err(err) => log::warn!("statistics sweep failed: {err}"),
                    }
                }
            },
        );
        let db = self.node.db.clone();
        let cleaner = async move {
            if settings.cleandb_interval == 0 {
                return std::future::pending().await;
            }
            let period = Duration::from_secs(settings.cleandb_interval);
            // The first run one period after start, not at once: replicas restarted
            // together would otherwise all try at the same moment.
            tokio::time::sleep(period).await;
            every(period, move || {
                let db = db.clone();
                async move {
                    match node::maintenance::cleandb_exclusive(&db).await {
                        Ok(Some(deleted)) => {
                            log::info!("cleandb: {deleted} expired contract(s) deleted")
                        }
                        Ok(None) => log::debug!("cleandb: another replica is running it"),
                        Err(err) => log::warn!("cleandb failed: {err}"),
                    }
                }
            })
            .await
        };
        tokio::select! {
            served = self.server.run() => served,
            () = sweeper => Ok(()),
            () = cleaner => Ok(()),
        }
    }
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
    let options = PoolOptions {
        max_size: settings.pool_size.max(1),
        ..PoolOptions::default()
    };
    Ok(Database::connect(&settings.database_url, options)?)
}
