//! Typed settings and the command line. Layers, lowest first: built-in defaults, `--config
//! FILE` (TOML), `ZKAP_CLIENT_API__*` environment variables, the Tahoe-LAFS node directory
//! (`--tahoe-node-dir`: its `tahoe.cfg` and `private/api_auth_token`), then explicit flags.

use std::path::PathBuf;

use clap::Subcommand;
use serde::{Deserialize, Deserializer, Serialize};
use service_kit::settings::{
    DatabaseFlags, DatabaseSettings, LogFlags, LogSettings, ServerFlags, ServerSettings, Sources,
};

use crate::domain::pricing::LEASE_PERIOD_SECONDS;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Settings {
    #[serde(flatten)]
    pub server: ServerSettings,
    #[serde(flatten)]
    pub database: DatabaseSettings,
    #[serde(flatten)]
    pub log: LogSettings,
    pub api_auth_token_file: Option<PathBuf>,
    pub tahoe_node_dir: Option<PathBuf>,
    pub ristretto_issuer_root_url: Option<String>,
    /// Issuer keys whose tokens are spendable; tokens signed by any other key are sequestered.
    #[serde(default, deserialize_with = "comma_list")]
    pub allowed_public_keys: Vec<String>,
    pub default_token_count: u64,
    pub num_redemption_groups: u32,
    pub pass_value: u64,
    pub shares_needed: u32,
    pub shares_total: u32,
    pub lease_min_time_remaining: u64,
    /// Longer than PaymentServer's 10-minute server-side retry of unpaid vouchers.
    pub issuer_timeout_seconds: u64,
    pub issuer_connect_timeout_seconds: u64,
    pub retry_initial_delay_ms: u64,
    pub retry_max_delay_ms: u64,
    pub max_concurrent_redemptions: usize,
    pub max_passes_per_request: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings::on_port(3457),
            database: DatabaseSettings::sqlite("data/zkap-client-api.sqlite"),
            log: LogSettings::default(),
            api_auth_token_file: None,
            tahoe_node_dir: None,
            ristretto_issuer_root_url: None,
            allowed_public_keys: Vec::new(),
            default_token_count: 32768,
            num_redemption_groups: 16,
            pass_value: 1_048_576,
            shares_needed: 3,
            shares_total: 10,
            lease_min_time_remaining: 0,
            issuer_timeout_seconds: 660,
            issuer_connect_timeout_seconds: 10,
            retry_initial_delay_ms: 1000,
            retry_max_delay_ms: 600_000,
            max_concurrent_redemptions: 4,
            max_passes_per_request: 10_000,
        }
    }
}

/// A list given either as a TOML array or as one comma-separated string (flags, env, tahoe.cfg);
/// each key is trimmed, as ZKAPAuthorizer does.
fn comma_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let items = match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(text) => text.split(',').map(str::to_owned).collect(),
        OneOrMany::Many(items) => items,
    };
    Ok(items
        .iter()
        .map(|key| key.trim().to_owned())
        .filter(|key| !key.is_empty())
        .collect())
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Load(#[from] service_kit::settings::SettingsError),
    #[error("cannot read {path}: {source}")]
    TahoeConfig {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    TahoeValue { path: PathBuf, message: String },
    #[error("invalid setting: {0}")]
    Invalid(String),
}

/// The command line: [`Flags`], `--config` and [`Command`].
pub type Cli = service_kit::startup::Cli<Flags, Command>;

#[derive(Debug, Clone, Copy, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
}

/// Command-line flags; only those given override the lower layers. Defaults in `--help` come
/// from `Settings::default()`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Clone, clap::Args, Serialize)]
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
    /// File holding the API token clients send as `Authorization: tahoe-lafs TOKEN`
    /// [default: TAHOE_NODE_DIR/private/api_auth_token].
    #[arg(long, global = true, value_name = "FILE")]
    pub api_auth_token_file: Option<PathBuf>,
    /// Tahoe-LAFS node directory: reads private/api_auth_token and, from tahoe.cfg, the
    /// [storageclient.plugins.privatestorageio-zkapauthz-v2] section and [client] shares.*
    /// [default: none].
    #[arg(long, global = true, value_name = "DIR")]
    pub tahoe_node_dir: Option<PathBuf>,
    /// Root URL of the PaymentServer-compatible issuer (required) [default: none].
    #[arg(long, global = true, value_name = "URL")]
    pub ristretto_issuer_root_url: Option<String>,
    /// Comma-separated issuer public keys whose tokens are spendable (required)
    #[arg(long, global = true, value_name = "KEY[,KEY]")]
    pub allowed_public_keys: Option<String>,
    /// Tokens per voucher; must match the issuer's --tokens-per-voucher
    #[arg(long, global = true)]
    pub default_token_count: Option<u64>,
    /// Redemption groups per voucher; must match the issuer
    #[arg(long, global = true)]
    pub num_redemption_groups: Option<u32>,
    /// Bytes of share data one pass pays for
    #[arg(long, global = true)]
    pub pass_value: Option<u64>,
    /// Shares needed to recover a file (k)
    #[arg(long, global = true)]
    pub shares_needed: Option<u32>,
    /// Shares stored per file (N)
    #[arg(long, global = true)]
    pub shares_total: Option<u32>,
    /// Seconds of lease left at which a lease is renewed; shortens the priced period
    #[arg(long, global = true, value_name = "SECONDS")]
    pub lease_min_time_remaining: Option<u64>,
    /// Seconds an issuer request may take
    #[arg(long, global = true, value_name = "SECONDS")]
    pub issuer_timeout_seconds: Option<u64>,
    /// Seconds to connect to the issuer
    #[arg(long, global = true, value_name = "SECONDS")]
    pub issuer_connect_timeout_seconds: Option<u64>,
    /// First retry delay of an unpaid or failed redemption, doubled per attempt
    #[arg(long, global = true, value_name = "MS")]
    pub retry_initial_delay_ms: Option<u64>,
    /// Longest retry delay
    #[arg(long, global = true, value_name = "MS")]
    pub retry_max_delay_ms: Option<u64>,
    /// Vouchers redeemed at the same time
    #[arg(long, global = true)]
    pub max_concurrent_redemptions: Option<usize>,
    /// Largest `count` of one POST passes
    #[arg(long, global = true)]
    pub max_passes_per_request: Option<u32>,
}

