//! The settings every service has, each default written once. A service flattens these into
//! its own `Settings` (`#[serde(flatten)]`) and the matching flags into its own flags
//! (`#[command(flatten)]`), so keys stay flat (`port`, `database_url`, `log_level`) in files,
//! in the environment and on the command line.

use clap::Args;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::db::PoolOptions;
use crate::server::{LogFormat, ServerOptions};

/// Where and how to serve HTTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    /// HTTP worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// Largest buffered request body in bytes.
    pub body_limit: usize,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout_secs: u64,
}

impl ServerSettings {
    /// The shared defaults on a service's own port.
    pub fn on_port(port: u16) -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port,
            workers: None,
            body_limit: 1024 * 1024,
            shutdown_timeout_secs: 30,
        }
    }

    /// What [`crate::server::Application::build`] needs.
    pub fn options(&self) -> ServerOptions {
        let mut options = ServerOptions::new(&self.host, self.port);
        options.workers = self.workers;
        options.body_limit = self.body_limit;
        options.shutdown_timeout = self.shutdown_timeout_secs;
        options
    }
}

/// The service's own database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://PATH`, `postgres://…` or `mysql://…`.
    pub database_url: String,
    pub pool_size: u32,
    /// Apply pending migrations at start-up (`--no-migrate` turns it off for clusters).
    pub migrate: bool,
}

impl DatabaseSettings {
    /// The shared defaults on the service's own SQLite file.
    pub fn sqlite(path: &str) -> Self {
        Self {
            database_url: format!("sqlite://{path}"),
            pool_size: 8,
            migrate: true,
        }
    }

    pub fn pool(&self) -> PoolOptions {
        PoolOptions {
            max_size: self.pool_size,
            ..PoolOptions::default()
        }
    }
}

/// Log lines: which and how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogSettings {
    /// A Rust filter; Python level names (`WARNING`, `CRITICAL`...) are turned into one as
    /// they are read. `RUST_LOG` wins when set.
    #[serde(deserialize_with = "log_filter")]
    pub log_level: String,
    pub log_format: LogFormat,
}

impl Default for LogSettings {
    fn default() -> Self {
        Self {
            log_level: "info".to_owned(),
            log_format: LogFormat::Plain,
        }
    }
}

fn log_filter<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let text = String::deserialize(deserializer)?;
    crate::log_level::log_filter(&text).map_err(serde::de::Error::custom)
}

/// Flags of [`ServerSettings`]. Help texts carry no defaults: they are added from the service's
/// `Settings::default()` (see [`crate::settings::help`]).
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Clone, Args, Serialize)]
pub struct ServerFlags {
    /// Address to listen on
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Port to listen on, 0 for any
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// HTTP worker threads [default: one per core]
    #[arg(long, global = true)]
    pub workers: Option<usize>,
    /// Largest buffered request body in bytes
    #[arg(long, global = true)]
    pub body_limit: Option<usize>,
    /// Seconds in-flight requests get to finish after SIGTERM
    #[arg(long, global = true)]
    pub shutdown_timeout_secs: Option<u64>,
}

/// Flags of [`DatabaseSettings`].
#[derive(Debug, Default, Clone, Args)]
pub struct DatabaseFlags {
    /// sqlite://PATH, postgres://… or mysql://…
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Database connections in the pool
    #[arg(long, global = true)]
    pub pool_size: Option<u32>,
    /// Do not apply pending migrations at start-up [default: migrations run]
    #[arg(long, global = true)]
    pub no_migrate: bool,
}

/// Given flags only, and `--no-migrate` as `migrate = false`.
impl Serialize for DatabaseFlags {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[serde_with::skip_serializing_none]
        #[derive(Serialize)]
        struct Layer<'a> {
            database_url: Option<&'a String>,
            pool_size: Option<u32>,
            migrate: Option<bool>,
        }
        Layer {
            database_url: self.database_url.as_ref(),
            pool_size: self.pool_size,
            migrate: self.no_migrate.then_some(false),
        }
        .serialize(serializer)
    }
}

/// Flags of [`LogSettings`].
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Clone, Args, Serialize)]
pub struct LogFlags {
    /// Log filter (Rust or Python level names) when RUST_LOG is unset
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log lines as text or one JSON object each: plain, json
    #[arg(long, global = true)]
    pub log_format: Option<LogFormat>,
}
