//! The one entry point of the four services. A service implements [`Service`] on its
//! `Application`; its `main.rs` is then `service_kit::startup::main::<Application>()`:
//! command line (flags with defaults from `Settings::default()`), settings from every layer,
//! logging, then either serving or the service's own subcommand.

use std::future::Future;
use std::path::PathBuf;

use actix_web::dev::ServerHandle;
use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::settings::{self, LogSettings, Sources};

/// What a service is to [`main`] and to tests (`service_kit::testing::TestServer`).
pub trait Service: Sized + 'static {
    /// The binary's name; upper-cased with `_` it is the environment prefix.
    const NAME: &'static str;
    /// One line for `--help`.
    const ABOUT: &'static str;
    /// The service's version (`env!("CARGO_PKG_VERSION")`).
    const VERSION: &'static str;

    type Settings: Serialize + DeserializeOwned + Default + Clone + Send;
    /// Flags that were given override every other layer (`Option` fields, skipped when `None`).
    type Flags: Args + Serialize;
    /// Subcommands besides serving, which is what runs when none is given.
    type Command: Subcommand;

    /// Settings from defaults, `--config` file, environment and flags. A service with a further
    /// source (zkap-client-api's Tahoe-LAFS node directory) overrides this.
    fn load(sources: Sources<'_>, flags: &Self::Flags) -> anyhow::Result<Self::Settings> {
        Ok(settings::load(sources, flags)?)
    }

    /// Rules across settings that their types do not express (ranges, names listed twice),
    /// checked once they are loaded.
    fn check(settings: &Self::Settings) -> anyhow::Result<()> {
        let _ = settings;
        Ok(())
    }

    /// The log settings inside the service's settings.
    fn log(settings: &Self::Settings) -> &LogSettings;

    /// Connects what the service needs and binds its port (0 picks one).
    fn build(settings: Self::Settings) -> impl Future<Output = anyhow::Result<Self>>;

    fn port(&self) -> u16;

    fn handle(&self) -> ServerHandle;

    /// Serves until SIGTERM/SIGINT or [`ServerHandle::stop`], background work included.
    fn run(self) -> impl Future<Output = anyhow::Result<()>>;

    /// Runs a subcommand (`migrate`, ...) to completion.
    fn command(
        command: Self::Command,
        settings: Self::Settings,
    ) -> impl Future<Output = anyhow::Result<()>>;
}

/// The command line every service shares: its flags, `--config` and its subcommands.
#[derive(Debug, Parser)]
pub struct Cli<F: Args, C: Subcommand> {
    #[command(subcommand)]
    pub command: Option<C>,
    /// TOML settings file (same keys as the flags, with `_` instead of `-`) [default: none]
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub flags: F,
}

/// Subcommands of a service that has none but serving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
pub enum ServeOnly {
    /// Serve HTTP (the default)
    Serve,
}

/// The command definition of `S`, with every default shown in `--help`.
pub fn command<S: Service>() -> clap::Command {
    let command = Cli::<S::Flags, S::Command>::command()
        .name(S::NAME)
        .bin_name(S::NAME)
        .about(S::ABOUT)
        .version(S::VERSION)
        .after_help(format!(
            "Every setting can also come from the --config file (the flag's name with `_` for \
             `-`) or from the environment as {}__<NAME> (upper case); given flags win, then \
             the environment, then the file.",
            env_prefix(S::NAME)
        ));
    settings::help::with_defaults(command, &S::Settings::default())
}

/// Parses `args` (the first is the program name) as `S`'s command line.
pub fn parse<S: Service, I, T>(args: I) -> Result<Cli<S::Flags, S::Command>, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command::<S>().try_get_matches_from(args)?;
    Cli::from_arg_matches(&matches)
}

/// `S::NAME` as an environment prefix: `tails-server` → `TAILS_SERVER`.
pub fn env_prefix(name: &str) -> String {
    name.to_ascii_uppercase().replace('-', "_")
}

/// Settings of `S` from every layer; `env: None` reads the process environment.
pub fn load<S: Service>(
    cli: &Cli<S::Flags, S::Command>,
    env: Option<std::collections::HashMap<String, String>>,
) -> anyhow::Result<S::Settings> {
    let prefix = env_prefix(S::NAME);
    let sources = Sources {
        env_prefix: &prefix,
        file: cli.config.as_deref(),
        env,
    };
    let settings = S::load(sources, &cli.flags)?;
    S::check(&settings)?;
    Ok(settings)
}

/// The whole of a service's `main`.
pub fn main<S: Service>() -> anyhow::Result<()> {
    let cli = match parse::<S, _, _>(std::env::args_os()) {
        Ok(cli) => cli,
        Err(err) => err.exit(),
    };
    let settings = load::<S>(&cli, None)?;
    let log = S::log(&settings);
    crate::server::start_logging(&log.log_level, log.log_format)?;
    actix_web::rt::System::new().block_on(async move {
        match cli.command {
            Some(command) => S::command(command, settings).await,
            None => serve::<S>(settings).await,
        }
    })
}

