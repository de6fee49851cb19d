//! Real server processes (the built binary) on one storage directory: concurrent uploads of
//! one id from both, and a process killed mid-upload.

use std::path::Path;

use crate::helpers::*;
use crate::server_process::{self, ServerProcess};

pub async fn spawn_process(storage: &Path, ledger_url: &str) -> ServerProcess {
    let mut command = server_process::command(env!("CARGO_BIN_EXE_tails-server"), storage, "info");
    command.args(["--indy-vdr-proxy-url", ledger_url]);
    server_process::start(command).await
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
            let response = put_form(&client, url, body).await;
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