/// Settings from defaults, `--config`, the environment, the Tahoe node directory
/// (`tahoe_node_dir`, from any of those layers or the flags), then the flags given.
pub fn load(sources: Sources<'_>, flags: &Flags) -> Result<Settings, SettingsError> {
    let first = Sources {
        env_prefix: sources.env_prefix,
        file: sources.file,
        env: sources.env.clone(),
    };
    let mut settings: Settings = service_kit::settings::load(first, flags)?;
    if let Some(node_dir) = settings.tahoe_node_dir.clone() {
        let mut flags = flags.clone();
        flags.fill_from_node_dir(&node_dir)?;
        settings = service_kit::settings::load(sources, &flags)?;
    }
    settings.validated()
}

impl Settings {
    fn validated(self) -> Result<Self, SettingsError> {
        let invalid = |m: &str| Err(SettingsError::Invalid(m.to_owned()));
        if self.num_redemption_groups == 0 {
            return invalid("num_redemption_groups must be at least 1");
        }
        if self.default_token_count < u64::from(self.num_redemption_groups) {
            return invalid("default_token_count must be at least num_redemption_groups");
        }
        if self.pass_value == 0 {
            return invalid("pass_value must be at least 1");
        }
        if self.shares_needed == 0 || self.shares_total < self.shares_needed {
            return invalid("shares_needed must be at least 1 and at most shares_total");
        }
        if self.lease_min_time_remaining > LEASE_PERIOD_SECONDS {
            return invalid("lease_min_time_remaining must not exceed 31 days (2678400 s)");
        }
        if self.max_concurrent_redemptions == 0 || self.max_passes_per_request == 0 {
            return invalid("max_concurrent_redemptions and max_passes_per_request must be >= 1");
        }
        if self.retry_initial_delay_ms == 0 || self.retry_max_delay_ms < self.retry_initial_delay_ms
        {
            return invalid("retry delays must satisfy 0 < initial <= max");
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::HashMap;

    use super::*;
    use crate::Application;

    fn parse(args: &[&str]) -> Cli {
        service_kit::startup::parse::<Application, _, _>(
            std::iter::once("zkap-client-api").chain(args.iter().copied()),
        )
        .unwrap()
    }

    /// What `Service::load` does, with the error still typed.
    fn load(cli: &Cli, env: Option<HashMap<String, String>>) -> Result<Settings, SettingsError> {
        let sources = Sources {
            env_prefix: "ZKAP_CLIENT_API",
            file: cli.config.as_deref(),
            env,
        };
        super::load(sources, &cli.flags)
    }

    fn no_env() -> Option<HashMap<String, String>> {
        Some(HashMap::new())
    }

    #[test]
    fn defaults_match_the_original() {
        let settings = load(&parse(&[]), no_env()).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.server.port, 3457);
        assert!(settings.database.migrate);
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        let help = service_kit::startup::command::<Application>()
            .render_long_help()
            .to_string();
        let defaults = Settings::default();
        for (flag, default) in [
            ("--host", defaults.server.host.clone()),
            ("--port", defaults.server.port.to_string()),
            ("--database-url", defaults.database.database_url.clone()),
            ("--pool-size", defaults.database.pool_size.to_string()),
            (
                "--default-token-count",
                defaults.default_token_count.to_string(),
            ),
            (
                "--num-redemption-groups",
                defaults.num_redemption_groups.to_string(),
            ),
            ("--pass-value", defaults.pass_value.to_string()),
            ("--shares-needed", defaults.shares_needed.to_string()),
            ("--shares-total", defaults.shares_total.to_string()),
            (
                "--lease-min-time-remaining",
                defaults.lease_min_time_remaining.to_string(),
            ),
            (
                "--issuer-timeout-seconds",
                defaults.issuer_timeout_seconds.to_string(),
            ),
            (
                "--retry-initial-delay-ms",
                defaults.retry_initial_delay_ms.to_string(),
            ),
            (
                "--retry-max-delay-ms",
                defaults.retry_max_delay_ms.to_string(),
            ),
            (
                "--max-passes-per-request",
                defaults.max_passes_per_request.to_string(),
            ),
            ("--body-limit", defaults.server.body_limit.to_string()),
            ("--log-level", defaults.log.log_level.clone()),
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
            assert!(
                help.contains(&format!("[default: {default}]")),
                "default {default} of {flag} missing from --help"
            );
        }
        for flag in [
            "--config",
            "--no-migrate",
            "--api-auth-token-file",
            "--tahoe-node-dir",
            "--ristretto-issuer-root-url",
            "--allowed-public-keys",
            "migrate",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }

    #[test]
    fn help_shows_the_defaults_of_the_settings() {
        service_kit::testing::assert_help_shows_defaults::<Application>();
    }

    #[test]
    fn flags_env_and_file_layer() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("zkap.toml");
        std::fs::write(
            &file,
            "port = 4000\nshares_needed = 2\nallowed_public_keys = [\"a\", \" b \"]\n",
        )
        .unwrap();
        let file_arg = file.to_str().unwrap();
        let cli = parse(&["--config", file_arg, "--port", "4001", "--no-migrate"]);
        let env = HashMap::from([
            ("ZKAP_CLIENT_API__SHARES_NEEDED".to_owned(), "3".to_owned()),
            ("ZKAP_CLIENT_API__PASS_VALUE".to_owned(), "100".to_owned()),
        ]);
        let settings = load(&cli, Some(env)).unwrap();
        assert_eq!(settings.server.port, 4001);
        assert_eq!(settings.shares_needed, 3);
        assert_eq!(settings.pass_value, 100);
        assert_eq!(settings.allowed_public_keys, ["a", "b"]);
        assert!(!settings.database.migrate);

        let cli = parse(&["--allowed-public-keys", " k1 , k2,"]);
        let settings = load(&cli, no_env()).unwrap();
        assert_eq!(settings.allowed_public_keys, ["k1", "k2"]);
    }

    #[test]
    fn migrate_subcommand_parses() {
        let cli = parse(&["--database-url", "sqlite://x.db", "migrate"]);
        assert!(matches!(cli.command, Some(Command::Migrate)));
    }

    #[test]
    fn tahoe_node_dir_fills_what_flags_leave_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("private")).unwrap();
        std::fs::write(dir.path().join("private/api_auth_token"), "tok\n").unwrap();
        std::fs::write(
            dir.path().join("tahoe.cfg"),
            "[client]\nshares.needed = 2\nshares.total = 5\n\n\
             [storageclient.plugins.privatestorageio-zkapauthz-v2]\n\
             ristretto-issuer-root-url = https://issuer.example/\n\
             allowed-public-keys = key1, key2\n\
             default-token-count = 50000\n\
             pass-value = 4096\n\
             lease.min-time-remaining = 86400\n",
        )
        .unwrap();
        let node = dir.path().to_str().unwrap();
        let cli = parse(&["--tahoe-node-dir", node, "--pass-value", "8192"]);
        let settings = load(&cli, no_env()).unwrap();
        assert_eq!(
            settings.api_auth_token_file,
            Some(dir.path().join("private/api_auth_token"))
        );
        assert_eq!(
            settings.ristretto_issuer_root_url.as_deref(),
            Some("https://issuer.example/")
        );
        assert_eq!(settings.allowed_public_keys, ["key1", "key2"]);
        assert_eq!(settings.default_token_count, 50000);
        assert_eq!(settings.pass_value, 8192, "explicit flag wins");
        assert_eq!(settings.lease_min_time_remaining, 86400);
        assert_eq!((settings.shares_needed, settings.shares_total), (2, 5));

        std::fs::write(
            dir.path().join("tahoe.cfg"),
            "[storageclient.plugins.privatestorageio-zkapauthz-v2]\npass-value = lots\n",
        )
        .unwrap();
        let err = load(&parse(&["--tahoe-node-dir", node]), no_env());
        assert!(
            matches!(err, Err(SettingsError::TahoeValue { .. })),
            "{err:?}"
        );
    }

    #[test]
    fn nonsense_is_refused() {
        for args in [
            &["--num-redemption-groups", "0"][..],
            &["--shares-needed", "11"][..],
            &["--pass-value", "0"][..],
            &["--lease-min-time-remaining", "9999999"][..],
        ] {
            assert!(load(&parse(args), no_env()).is_err(), "{args:?}");
        }
    }
}
