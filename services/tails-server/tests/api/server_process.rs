//! The built binary as a process (also used by `benches/tails.rs`): its command line and the
//! URL its start-up line names.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

/// `binary` on 127.0.0.1 over `storage`, logging at `log_level` (`RUST_LOG` unset) to a
/// piped stderr; killed when dropped.
pub fn command(binary: impl AsRef<OsStr>, storage: &Path, log_level: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .args(["--host", "127.0.0.1", "--log-level", log_level])
        .arg("--storage-path")
        .arg(storage)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Starts `command` on a free port and waits until it listens (its log level must let
/// service-kit's start-up line through).
pub async fn start(mut command: Command) -> ServerProcess {
    let mut child = command.args(["--port", "0"]).spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("server exited before listening");
        if let Some(url) = listening_url(&line) {
            break url;
        }
    };
    // Keep the pipe drained so logging never blocks the server.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    ServerProcess { child, url }
}

/// The base URL in the start-up line: "listening on port N" (or, from builds before
/// service-kit's start-up, "listening on http://ADDR").
fn listening_url(line: &str) -> Option<String> {
    let at = line.find("listening on ")?;
    let rest = line[at + "listening on ".len()..].trim();
    Some(match rest.strip_prefix("port ") {
        Some(port) => format!("http://127.0.0.1:{port}"),
        None => rest.to_owned(),
    })
}
