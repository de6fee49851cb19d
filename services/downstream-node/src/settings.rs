//! Typed settings: defaults < `--config FILE` (TOML) < `DOWNSTREAM_NODE__*` environment <
//! command-line flags (loaded by service-kit, see [`crate::Application`]); the flags and the
//! subcommands besides serving.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use service_kit::settings::{
    DatabaseFlags, DatabaseSettings, LogFlags, LogSettings, ServerFlags, ServerSettings,
};

use crate::domain::TrustedProxies;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    /// `host`, `port`, `workers`, `body_limit`, `shutdown_timeout_secs`.
    #[serde(flatten)]
    pub server: ServerSettings,
    /// `database_url`, `pool_size`, `migrate`.
    #[serde(flatten)]
    pub database: DatabaseSettings,
    /// `log_level`, `log_format`.
    #[serde(flatten)]
    pub log: LogSettings,
    /// MaxMind GeoLite2/GeoIP2 City database; missing or unreadable gives null locations.
    pub geoip_db: Option<PathBuf>,
    /// The secret heartbeat key, created (mode 0600) on first start.
    pub key_file: PathBuf,
    pub require_signature: bool,
    pub require_whitelist: bool,
    /// Smallest whitelist balance that may farm.
    pub min_balance: i64,
    pub max_tokens_per_ip: u32,
    /// Seconds a farmer has to answer each challenge.
    pub interval: u64,
    /// Challenges per contract.
    pub challenges: u32,
    pub check_fraction: f64,
    /// Bytes of contracts one address may hold; a contract stops counting when it expires.
    pub max_size_per_address: u64,
    pub max_chunks_per_request: u32,
    /// Largest single contract; a request is split into chunks of at most this size.
    pub max_chunk_size: u64,
    /// What `/chunk/<token>` without a size asks for (a total, not a chunk size).
    pub default_chunk_size: u64,
    /// Longest signed message `/new` accepts, in bytes.
    pub max_message_size: usize,
    /// Most hashes or proofs one `/challenge` or `/answer` batch may carry.
    pub max_batch: usize,
    /// Seconds between sweeps that expire contracts and refresh uptime.
    pub stats_interval: u64,
    /// Seconds between `cleandb` runs inside the service (0 = never; run the `cleandb`
    /// subcommand instead). Replicas take a database lock, so one runs it at a time.
    pub cleandb_interval: u64,
    /// `Cache-Control: public, max-age=N` on the status routes (0 = `no-cache`); they also
    /// carry an `ETag` and answer `If-None-Match` with 304.
    pub status_max_age: u64,
    /// Requests per second each client IP may make to the API, sustained (0 = unlimited).
    pub ip_rate_limit: f64,
    /// Requests an idle client IP may make at once.
    pub ip_rate_burst: u32,
    /// Requests per second per farmer token (`/heartbeat`, `/chunk`, `/challenge`,
    /// `/answer`), sustained (0 = unlimited).
    pub token_rate_limit: f64,
    /// Requests an idle token may make at once.
    pub token_rate_burst: u32,
    /// Origins the read-only status routes allow (CORS): `*` (any), a comma-separated list
    /// of origins, or empty (no CORS headers). Other routes never send CORS headers.
    pub cors_origins: String,
    /// Proxies (CIDRs) whose `X-Forwarded-For` / `Forwarded` headers name the client: only a
    /// request whose socket peer lies in one of them is taken to come from the right-most
    /// hop that is not a trusted proxy. Empty (the default): the socket peer is the client.
    /// Defaulted here too: the settings loader drops an empty list from the defaults layer.
    #[serde(default)]
    pub trusted_proxies: TrustedProxies,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings {
                body_limit: 4 << 20,
                ..ServerSettings::on_port(5000)
            },
            database: DatabaseSettings::sqlite("data/downstream-node.sqlite"),
            log: LogSettings::default(),
            geoip_db: Some("data/GeoLite2-City.mmdb".into()),
            key_file: "data/downstream-node.key".into(),
            require_signature: true,
            require_whitelist: true,
            min_balance: 10_000,
            max_tokens_per_ip: 5,
            interval: 300,
            challenges: 256,
            check_fraction: 0.01,
            max_size_per_address: 1 << 30,
            max_chunks_per_request: 10,
            max_chunk_size: 32 << 20,
            default_chunk_size: 33_554_432,
            max_message_size: 1024,
            max_batch: 1000,
            stats_interval: 30,
            cleandb_interval: 600,
            status_max_age: 5,
            ip_rate_limit: 20.0,
            ip_rate_burst: 200,
            token_rate_limit: 5.0,
            token_rate_burst: 100,
            cors_origins: "*".into(),
            trusted_proxies: TrustedProxies::default(),
        }
    }
}

/// Most challenges a contract may have (its tag grows with this).
pub const MAX_CHALLENGES: u32 = 1 << 16;

