//! Typed settings: built-in defaults < `--config FILE` (TOML) < `CAUSEWAY__*` environment
//! variables < command-line flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::{Deserialize, Serialize};
use service_kit::bitcoin::Network;
use service_kit::server::LogFormat;
use service_kit::settings::{self, SettingsError, Sources};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    pub database_url: String,
    pub pool_size: u32,
    /// Apply pending migrations at start-up (`--no-migrate` turns it off for clusters).
    pub migrate: bool,
    /// Network of addresses when a request does not say (`testnet` flag of python-rein).
    pub network: Network,
    /// Bitcoin Core JSON-RPC; without it `/query` answers `block_info: null` and payments
    /// are impossible.
    pub bitcoind_url: Option<String>,
    pub bitcoind_user: String,
    pub bitcoind_password_file: Option<PathBuf>,
    /// Confirmations a deposit needs before it counts towards the balance.
    pub min_confirmations: u32,
    /// Price of one bought bucket in satoshis; 0 makes `/buy` free.
    pub price: u64,
    pub bucket_bytes: u64,
    pub bucket_transfer_bytes: u64,
    pub bucket_term_days: u32,
    /// Free buckets `/request` grants per owner; 0 disables it.
    pub free_buckets: u32,
    pub max_value_bytes: usize,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Lifetime of a nonce; `/nonce` hands out a fresh one once half of it has passed.
    pub nonce_ttl_secs: u64,
    /// HTTP worker threads; unset = one per core.
    pub workers: Option<usize>,
    /// How often each replica writes the transfer `/get` served to the database, in ms.
    pub transfer_flush_ms: u64,
    /// An owner's transfer served by one replica and not yet written that makes the replica
    /// write at once; `/get`s of that owner wait for the write. Bounds the quota overshoot
    /// (README, "Transfer accounting").
    pub transfer_flush_bytes: u64,
    pub log_level: String,
    /// Log lines as text (`plain`) or one JSON object each (`json`).
    pub log_format: LogFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".to_owned(),
            port: 2016,
            database_url: "sqlite://data/causeway.sqlite".to_owned(),
            pool_size: 8,
            migrate: true,
            network: Network::Mainnet,
            bitcoind_url: None,
            bitcoind_user: String::new(),
            bitcoind_password_file: None,
            min_confirmations: 1,
            price: 100_000,
            bucket_bytes: 1_048_576,
            bucket_transfer_bytes: 52_428_800,
            bucket_term_days: 365,
            free_buckets: 4,
            max_value_bytes: 8192,
            body_limit: 65_536,
            nonce_ttl_secs: 3600,
            workers: None,
            transfer_flush_ms: 100,
            transfer_flush_bytes: 1_048_576,
            log_level: "info".to_owned(),
            log_format: LogFormat::Plain,
        }
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "causeway",
    version,
    about = "Rein microhosting: signed key/value storage sold in buckets paid in bitcoin"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// TOML settings file (same keys as the flags, with `_` instead of `-`)
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: Flags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
}

