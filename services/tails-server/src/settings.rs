//! Settings: built-in defaults < TOML file (`--config`) < `TAILS_SERVER__*` environment
//! variables < command-line flags (the original's names). The server and log settings are
//! service-kit's, flattened, so their keys stay flat (`port`, `log_level`).

use std::path::PathBuf;

use anyhow::bail;
use serde::{Deserialize, Serialize};
use service_kit::settings::{LogFlags, LogSettings, ServerFlags, ServerSettings};

use crate::domain::expected_size;

pub const DEFAULT_PORT: u16 = 6543;
pub const DEFAULT_STORAGE_PATH: &str = "data/tails";
/// ACA-Py's largest registry (maxCredNum 32768): 2 + 128·65,537 bytes.
pub const DEFAULT_MAX_TAILS_SIZE: u64 = 8_388_738;
pub const DEFAULT_MAX_GENESIS_SIZE: u64 = 1024 * 1024;
/// Uploads stream through their own limits; this caps only bodies read whole (none of the
/// routes reads one).
const BUFFERED_BODY_LIMIT: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    #[serde(flatten)]
    pub server: ServerSettings,
    /// `log_level` is the env_logger filter (`warn`, `info,tails_server=debug`); loading
    /// accepts the original's Python names too (`WARNING`, `CRITICAL`, ...) and stores the
    /// filter.
    #[serde(flatten)]
    pub log: LogSettings,
    /// One flat directory of tails files; created if missing.
    pub storage_path: PathBuf,
    /// Largest tails file accepted (413 above it).
    pub max_tails_size: u64,
    /// Largest genesis part accepted (413 above it).
    pub max_genesis_size: u64,
    /// A ledger given by flags: its indy-vdr-proxy URL...
    pub indy_vdr_proxy_url: Option<String>,
    /// ...and optionally its genesis file, to tell it apart from the configured `ledgers`.
    pub genesis_file: Option<PathBuf>,
    /// Further ledgers; an upload's genesis selects one. The loader's layers drop an empty
    /// list, hence the default here.
    #[serde(default)]
    pub ledgers: Vec<LedgerSettings>,
    pub ledger_connect_timeout_ms: u64,
    /// Each ledger read; well under ACA-Py's 10 s per upload attempt.
    pub ledger_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LedgerSettings {
    pub name: String,
    pub indy_vdr_proxy_url: String,
    /// Without it the genesis is fetched from the proxy when an upload needs telling ledgers
    /// apart.
    #[serde(default)]
    pub genesis_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            server: ServerSettings {
                body_limit: BUFFERED_BODY_LIMIT,
                ..ServerSettings::on_port(DEFAULT_PORT)
            },
            log: LogSettings::default(),
            storage_path: DEFAULT_STORAGE_PATH.into(),
            max_tails_size: DEFAULT_MAX_TAILS_SIZE,
            max_genesis_size: DEFAULT_MAX_GENESIS_SIZE,
            indy_vdr_proxy_url: None,
            genesis_file: None,
            ledgers: Vec::new(),
            ledger_connect_timeout_ms: 2_000,
            ledger_timeout_ms: 5_000,
        }
    }
}

impl Settings {
    /// All ledgers: the one given by flags (named `default`) first, then the configured list.
    pub fn all_ledgers(&self) -> Vec<LedgerSettings> {
        let from_flags = self.indy_vdr_proxy_url.as_ref().map(|url| LedgerSettings {
            name: "default".to_owned(),
            indy_vdr_proxy_url: url.clone(),
            genesis_file: self.genesis_file.clone(),
        });
        from_flags.into_iter().chain(self.ledgers.clone()).collect()
    }

    /// The rules across settings that types do not express.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.max_tails_size < 2 {
            bail!("max_tails_size must be at least 2 bytes");
        }
        let ledgers = self.all_ledgers();
        for (index, ledger) in ledgers.iter().enumerate() {
            if ledgers[..index].iter().any(|l| l.name == ledger.name) {
                bail!("ledger {:?} is listed twice", ledger.name);
            }
        }
        Ok(())
    }
}

/// Command-line flags; only those given override the lower layers. Defaults in `--help` come
/// from `Settings::default()`.
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, clap::Args, Serialize)]
pub struct Flags {
    #[command(flatten)]
    #[serde(flatten)]
    pub server: ServerFlags,
    #[command(flatten)]
    #[serde(flatten)]
    pub log: LogFlags,

    /// Directory holding the tails files, created if missing
    #[arg(long, global = true, value_name = "DIR")]
    pub storage_path: Option<PathBuf>,

    /// indy-vdr-proxy base URL of the ledger uploads are checked against [default: none]
    #[arg(long, global = true, value_name = "URL")]
    pub indy_vdr_proxy_url: Option<String>,

    /// Genesis transactions of that ledger; without it any well-formed genesis selects it
    /// when it is the only ledger [default: none]
    #[arg(long, global = true, value_name = "FILE")]
    pub genesis_file: Option<PathBuf>,

    /// Largest tails file accepted, in bytes
    #[arg(long, global = true, value_name = "BYTES")]
    pub max_tails_size: Option<u64>,
}

