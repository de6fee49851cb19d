//! Real server processes (the built binary) on one storage directory: concurrent uploads of
//! one id from both, and a process killed mid-upload.

use std::path::Path;
use std::process::Stdio;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

pub struct ServerProcess {
    pub child: Child,
    pub url: String,
}

pub async fn spawn_process(storage: &Path, ledger_url: &str) -> ServerProcess {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tails-server"))
        .args(["--host", "127.0.0.1", "--port", "0", "--log-level", "info"])
        .arg("--storage-path")
        .arg(storage)
        .args(["--indy-vdr-proxy-url", ledger_url])
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
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

#[actix_web::test]
async fn two_processes_store_an_id_exactly_once() {
    let app = spawn_app().await;
    let first = spawn_process(&app.storage, &app.sim.url()).await;
    let second = spawn_process(&app.storage, &app.sim.url()).await;
    let tails = tails_file(4096);
    let id = app.register("processes", 4096, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);

    let uploads = (0..6).map(|n| {
        let base = if n % 2 == 0 { &first.url } else { &second.url };
        let url = format!("{base}/{}", quote(&id));
        let client = app.client.clone();
        let body = body.clone();
        tokio::spawn(async move {
            let response = client
                .put(url)
                .header("content-type", form_data_type())
                .body(body)
                .send()
                .await
                .unwrap();
            answer(response).await
        })
    });
    let answers: Vec<(u16, String)> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let winners = answers.iter().filter(|(status, _)| *status == 200).count();
    let losers = answers.iter().filter(|(status, _)| *status == 409).count();
    assert_eq!((winners, losers), (1, 5), "{answers:?}");

    for base in [&first.url, &second.url] {
        let response = app
            .client
            .get(format!("{base}/{}", quote(&id)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
    }
    assert_eq!(app.stored_files(), [id]);
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn killed_process_leaves_no_file_and_a_restart_accepts_the_upload() {
    let app = spawn_app().await;
    let mut doomed = spawn_process(&app.storage, &app.sim.url()).await;
    let tails = tails_file(4096);
    let id = app.register("crash", 4096, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);

    let (feed, task) =
        start_streamed_upload(&app.client, &format!("{}/{}", doomed.url, quote(&id)));
    feed.send(&body[..body.len() / 2]).await;
    eventually("the upload to be writing", || app.temp_files() == 1).await;
    doomed.child.kill().await.unwrap();
    assert!(task.await.unwrap().is_err());

    // The dead process's temp file is left, but no file under the final name.
    assert!(app.stored_files().is_empty());
    assert_eq!(app.temp_files(), 1);

    // A restarted server sweeps it and the upload goes through (in-process app already
    // running on this directory cannot have swept it: it started before).
    let restarted = spawn_process(&app.storage, &app.sim.url()).await;
    assert_eq!(app.temp_files(), 0);
    let response = put_multipart(
        &app.client,
        &format!("{}/{}", restarted.url, quote(&id)),
        &[genesis_part(&app.genesis), tails_part(&tails)],
    )
    .await;
    assert_eq!(answer(response).await, (200, tails_hash(&tails)));
    let download = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), tails.as_slice());
}
