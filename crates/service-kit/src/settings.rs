//! Settings, from lowest to highest precedence: built-in defaults, an optional TOML file
//! (`--config FILE`), environment variables (`<PREFIX>__<KEY>`, `__` for nesting), then the
//! command-line flags that were actually given. Settings are typed and passed in; there is no
//! global.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use config::{Config, Environment, File, FileFormat};
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod common;
pub mod help;

pub use common::{
    DatabaseFlags, DatabaseSettings, LogFlags, LogSettings, ServerFlags, ServerSettings,
};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid settings: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error("cannot read secret file {path}: {source}")]
    SecretFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("secret file {0} is empty")]
    EmptySecret(PathBuf),
    #[error("unknown setting(s): {0}")]
    Unknown(String),
}

/// Where settings come from besides the defaults.
#[derive(Debug, Default)]
pub struct Sources<'a> {
    /// `CAUSEWAY`, `TAILS_SERVER`, ...: the service name upper-cased with `_`.
    pub env_prefix: &'a str,
    /// `--config FILE`; a named file must exist.
    pub file: Option<&'a Path>,
    /// Stands in for the process environment (tests); `None` reads the real one.
    pub env: Option<HashMap<String, String>>,
}

/// Builds `S` from its `Default`, the file, the environment and `flags`. `flags` serialises
/// only the flags that were given (`Option` fields with `skip_serializing_if = "Option::is_none"`),
/// so an absent flag never hides a lower layer.
pub fn load<S, F>(sources: Sources<'_>, flags: &F) -> Result<S, SettingsError>
where
    S: Serialize + DeserializeOwned + Default,
    F: Serialize,
{
    let mut builder = Config::builder().add_source(Config::try_from(&S::default())?);
    if let Some(path) = sources.file {
        builder = builder.add_source(File::from(path).format(FileFormat::Toml).required(true));
    }
    let environment = Environment::with_prefix(sources.env_prefix)
        .prefix_separator("__")
        .separator("__")
        .try_parsing(true)
        .source(sources.env);
    let merged = builder
        .add_source(environment)
        .add_source(Config::try_from(flags)?)
        .build()?;
    refuse_unknown_keys::<S>(&merged)?;
    Ok(merged.try_deserialize()?)
}

/// A misspelt key in a file or a stray `<PREFIX>__*` variable is an error, not silently
/// ignored. Done here rather than by `deny_unknown_fields`, which serde does not support
/// beside `flatten`.
fn refuse_unknown_keys<S: Serialize + Default>(merged: &Config) -> Result<(), SettingsError> {
    let known = help::flat_keys(&S::default());
    let given: HashMap<String, config::Value> = merged.clone().try_deserialize()?;
    let mut unknown: Vec<&str> = given
        .keys()
        .map(String::as_str)
        .filter(|key| !known.contains_key(*key))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(SettingsError::Unknown(unknown.join(", ")))
}

/// Reads a secret (password, token) from a file, without surrounding whitespace.
pub fn read_secret(path: &Path) -> Result<String, SettingsError> {
    let text = std::fs::read_to_string(path).map_err(|source| SettingsError::SecretFile {
        path: path.to_owned(),
        source,
    })?;
    let secret = text.trim();
    if secret.is_empty() {
        return Err(SettingsError::EmptySecret(path.to_owned()));
    }
    Ok(secret.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Demo {
        host: String,
        port: u16,
        storage_path: PathBuf,
        database: Database,
        api_token_file: Option<PathBuf>,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Database {
        url: String,
        pool_size: u32,
    }

    impl Default for Demo {
        fn default() -> Self {
            Self {
                host: "127.0.0.1".into(),
                port: 6543,
                storage_path: "data/tails".into(),
                database: Database {
                    url: "sqlite://data/demo.sqlite".into(),
                    pool_size: 8,
                },
                api_token_file: None,
            }
        }
    }

    #[derive(Serialize, Default)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        port: Option<u16>,
    }

    fn env(pairs: &[(&str, &str)]) -> Option<HashMap<String, String>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn defaults_alone() {
        let sources = Sources {
            env_prefix: "DEMO",
            env: env(&[]),
            ..Sources::default()
        };
        let got: Demo = load(sources, &Flags::default()).unwrap();
        assert_eq!(got, Demo::default());
    }

    #[test]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(
            &file,
            "port = 7000\nhost = \"0.0.0.0\"\n[database]\nurl = \"postgres://db/x\"\n",
        )
        .unwrap();
        let sources = Sources {
            env_prefix: "DEMO",
            file: Some(&file),
            env: env(&[
                ("DEMO__PORT", "7001"),
                ("DEMO__DATABASE__POOL_SIZE", "3"),
                ("DEMO__STORAGE_PATH", "/srv/tails"),
                ("OTHER__PORT", "1"),
            ]),
        };
        let got: Demo = load(sources, &Flags { port: Some(7002) }).unwrap();
        assert_eq!(got.host, "0.0.0.0");
        assert_eq!(got.port, 7002);
        assert_eq!(got.database.url, "postgres://db/x");
        assert_eq!(got.database.pool_size, 3);
        assert_eq!(got.storage_path, PathBuf::from("/srv/tails"));
    }

    #[test]
    fn env_overrides_file_when_no_flag() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, "port = 7000\n").unwrap();
        let sources = Sources {
            env_prefix: "DEMO",
            file: Some(&file),
            env: env(&[("DEMO__PORT", "7001")]),
        };
        let got: Demo = load(sources, &Flags::default()).unwrap();
        assert_eq!(got.port, 7001);
    }

    #[test]
    fn unknown_keys_and_bad_types_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("demo.toml");
        std::fs::write(&file, "prot = 7000\n").unwrap();
        let sources = Sources {
            env_prefix: "DEMO",
            file: Some(&file),
            env: env(&[]),
        };
        assert!(load::<Demo, _>(sources, &Flags::default()).is_err());

        let sources = Sources {
            env_prefix: "DEMO",
            env: env(&[("DEMO__PORT", "many")]),
            ..Sources::default()
        };
        assert!(load::<Demo, _>(sources, &Flags::default()).is_err());
    }

    #[test]
    fn missing_named_file_is_an_error() {
        let sources = Sources {
            env_prefix: "DEMO",
            file: Some(Path::new("/nonexistent/demo.toml")),
            env: env(&[]),
        };
        assert!(load::<Demo, _>(sources, &Flags::default()).is_err());
    }

    #[test]
    fn secrets_are_read_and_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "hunter2\n").unwrap();
        assert_eq!(read_secret(&path).unwrap(), "hunter2");
        std::fs::write(&path, "\n").unwrap();
        assert!(matches!(
            read_secret(&path),
            Err(SettingsError::EmptySecret(_))
        ));
        assert!(matches!(
            read_secret(&dir.path().join("absent")),
            Err(SettingsError::SecretFile { .. })
        ));
    }
}