impl Settings {
    pub fn check(&self) -> Result<(), &'static str> {
        if self.challenges == 0 || self.challenges > MAX_CHALLENGES {
            return Err("challenges must be between 1 and 65536");
        }
        if !(self.check_fraction > 0.0 && self.check_fraction <= 1.0) {
            return Err("check_fraction must be in (0, 1]");
        }
        if self.interval == 0 {
            return Err("interval must be at least 1 second");
        }
        if self.max_chunk_size == 0 || self.max_chunks_per_request == 0 {
            return Err("max_chunk_size and max_chunks_per_request must be positive");
        }
        if self.stats_interval == 0 {
            return Err("stats_interval must be at least 1 second");
        }
        let rate_ok = |rate: f64| rate.is_finite() && rate >= 0.0;
        if !rate_ok(self.ip_rate_limit) || !rate_ok(self.token_rate_limit) {
            return Err("ip_rate_limit and token_rate_limit must be >= 0 (0 = unlimited)");
        }
        if (self.ip_rate_limit > 0.0 && self.ip_rate_burst == 0)
            || (self.token_rate_limit > 0.0 && self.token_rate_burst == 0)
        {
            return Err("ip_rate_burst and token_rate_burst must be at least 1");
        }
        Ok(())
    }
}

/// What the binary does besides serving (which it does without a subcommand, or `serve`).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage the address whitelist.
    Whitelist {
        #[command(subcommand)]
        command: WhitelistCommand,
    },
    /// Refresh statistics, delete long-expired contracts and release their space.
    Cleandb,
}

#[derive(Debug, Subcommand)]
pub enum WhitelistCommand {
    /// Import a CSV (header row, then address,balance rows).
    Import {
        file: PathBuf,
        /// Keep addresses that are absent from the file (by default they are deleted with
        /// their tokens and contracts, as the original did).
        #[arg(long)]
        keep_missing: bool,
    },
}

/// Flags override lower layers only when given. `--help` adds each default from
/// `Settings::default()`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Clone, Args, Serialize)]
pub struct Flags {
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub database: DatabaseFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub log: LogFlags,
    /// MaxMind City database
    #[arg(long, global = true, value_name = "FILE")]
    pub geoip_db: Option<PathBuf>,
    /// Heartbeat key file, created with mode 0600 if absent
    #[arg(long, global = true, value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Require a signed message in POST /new
    #[arg(long, global = true, value_name = "true|false")]
    pub require_signature: Option<bool>,
    /// Require the address to be whitelisted
    #[arg(long, global = true, value_name = "true|false")]
    pub require_whitelist: Option<bool>,
    /// Smallest whitelisted balance allowed to farm
    #[arg(long, global = true)]
    pub min_balance: Option<i64>,
    /// Tokens allowed per IP address
    #[arg(long, global = true)]
    pub max_tokens_per_ip: Option<u32>,
    /// Seconds between challenges
    #[arg(long, global = true, value_name = "SECONDS")]
    pub interval: Option<u64>,
    /// Challenges per contract, 1..=65536
    #[arg(long, global = true)]
    pub challenges: Option<u32>,
    /// Fraction of the file each challenge checks
    #[arg(long, global = true)]
    pub check_fraction: Option<f64>,
    /// Contract bytes per address
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_size_per_address: Option<u64>,
    /// Contracts handed out per /chunk request
    #[arg(long, global = true)]
    pub max_chunks_per_request: Option<u32>,
    /// Largest single contract
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_chunk_size: Option<u64>,
    /// Total size /chunk/<token> gives without an explicit size
    #[arg(long, global = true, value_name = "BYTES")]
    pub default_chunk_size: Option<u64>,
    /// Longest signed message accepted by /new
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_message_size: Option<usize>,
    /// Hashes or proofs per batch request
    #[arg(long, global = true)]
    pub max_batch: Option<usize>,
    /// Seconds between statistics sweeps
    #[arg(long, global = true, value_name = "SECONDS")]
    pub stats_interval: Option<u64>,
    /// Seconds between cleandb runs in the service, one replica at a time; 0 = off
    #[arg(long, global = true, value_name = "SECONDS")]
    pub cleandb_interval: Option<u64>,
    /// Cache-Control max-age of the status routes, 0 = no-cache
    #[arg(long, global = true, value_name = "SECONDS")]
    pub status_max_age: Option<u64>,
    /// Requests per second per client IP, sustained; 0 = unlimited
    #[arg(long, global = true, value_name = "PER_SECOND")]
    pub ip_rate_limit: Option<f64>,
    /// Burst of requests per client IP
    #[arg(long, global = true, value_name = "REQUESTS")]
    pub ip_rate_burst: Option<u32>,
    /// Requests per second per farmer token, sustained; 0 = unlimited
    #[arg(long, global = true, value_name = "PER_SECOND")]
    pub token_rate_limit: Option<f64>,
    /// Burst of requests per farmer token
    #[arg(long, global = true, value_name = "REQUESTS")]
    pub token_rate_burst: Option<u32>,
    /// CORS origins of the status routes: '*', comma-separated origins, or '' for none
    #[arg(long, global = true, value_name = "ORIGINS")]
    pub cors_origins: Option<String>,
    /// Proxies whose X-Forwarded-For/Forwarded name the client: CIDRs, comma-separated,
    /// e.g. 10.0.0.0/8,fd00::/8; none: the socket peer is the client
    #[arg(long, global = true, value_name = "CIDRS")]
    pub trusted_proxies: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use service_kit::settings::{Sources, load};
    use service_kit::startup;