/// Builds and runs `S` until it is stopped.
pub async fn serve<S: Service>(settings: S::Settings) -> anyhow::Result<()> {
    let app = S::build(settings).await?;
    log::info!("{} listening on port {}", S::NAME, app.port());
    app.run().await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::HashMap;

    use serde::Deserialize;

    use super::*;
    use crate::settings::{DatabaseFlags, DatabaseSettings, LogFlags, ServerFlags, ServerSettings};

    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    struct DemoSettings {
        #[serde(flatten)]
        server: ServerSettings,
        #[serde(flatten)]
        database: DatabaseSettings,
        #[serde(flatten)]
        log: LogSettings,
        price: u64,
        ledger_url: Option<String>,
    }

    impl Default for DemoSettings {
        fn default() -> Self {
            Self {
                server: ServerSettings::on_port(2016),
                database: DatabaseSettings::sqlite("data/demo.sqlite"),
                log: LogSettings::default(),
                price: 100_000,
                ledger_url: None,
            }
        }
    }

    #[serde_with::skip_serializing_none]
    #[derive(Debug, Args, Serialize)]
    struct DemoFlags {
        #[command(flatten)]
        #[serde(flatten)]
        server: ServerFlags,
        #[command(flatten)]
        #[serde(flatten)]
        database: DatabaseFlags,
        #[command(flatten)]
        #[serde(flatten)]
        log: LogFlags,
        /// Price of a bucket in satoshis
        #[arg(long, global = true)]
        price: Option<u64>,
        /// Ledger to ask [default: none]
        #[arg(long, global = true)]
        ledger_url: Option<String>,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Subcommand)]
    enum DemoCommand {
        Migrate,
    }

    struct Demo;

    impl Service for Demo {
        const NAME: &'static str = "demo-service";
        const ABOUT: &'static str = "A demonstration";
        const VERSION: &'static str = "1.0.0";
        type Settings = DemoSettings;
        type Flags = DemoFlags;
        type Command = DemoCommand;

        fn log(settings: &DemoSettings) -> &LogSettings {
            &settings.log
        }
        async fn build(_: DemoSettings) -> anyhow::Result<Self> {
            Ok(Demo)
        }
        fn port(&self) -> u16 {
            0
        }
        fn handle(&self) -> ServerHandle {
            unreachable!("never served")
        }
        async fn run(self) -> anyhow::Result<()> {
            Ok(())
        }
        async fn command(_: DemoCommand, _: DemoSettings) -> anyhow::Result<()> {
            Ok(())
        }
    }

    fn settings(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<DemoSettings> {
        let cli = parse::<Demo, _, _>(std::iter::once("demo-service").chain(args.iter().copied()))?;
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load::<Demo>(&cli, Some(env))
    }

    #[test]
    fn defaults_alone() {
        assert_eq!(settings(&[], &[]).unwrap(), DemoSettings::default());
    }

    #[test]
    fn flattened_keys_stay_flat_in_every_layer() {
        let got = settings(
            &["--port", "4000", "--no-migrate", "--log-format", "json"],
            &[
                ("DEMO_SERVICE__PORT", "3000"),
                ("DEMO_SERVICE__POOL_SIZE", "3"),
                ("DEMO_SERVICE__WORKERS", "2"),
                ("DEMO_SERVICE__PRICE", "5"),
            ],
        )
        .unwrap();
        assert_eq!(got.server.port, 4000);
        assert_eq!(got.server.workers, Some(2));
        assert_eq!(got.database.pool_size, 3);
        assert!(!got.database.migrate);
        assert_eq!(got.log.log_format, crate::server::LogFormat::Json);
        assert_eq!(got.price, 5);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let err = settings(&[], &[("DEMO_SERVICE__PRISE", "5")]).unwrap_err();
        assert_eq!(err.to_string(), "unknown setting(s): prise");
    }

    #[test]
    fn subcommands_take_the_flags_too() {
        let cli = parse::<Demo, _, _>(["demo-service", "migrate", "--database-url", "sqlite://x"])
            .unwrap();
        assert_eq!(cli.command, Some(DemoCommand::Migrate));
        assert_eq!(
            cli.flags.database.database_url.as_deref(),
            Some("sqlite://x")
        );
    }

    #[test]
    fn help_shows_the_defaults_of_the_settings() {
        crate::testing::assert_help_shows_defaults::<Demo>();
        let help = command::<Demo>().render_long_help().to_string();
        assert!(help.contains("[default: 2016]"), "{help}");
        assert!(
            help.contains("[default: sqlite://data/demo.sqlite]"),
            "{help}"
        );
        assert!(help.contains("[default: 100000]"), "{help}");
        assert!(help.contains("[default: plain]"), "{help}");
        assert!(help.contains("DEMO_SERVICE__<NAME>"), "{help}");
    }

    #[test]
    fn env_prefix_of_a_dashed_name() {
        assert_eq!(env_prefix("tails-server"), "TAILS_SERVER");
    }
}
