//! Typed settings: built-in defaults < `--config FILE` (TOML) < `CAUSEWAY__*` environment
//! variables < command-line flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use service_kit::bitcoin::Network;
use service_kit::settings::{
    self, DatabaseFlags, DatabaseSettings, LogFlags, LogSettings, ServerFlags, ServerSettings,
    SettingsError,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub server: ServerSettings,
    #[serde(flatten)]
    pub database: DatabaseSettings,
    #[serde(flatten)]
    pub log: LogSettings,
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
    /// Lifetime of a nonce; `/nonce` hands out a fresh one once half of it has passed.
    pub nonce_ttl_secs: u64,
    /// How often each replica writes the transfer `/get` served to the database, in ms.
    pub transfer_flush_ms: u64,
    /// An owner's transfer served by one replica and not yet written that makes the replica
    /// write at once; `/get`s of that owner wait for the write. Bounds the quota overshoot
    /// (README, "Transfer accounting").
    pub transfer_flush_bytes: u64,
    /// Memory `/get`'s cache may hold, on SQLite (`crate::read_cache`); 0 turns it off.
    pub read_cache_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings {
                body_limit: 65_536,
                ..ServerSettings::on_port(2016)
            },
            database: DatabaseSettings::sqlite("data/causeway.sqlite"),
            log: LogSettings::default(),
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
            nonce_ttl_secs: 3600,
            transfer_flush_ms: 100,
            transfer_flush_bytes: 1_048_576,
            read_cache_bytes: 67_108_864,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Serve HTTP (the default)
    Serve,
    /// Apply pending database migrations and exit
    Migrate,
}

/// Flags that were given override every other layer; absent ones hide nothing. Their
/// defaults in `--help` come from [`Settings::default`].
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Args, Serialize)]
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
    /// Network of addresses when a request does not say: mainnet or testnet
    #[arg(long, global = true)]
    pub network: Option<Network>,
    /// Bitcoin Core JSON-RPC URL [default: none, no ledger]
    #[arg(long, global = true)]
    pub bitcoind_url: Option<String>,
    /// Bitcoin Core RPC user (empty: the user in the URL)
    #[arg(long, global = true)]
    pub bitcoind_user: Option<String>,
    /// File holding the Bitcoin Core RPC password [default: none]
    #[arg(long, global = true)]
    pub bitcoind_password_file: Option<PathBuf>,
    /// Confirmations a deposit needs
    #[arg(long, global = true)]
    pub min_confirmations: Option<u32>,
    /// Price of a bought bucket in satoshis, 0 = free
    #[arg(long, global = true, value_name = "SATOSHIS")]
    pub price: Option<u64>,
    /// Storage of one bucket in bytes
    #[arg(long, global = true)]
    pub bucket_bytes: Option<u64>,
    /// Transfer (bytes served by /get) of one bucket
    #[arg(long, global = true)]
    pub bucket_transfer_bytes: Option<u64>,
    /// Lifetime of a bucket in days
    #[arg(long, global = true)]
    pub bucket_term_days: Option<u32>,
    /// Free buckets /request grants per owner
    #[arg(long, global = true)]
    pub free_buckets: Option<u32>,
    /// Largest value in bytes
    #[arg(long, global = true)]
    pub max_value_bytes: Option<usize>,
    /// Lifetime of a nonce in seconds
    #[arg(long, global = true)]
    pub nonce_ttl_secs: Option<u64>,
    /// How often /get's transfer is written to the database, in ms
    #[arg(long, global = true)]
    pub transfer_flush_ms: Option<u64>,
    /// Unwritten transfer per owner that forces a write, in bytes
    #[arg(long, global = true)]
    pub transfer_flush_bytes: Option<u64>,
    /// Memory /get's cache may hold on SQLite, in bytes, 0 = off
    #[arg(long, global = true)]
    pub read_cache_bytes: Option<u64>,
}

impl Settings {
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
    use crate::Application;
    use service_kit::startup::{self, Cli};

    fn cli(args: &[&str]) -> Cli<Flags, Command> {
        startup::parse::<Application, _, _>(std::iter::once("causeway").chain(args.iter().copied()))
            .unwrap()
    }

    fn load(
        cli: &Cli<Flags, Command>,
        env: std::collections::HashMap<String, String>,
    ) -> anyhow::Result<Settings> {
        startup::load::<Application>(cli, Some(env))
    }

    #[test]
    fn defaults_match_the_issue() {
        let got = load(&cli(&[]), Default::default()).unwrap();
        assert_eq!(got, Settings::default());
        assert_eq!(got.server.port, 2016);
        assert_eq!(got.database.database_url, "sqlite://data/causeway.sqlite");
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
        let got = load(&cli(&["--port", "4000", "--no-migrate"]), env).unwrap();
        assert_eq!(got.server.port, 4000);
        assert_eq!(got.price, 5);
        assert_eq!(got.network, Network::Testnet);
        assert!(!got.database.migrate);
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        service_kit::testing::assert_help_shows_defaults::<Application>();
        let help = startup::command::<Application>()
            .render_long_help()
            .to_string();
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
        assert_eq!(
            parsed.flags.database.database_url.as_deref(),
            Some("sqlite://x.db")
        );
    }
}