    use crate::Application;

    const ENV_PREFIX: &str = "DOWNSTREAM_NODE";

    fn parse(args: &[&str]) -> startup::Cli<Flags, Command> {
        startup::parse::<Application, _, _>(args.iter().copied()).unwrap()
    }

    #[test]
    fn help_shows_the_defaults_of_the_settings() {
        service_kit::testing::assert_help_shows_defaults::<Application>();
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        let help = startup::command::<Application>()
            .render_long_help()
            .to_string();
        for flag in [
            "--host",
            "--port",
            "--database-url",
            "--geoip-db",
            "--require-signature",
            "--require-whitelist",
            "--min-balance",
            "--max-tokens-per-ip",
            "--interval",
            "--challenges",
            "--check-fraction",
            "--max-size-per-address",
            "--max-chunks-per-request",
            "--config",
            "--key-file",
            "--status-max-age",
            "--ip-rate-limit",
            "--ip-rate-burst",
            "--token-rate-limit",
            "--token-rate-burst",
            "--cors-origins",
            "--cleandb-interval",
            "--trusted-proxies",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        assert!(help.contains("[default: 5000]"));
        assert!(help.contains("[default: sqlite://data/downstream-node.sqlite]"));
        assert!(help.contains("[default: data/downstream-node.key]"));
    }

    #[test]
    fn flags_override_only_when_given() {
        let cli = parse(&[
            "downstream-node",
            "serve",
            "--port",
            "0",
            "--require-signature",
            "false",
            "--no-migrate",
        ]);
        assert!(matches!(cli.command, Some(Command::Serve)));
        let value = serde_json::to_value(&cli.flags).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"port": 0, "require_signature": false, "migrate": false})
        );
        let cli = parse(&[
            "downstream-node",
            "whitelist",
            "import",
            "w.csv",
            "--keep-missing",
        ]);
        assert!(matches!(
            cli.command,
            Some(Command::Whitelist {
                command: WhitelistCommand::Import {
                    keep_missing: true,
                    ..
                }
            })
        ));
        assert_eq!(
            serde_json::to_value(&cli.flags).unwrap(),
            serde_json::json!({})
        );
    }

    #[test]
    fn trusted_proxies_from_flag_environment_and_file() {
        let from = |env: &[(&str, &str)], toml: Option<&str>, flag: Option<&str>| {
            let dir = tempfile::tempdir().unwrap();
            let file = toml.map(|text| {
                let path = dir.path().join("node.toml");
                std::fs::write(&path, text).unwrap();
                path
            });
            let flags = Flags {
                trusted_proxies: flag.map(str::to_owned),
                ..Flags::default()
            };
            let sources = Sources {
                env_prefix: ENV_PREFIX,
                file: file.as_deref(),
                env: Some(
                    env.iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            };
            load::<Settings, _>(sources, &flags).map(|s| s.trusted_proxies.to_string())
        };
        assert_eq!(from(&[], None, None).unwrap(), "");
        assert_eq!(
            from(
                &[],
                Some("trusted_proxies = [\"10.0.0.0/8\", \"fd00::/8\"]"),
                None
            )
            .unwrap(),
            "10.0.0.0/8,fd00::/8"
        );
        let env = [(
            "DOWNSTREAM_NODE__TRUSTED_PROXIES",
            "127.0.0.1/32,10.0.0.0/8",
        )];
        assert_eq!(
            from(&env, Some("trusted_proxies = [\"fd00::/8\"]"), None).unwrap(),
            "127.0.0.1/32,10.0.0.0/8"
        );
        assert_eq!(
            from(&env, None, Some("192.168.0.0/16")).unwrap(),
            "192.168.0.0/16"
        );
        let err = from(&[], None, Some("10.0.0.0/8,everyone")).unwrap_err();
        assert!(
            err.to_string().contains("\"everyone\" is not a CIDR"),
            "{err}"
        );
    }

    #[test]
    fn python_log_level_names() {
        let with = |level: &str| {
            let cli = parse(&["downstream-node", "--log-level", level]);
            startup::load::<Application>(&cli, Some(Default::default()))
        };
        assert_eq!(with("WARNING").unwrap().log.log_level, "warn");
        let err = with("LOUD").unwrap_err().to_string();
        assert!(err.contains("invalid log level \"LOUD\""), "{err}");
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(Settings::default().check(), Ok(()));
        let bad = Settings {
            challenges: 0,
            ..Settings::default()
        };
        assert!(bad.check().is_err());
        let bad = Settings {
            ip_rate_limit: -1.0,
            ..Settings::default()
        };
        assert!(bad.check().is_err());
        let bad = Settings {
            token_rate_burst: 0,
            ..Settings::default()
        };
        assert!(bad.check().is_err());
        let off = Settings {
            token_rate_limit: 0.0,
            token_rate_burst: 0,
            ..Settings::default()
        };
        assert_eq!(off.check(), Ok(()));
    }
}
