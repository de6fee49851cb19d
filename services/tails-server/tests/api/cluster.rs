//! The single-machine stand-in for a cluster: three server processes on one storage directory
//! (as replicas on one NFS volume), uploads of the same ids racing through all three while
//! downloads run through all three. Nothing may be lost, stored twice or served partially.

use futures_util::future::join_all;

use crate::helpers::*;
use crate::processes::spawn_process;

const IDS: usize = 6;
const UPLOADS_PER_REPLICA: usize = 2;

#[actix_web::test]
async fn three_replicas_on_one_directory() {
    let app = spawn_app().await;
    let ledger = app.sim.url();
    let replicas = join_all((0..3).map(|_| spawn_process(&app.storage, &ledger))).await;
    let bases: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();

    // Large enough (1 MiB) that uploads and downloads really overlap.
    let files: Vec<(String, Vec<u8>)> = (0..IDS)
        .map(|n| {
            let tails = tails_file(4096 + n as u64);
            (
                app.register(&format!("cluster{n}"), 4096 + n as u64, &tails),
                tails,
            )
        })
        .collect();

    let mut uploads = Vec::new();
    for (id, tails) in &files {
        let body = multipart_body(&[genesis_part(&app.genesis), tails_part(tails)]);
        for base in &bases {
            for _ in 0..UPLOADS_PER_REPLICA {
                let (client, body) = (app.client.clone(), body.clone());
                let (url, id) = (format!("{base}/{}", quote(id)), id.clone());
                uploads.push(tokio::spawn(async move {
                    let response = put_form(&client, url, body).await;
                    (id, answer(response).await)
                }));
            }
        }
    }
    let mut downloads = Vec::new();
    for round in 0..4 {
        for (n, (id, tails)) in files.iter().enumerate() {
            let base = bases[(n + round) % bases.len()].clone();
            let (client, id, tails) = (app.client.clone(), id.clone(), tails.clone());
            downloads.push(tokio::spawn(async move {
                let response = client
                    .get(format!("{base}/{}", quote(&id)))
                    .send()
                    .await
                    .unwrap();
                let status = response.status().as_u16();
                let body = response.bytes().await.unwrap();
                match status {
                    404 => {}
                    200 => assert!(body.as_ref() == tails.as_slice(), "partial file for {id}"),
                    other => panic!("download of {id} answered {other}"),
                }
            }));
        }
    }

    let answers: Vec<(String, (u16, String))> = join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    for result in join_all(downloads).await {
        result.unwrap();
    }
    for (id, tails) in &files {
        let mine: Vec<&(u16, String)> = answers
            .iter()
            .filter(|(of, _)| of == id)
            .map(|(_, a)| a)
            .collect();
        let won: Vec<_> = mine.iter().filter(|(status, _)| *status == 200).collect();
        let lost = mine.iter().filter(|(status, _)| *status == 409).count();
        assert_eq!(won.len(), 1, "{id}: {mine:?}");
        assert_eq!(won[0].1, tails_hash(tails));
        assert_eq!(
            lost,
            bases.len() * UPLOADS_PER_REPLICA - 1,
            "{id}: {mine:?}"
        );
        for base in &bases {
            let response = app
                .client
                .get(format!("{base}/{}", quote(id)))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
        }
    }
    let mut expected: Vec<String> = files.iter().map(|(id, _)| id.clone()).collect();
    expected.sort();
    let mut stored = app.stored_files();
    stored.sort();
    assert_eq!(stored, expected);
    assert_eq!(app.temp_files(), 0);
}