/// Flags that were given override every other layer; absent ones hide nothing.
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Args, Serialize)]
pub struct Flags {
    /// Address to listen on [default: 127.0.0.1]
    #[arg(long, global = true)]
    pub host: Option<String>,
    /// Port to listen on, 0 for any [default: 2016]
    #[arg(long, global = true)]
    pub port: Option<u16>,
    /// sqlite://PATH, postgres://… or mysql://… [default: sqlite://data/causeway.sqlite]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Database connections in the pool [default: 8]
    #[arg(long, global = true)]
    pub pool_size: Option<u32>,
    /// Do not apply pending migrations at start-up [default: migrations run]
    #[arg(long, global = true)]
    #[serde(skip)]
    pub no_migrate: bool,
    /// Network of addresses when a request does not say: mainnet or testnet [default: mainnet]
    #[arg(long, global = true)]
    pub network: Option<Network>,
    /// Bitcoin Core JSON-RPC URL [default: none, no ledger]
    #[arg(long, global = true)]
    pub bitcoind_url: Option<String>,
    /// Bitcoin Core RPC user [default: empty, or the user in the URL]
    #[arg(long, global = true)]
    pub bitcoind_user: Option<String>,
    /// File holding the Bitcoin Core RPC password [default: none]
    #[arg(long, global = true)]
    pub bitcoind_password_file: Option<PathBuf>,
    /// Confirmations a deposit needs [default: 1]
    #[arg(long, global = true)]
    pub min_confirmations: Option<u32>,
    /// Price of a bought bucket in satoshis, 0 = free [default: 100000]
    #[arg(long, global = true, value_name = "SATOSHIS")]
    pub price: Option<u64>,
    /// Storage of one bucket in bytes [default: 1048576]
    #[arg(long, global = true)]
    pub bucket_bytes: Option<u64>,
    /// Transfer (bytes served by /get) of one bucket [default: 52428800]
    #[arg(long, global = true)]
    pub bucket_transfer_bytes: Option<u64>,
    /// Lifetime of a bucket in days [default: 365]
    #[arg(long, global = true)]
    pub bucket_term_days: Option<u32>,
    /// Free buckets /request grants per owner [default: 4]
    #[arg(long, global = true)]
    pub free_buckets: Option<u32>,
    /// Largest value in bytes [default: 8192]
    #[arg(long, global = true)]
    pub max_value_bytes: Option<usize>,
    /// Largest request body in bytes [default: 65536]
    #[arg(long, global = true)]
    pub body_limit: Option<usize>,
    /// Lifetime of a nonce in seconds [default: 3600]
    #[arg(long, global = true)]
    pub nonce_ttl_secs: Option<u64>,
    /// HTTP worker threads [default: one per core]
    #[arg(long, global = true)]
    pub workers: Option<usize>,
    /// How often /get's transfer is written to the database, in ms [default: 100]
    #[arg(long, global = true)]
    pub transfer_flush_ms: Option<u64>,
    /// Unwritten transfer per owner that forces a write, in bytes [default: 1048576]
    #[arg(long, global = true)]
    pub transfer_flush_bytes: Option<u64>,
    /// Log filter when RUST_LOG is unset [default: info]
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    /// Log lines as text or one JSON object each: plain, json [default: plain]
    #[arg(long, global = true)]
    pub log_format: Option<LogFormat>,
}

#[serde_with::skip_serializing_none]
#[derive(Serialize)]
struct FlagLayer<'a> {
    #[serde(flatten)]
    flags: &'a Flags,
    migrate: Option<bool>,
}

impl Settings {
    /// Settings from every layer; `env: None` reads the process environment.
    pub fn load(
        cli: &Cli,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Self, SettingsError> {
        let layer = FlagLayer {
            flags: &cli.flags,
            migrate: cli.flags.no_migrate.then_some(false),
        };
        let sources = Sources {
            env_prefix: "CAUSEWAY",
            file: cli.config.as_deref(),
            env,
        };
        settings::load(sources, &layer)
    }

    /// The RPC password, read from its file when one is configured.
    pub fn bitcoind_password(&self) -> Result<String, SettingsError> {
        match &self.bitcoind_password_file {
            Some(path) => settings::read_secret(path),
            None => Ok(String::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use clap::CommandFactory;

    fn cli(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("causeway").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn defaults_match_the_issue() {
        let got = Settings::load(&cli(&[]), Some(Default::default())).unwrap();
        assert_eq!(got, Settings::default());
        assert_eq!(got.port, 2016);
        assert_eq!(got.database_url, "sqlite://data/causeway.sqlite");
    }

    #[test]
    fn flags_beat_environment() {
        let env = [
            ("CAUSEWAY__PORT", "3000"),
            ("CAUSEWAY__PRICE", "5"),
            ("CAUSEWAY__NETWORK", "testnet"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let got = Settings::load(&cli(&["--port", "4000", "--no-migrate"]), Some(env)).unwrap();
        assert_eq!(got.port, 4000);
        assert_eq!(got.price, 5);
        assert_eq!(got.network, Network::Testnet);
        assert!(!got.migrate);
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--host",
            "--port",
            "--database-url",
            "--network",
            "--bitcoind-url",
            "--bitcoind-user",
            "--bitcoind-password-file",
            "--price",
            "--bucket-bytes",
            "--bucket-transfer-bytes",
            "--bucket-term-days",
            "--free-buckets",
            "--max-value-bytes",
            "--transfer-flush-ms",
            "--transfer-flush-bytes",
            "--config",
            "--no-migrate",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
        assert!(help.contains("[default: 2016]"));
        assert!(help.contains("[default: 52428800]"));
    }

    #[test]
    fn migrate_subcommand_parses() {
        let parsed = cli(&["migrate", "--database-url", "sqlite://x.db"]);
        assert_eq!(parsed.command, Some(Command::Migrate));
        assert_eq!(parsed.flags.database_url.as_deref(), Some("sqlite://x.db"));
    }
}
