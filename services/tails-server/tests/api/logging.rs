//! `--log-level` as the original and the bcgov chart spell it (`WARNING`): warnings stay on,
//! info is off; an unknown name stops the binary at start-up with a clear message.

use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt as _;

use crate::server_process::command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[actix_web::test]
async fn warning_keeps_warnings_and_drops_info() {
    let storage = tempfile::tempdir().unwrap();
    let port = free_port();
    // No ledger: start-up warns "no ledger configured", then logs "listening on" at info.
    let mut child = command(
        env!("CARGO_BIN_EXE_tails-server"),
        storage.path(),
        "WARNING",
    )
    .args(["--port", &port.to_string()])
    .spawn()
    .unwrap();
    let live = format!("http://127.0.0.1:{port}/health/live");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = reqwest::get(&live).await
            && response.status() == 200
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().await.unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("WARN") && stderr.contains("no ledger configured"),
        "the start-up warning is missing: {stderr:?}"
    );
    assert!(
        !stderr.contains("listening on"),
        "info was logged: {stderr:?}"
    );
}

#[actix_web::test]
async fn unknown_levels_are_refused_at_start() {
    let storage = tempfile::tempdir().unwrap();
    let child = command(env!("CARGO_BIN_EXE_tails-server"), storage.path(), "LOUD")
        .args(["--port", "0"])
        .spawn()
        .unwrap();
    let output = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the server started with --log-level LOUD instead of refusing it")
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid log level \"LOUD\"") && stderr.contains("WARNING"),
        "{stderr}"
    );
}
