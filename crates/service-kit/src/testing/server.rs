//! A service's real server for a test: built from settings (port 0), running on the test's
//! runtime, stopped on drop or awaited to the end with [`TestServer::stop`].

use actix_web::dev::ServerHandle;
use tokio::task::JoinHandle;

use crate::startup::Service;

pub struct TestServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub port: u16,
    handle: ServerHandle,
    running: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestServer {
    /// Builds `S` (its port is bound when this returns, so requests may start at once) and
    /// runs it in the background.
    pub async fn start<S: Service>(settings: S::Settings) -> anyhow::Result<Self> {
        let app = S::build(settings).await?;
        Ok(Self::run(app))
    }

    /// Runs an application the test built itself.
    pub fn run<S: Service>(app: S) -> Self {
        let port = app.port();
        let handle = app.handle();
        let running = actix_web::rt::spawn(app.run());
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            handle,
            running: Some(running),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn handle(&self) -> ServerHandle {
        self.handle.clone()
    }

    /// Stops gracefully and waits until the service's `run` has returned (its shutdown work,
    /// such as flushing counters, done).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.handle.stop(true).await;
        match self.running.take() {
            Some(running) => running.await?,
            None => Ok(()),
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if self.running.is_some() {
            // Stopping is asynchronous; the test's runtime finishes it.
            drop(self.handle.stop(false));
        }
    }
}

/// Every flag's `--help` states its default, and where `S::Settings::default()` has a value for
/// the flag's key, the stated default is that value.
pub fn assert_help_shows_defaults<S: Service>() {
    let defaults = crate::settings::help::flat_keys(&S::Settings::default());
    let command = crate::startup::command::<S>();
    let mut checked = 0;
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version") || arg.is_positional() {
            continue;
        }
        let help = arg.get_help().map(ToString::to_string).unwrap_or_default();
        assert_eq!(
            help.matches("[default: ").count(),
            1,
            "--{id}: help should state one default: {help:?}"
        );
        if let Some(value) = defaults.get(id).and_then(crate::settings::help::shown) {
            assert!(
                help.ends_with(&format!("[default: {value}]")),
                "--{id}: help {help:?} should end with the default {value:?}"
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no flags found");
}
