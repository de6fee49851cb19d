//! Settings: built-in defaults < TOML file (`--config`) < `TAILS_SERVER__*` environment
//! variables < command-line flags (the original's names).

use std::path::PathBuf;

use clap::Parser;
use serde::{Deserialize, Serialize};
use service_kit::server::LogFormat;
use service_kit::settings::{Sources, load};

use crate::domain::expected_size;

pub const DEFAULT_HOST: &str = "127.0.0.1";
pub const DEFAULT_PORT: u16 = 6543;
pub const DEFAULT_STORAGE_PATH: &str = "data/tails";
/// ACA-Py's largest registry (maxCredNum 32768): 2 + 128·65,537 bytes.
pub const DEFAULT_MAX_TAILS_SIZE: u64 = 8_388_738;
pub const DEFAULT_MAX_GENESIS_SIZE: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub host: String,
    pub port: u16,
    /// One flat directory of tails files; created if missing.
    pub storage_path: PathBuf,
    /// The env_logger filter (`warn`, `info,tails_server=debug`); `load` accepts the
    /// original's Python names too (`WARNING`, `CRITICAL`, ...) and stores the filter.
    pub log_level: String,
    /// Log lines as text (`plain`) or one JSON object each (`json`).
    pub log_format: LogFormat,
    /// Largest tails file accepted (413 above it).
    pub max_tails_size: u64,
    /// Largest genesis part accepted (413 above it).
    pub max_genesis_size: u64,
    /// A ledger given by flags: its indy-vdr-proxy URL...
    pub indy_vdr_proxy_url: Option<String>,
    /// ...and optionally its genesis file, to tell it apart from the configured `ledgers`.
    pub genesis_file: Option<PathBuf>,
    /// Further ledgers; an upload's genesis selects one.
    pub ledgers: Vec<LedgerSettings>,
    pub ledger_connect_timeout_ms: u64,
    /// Each ledger read; well under ACA-Py's 10 s per upload attempt.
    pub ledger_timeout_ms: u64,
    /// HTTP worker threads; unset means one per core.
    pub workers: Option<usize>,
    pub shutdown_timeout_secs: u64,
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
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            storage_path: DEFAULT_STORAGE_PATH.into(),
            log_level: "info".to_owned(),
            log_format: LogFormat::Plain,
            max_tails_size: DEFAULT_MAX_TAILS_SIZE,
            max_genesis_size: DEFAULT_MAX_GENESIS_SIZE,
            indy_vdr_proxy_url: None,
            genesis_file: None,
            ledgers: Vec::new(),
            ledger_connect_timeout_ms: 2_000,
            ledger_timeout_ms: 5_000,
            workers: None,
            shutdown_timeout_secs: 30,
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
}

/// The command line. Flags left out fall through to the environment, the file and the
/// defaults shown here.
#[serde_with::skip_serializing_none]
#[derive(Debug, Default, Parser, Serialize)]
#[command(
    name = "tails-server",
    version,
    about = "Stores and serves AnonCreds/Indy revocation tails files.",
    after_help = "Every setting can also come from the --config TOML file or from \
                  TAILS_SERVER__<SETTING> environment variables (e.g. TAILS_SERVER__STORAGE_PATH); \
                  flags win over both."
)]
pub struct Flags {
    /// Address to listen on [default: 127.0.0.1]
    #[arg(long)]
    pub host: Option<String>,

    /// Port to listen on; 0 picks a free one [default: 6543]
    #[arg(long)]
    pub port: Option<u16>,

    /// Directory holding the tails files, created if missing [default: data/tails]
    #[arg(long, value_name = "DIR")]
    pub storage_path: Option<PathBuf>,

    /// indy-vdr-proxy base URL of the ledger uploads are checked against [default: none]
    #[arg(long, value_name = "URL")]
    pub indy_vdr_proxy_url: Option<String>,

    /// Genesis transactions of that ledger; without it any well-formed genesis selects it
    /// when it is the only ledger [default: none]
    #[arg(long, value_name = "FILE")]
    pub genesis_file: Option<PathBuf>,

    /// TOML settings file (may list several [[ledgers]]) [default: none]
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Largest tails file accepted, in bytes [default: 8388738]
    #[arg(long, value_name = "BYTES")]
    pub max_tails_size: Option<u64>,