// The default limit must admit ACA-Py's largest tails file.
const _: () = assert!(matches!(
    expected_size(32_768),
    Some(DEFAULT_MAX_TAILS_SIZE)
));

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::Application;

    /// Settings from the command line `args` and the environment `env`.
    fn load(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let args = std::iter::once("tails-server").chain(args.iter().copied());
        let cli = service_kit::startup::parse::<Application, _, _>(args)?;
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        service_kit::startup::load::<Application>(&cli, Some(env))
    }

    #[test]
    fn log_levels_of_the_original_are_accepted_and_bad_ones_refused() {
        let with = |level: &str| load(&["--log-level", level], &[]);
        assert_eq!(with("WARNING").unwrap().log.log_level, "warn");
        assert_eq!(with("critical").unwrap().log.log_level, "error");
        assert_eq!(with("Debug").unwrap().log.log_level, "debug");
        let from_env = load(&[], &[("TAILS_SERVER__LOG_LEVEL", "WARNING")]).unwrap();
        assert_eq!(from_env.log.log_level, "warn");
        let err = with("LOUD").unwrap_err();
        assert!(
            err.to_string().contains("invalid log level \"LOUD\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_without_any_source() {
        let settings = load(&[], &[]).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.server.port, 6543);
        assert_eq!(settings.storage_path, PathBuf::from("data/tails"));
        assert!(settings.all_ledgers().is_empty());
    }

    #[test]
    fn original_flag_names_parse_and_win() {
        let settings = load(
            &[
                "--host",
                "0.0.0.0",
                "--port",
                "7000",
                "--storage-path",
                "/srv/tails",
                "--indy-vdr-proxy-url",
                "http://127.0.0.1:9700",
                "--genesis-file",
                "/etc/genesis.txn",
                "--max-tails-size",
                "1000",
                "--log-level",
                "debug",
            ],
            &[
                ("TAILS_SERVER__PORT", "1"),
                ("TAILS_SERVER__MAX_GENESIS_SIZE", "99"),
            ],
        )
        .unwrap();
        assert_eq!(settings.server.host, "0.0.0.0");
        assert_eq!(settings.server.port, 7000);
        assert_eq!(settings.storage_path, PathBuf::from("/srv/tails"));
        assert_eq!(settings.max_tails_size, 1000);
        assert_eq!(settings.max_genesis_size, 99);
        assert_eq!(settings.log.log_level, "debug");
        let ledgers = settings.all_ledgers();
        assert_eq!(ledgers.len(), 1);
        assert_eq!(ledgers[0].indy_vdr_proxy_url, "http://127.0.0.1:9700");
        assert_eq!(
            ledgers[0].genesis_file,
            Some(PathBuf::from("/etc/genesis.txn"))
        );
    }

    #[test]
    fn toml_lists_several_ledgers() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tails.toml");
        std::fs::write(
            &file,
            "storage_path = \"/data\"\n\
             [[ledgers]]\nname = \"bcovrin\"\nindy_vdr_proxy_url = \"http://a:1\"\ngenesis_file = \"/g/a\"\n\
             [[ledgers]]\nname = \"sovrin\"\nindy_vdr_proxy_url = \"http://b:2\"\n",
        )
        .unwrap();
        let config = file.to_str().unwrap();
        let settings = load(&["--config", config], &[("TAILS_SERVER__PORT", "7001")]).unwrap();
        assert_eq!(settings.server.port, 7001);
        assert_eq!(settings.storage_path, PathBuf::from("/data"));
        let names: Vec<_> = settings.all_ledgers().into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["bcovrin", "sovrin"]);
    }

    #[test]
    fn unknown_keys_and_duplicate_ledgers_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tails.toml");
        let config = file.to_str().unwrap();
        std::fs::write(&file, "stroage_path = \"/data\"\n").unwrap();
        assert!(load(&["--config", config], &[]).is_err());

        std::fs::write(
            &file,
            "[[ledgers]]\nname = \"a\"\nindy_vdr_proxy_url = \"http://a:1\"\n\
             [[ledgers]]\nname = \"a\"\nindy_vdr_proxy_url = \"http://b:1\"\n",
        )
        .unwrap();
        let err = load(&["--config", config], &[]).unwrap_err();
        assert!(err.to_string().contains("listed twice"), "{err}");
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        service_kit::testing::assert_help_shows_defaults::<Application>();
        let help = service_kit::startup::command::<Application>()
            .render_long_help()
            .to_string();
        let defaults = Settings::default();
        for (flag, default) in [
            ("--host", defaults.server.host.clone()),
            ("--port", defaults.server.port.to_string()),
            (
                "--storage-path",
                defaults.storage_path.display().to_string(),
            ),
            ("--indy-vdr-proxy-url", "none".to_owned()),
            ("--genesis-file", "none".to_owned()),
            ("--config", "none".to_owned()),
            ("--max-tails-size", defaults.max_tails_size.to_string()),
            ("--log-level", defaults.log.log_level.clone()),
        ] {
            let Some(at) = help.find(flag) else {
                panic!("{flag} missing from --help:\n{help}");
            };
            let section = &help[at..];
            let end = section.find("\n  -").unwrap_or(section.len());
            assert!(
                section[..end].contains(&format!("[default: {default}]")),
                "{flag} does not show its default {default}:\n{help}"
            );
        }
    }
}