    /// Log level: CRITICAL, ERROR, WARNING, INFO, DEBUG, NOTSET (the original's, any case) or
    /// error, warn, info, debug, trace, off, optionally target=LEVEL; RUST_LOG wins [default: info]
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,
    /// Log lines as text or one JSON object each: plain, json [default: plain]
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Load(#[from] service_kit::settings::SettingsError),
    #[error("max_tails_size must be at least 2 bytes")]
    TailsLimit,
    #[error("ledger {0:?} is listed twice")]
    DuplicateLedger(String),
    #[error(transparent)]
    LogLevel(#[from] service_kit::log_level::LogLevelError),
}

impl Flags {
    /// Merges the layers; `env` stands in for the process environment in tests.
    pub fn load(
        &self,
        env: Option<std::collections::HashMap<String, String>>,
    ) -> Result<Settings, SettingsError> {
        let sources = Sources {
            env_prefix: "TAILS_SERVER",
            file: self.config.as_deref(),
            env,
        };
        let mut settings: Settings = load(sources, self)?;
        settings.log_level = service_kit::log_level::log_filter(&settings.log_level)?;
        if settings.max_tails_size < 2 {
            return Err(SettingsError::TailsLimit);
        }
        let ledgers = settings.all_ledgers();
        for (index, ledger) in ledgers.iter().enumerate() {
            if ledgers[..index].iter().any(|l| l.name == ledger.name) {
                return Err(SettingsError::DuplicateLedger(ledger.name.clone()));
            }
        }
        Ok(settings)
    }
}

// The default limit must admit ACA-Py's largest tails file.
const _: () = assert!(matches!(
    expected_size(32_768),
    Some(DEFAULT_MAX_TAILS_SIZE)
));

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn log_levels_of_the_original_are_accepted_and_bad_ones_refused() {
        let with = |level: &str| {
            Flags {
                log_level: Some(level.to_owned()),
                ..Flags::default()
            }
            .load(env(&[]))
        };
        assert_eq!(with("WARNING").unwrap().log_level, "warn");
        assert_eq!(with("critical").unwrap().log_level, "error");
        assert_eq!(with("Debug").unwrap().log_level, "debug");
        let from_env = Flags::default()
            .load(env(&[("TAILS_SERVER__LOG_LEVEL", "WARNING")]))
            .unwrap();
        assert_eq!(from_env.log_level, "warn");
        let err = with("LOUD").unwrap_err();
        assert!(matches!(err, SettingsError::LogLevel(_)));
        assert!(
            err.to_string().contains("invalid log level \"LOUD\""),
            "{err}"
        );
    }

    #[test]
    fn defaults_without_any_source() {
        let settings = Flags::default().load(env(&[])).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.port, 6543);
        assert_eq!(settings.storage_path, PathBuf::from("data/tails"));
        assert!(settings.all_ledgers().is_empty());
    }

    #[test]
    fn original_flag_names_parse_and_win() {
        let flags = Flags::try_parse_from([
            "tails-server",
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
        ])
        .unwrap();
        let settings = flags
            .load(env(&[
                ("TAILS_SERVER__PORT", "1"),
                ("TAILS_SERVER__MAX_GENESIS_SIZE", "99"),
            ]))
            .unwrap();
        assert_eq!(settings.host, "0.0.0.0");
        assert_eq!(settings.port, 7000);
        assert_eq!(settings.storage_path, PathBuf::from("/srv/tails"));
        assert_eq!(settings.max_tails_size, 1000);
        assert_eq!(settings.max_genesis_size, 99);
        assert_eq!(settings.log_level, "debug");
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
        let flags = Flags {
            config: Some(file),
            ..Flags::default()
        };
        let settings = flags.load(env(&[("TAILS_SERVER__PORT", "7001")])).unwrap();
        assert_eq!(settings.port, 7001);
        assert_eq!(settings.storage_path, PathBuf::from("/data"));
        let names: Vec<_> = settings.all_ledgers().into_iter().map(|l| l.name).collect();
        assert_eq!(names, ["bcovrin", "sovrin"]);
    }

    #[test]
    fn unknown_keys_and_duplicate_ledgers_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("tails.toml");
        std::fs::write(&file, "stroage_path = \"/data\"\n").unwrap();
        let flags = Flags {
            config: Some(file.clone()),
            ..Flags::default()
        };
        assert!(flags.load(env(&[])).is_err());

        std::fs::write(
            &file,
            "[[ledgers]]\nname = \"a\"\nindy_vdr_proxy_url = \"http://a:1\"\n\
             [[ledgers]]\nname = \"a\"\nindy_vdr_proxy_url = \"http://b:1\"\n",
        )
        .unwrap();
        assert!(matches!(
            flags.load(env(&[])),
            Err(SettingsError::DuplicateLedger(_))
        ));
    }

    #[test]
    fn help_lists_every_flag_with_its_default() {
        let help = Flags::command().render_long_help().to_string();
        let defaults = Settings::default();
        for (flag, default) in [
            ("--host", defaults.host.clone()),
            ("--port", defaults.port.to_string()),
            (
                "--storage-path",
                defaults.storage_path.display().to_string(),
            ),
            ("--indy-vdr-proxy-url", "none".to_owned()),
            ("--genesis-file", "none".to_owned()),
            ("--config", "none".to_owned()),
            ("--max-tails-size", defaults.max_tails_size.to_string()),
            ("--log-level", defaults.log_level.clone()),
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
