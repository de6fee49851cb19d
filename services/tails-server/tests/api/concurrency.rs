//! Races: a slow upload against a fast one and a download, interrupted uploads, and two
//! servers on one storage directory.

use crate::helpers::*;

/// Upstream tests 10 and 11, made to really overlap: the slow upload is held mid-file (by
/// the test, not by sleeps) while a download and a complete upload of the same id run.
#[actix_web::test]
async fn slow_upload_races_a_fast_upload_and_a_download() {
    let app = spawn_app().await;
    let tails = tails_file(4096);
    let id = app.register("7", 4096, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);
    let (first_half, second_half) = body.split_at(body.len() / 2);

    let (slow, slow_task) = start_streamed_upload(&app.client, &app.id_url(&id));
    for chunk in first_half.chunks(64 * 1024) {
        slow.send(chunk).await;
    }
    eventually("the slow upload to be writing", || app.temp_files() == 1).await;

    // Nothing partial is visible while it is in flight.
    let during = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(during.status(), 404);
    assert!(app.stored_files().is_empty());

    // The first upload to finish wins.
    assert_eq!(
        answer(app.upload(&id, &tails).await).await,
        (200, tails_hash(&tails))
    );
    let download = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(
        tails_hash(&download.bytes().await.unwrap()),
        tails_hash(&tails)
    );

    for chunk in second_half.chunks(64 * 1024) {
        slow.send(chunk).await;
    }
    drop(slow);
    let (status, text) = slow_task.await.unwrap().unwrap();
    assert_eq!(
        (status, text.as_str()),
        (409, "This tails file already exists.")
    );
    assert_eq!(app.stored_files(), [id]);
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn broken_off_upload_leaves_nothing_and_does_not_block_a_retry() {
    let app = spawn_app().await;
    let tails = tails_file(4096);
    let id = app.register("killed", 4096, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);

    let (feed, task) = start_streamed_upload(&app.client, &app.id_url(&id));
    feed.send(&body[..body.len() / 2]).await;
    eventually("the upload to be writing", || app.temp_files() == 1).await;
    feed.break_off().await;
    assert!(task.await.unwrap().is_err());

    eventually("the temp file to be removed", || app.temp_files() == 0).await;
    assert!(app.stored_files().is_empty());
    assert_eq!(
        app.client
            .get(app.id_url(&id))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        answer(app.upload(&id, &tails).await).await,
        (200, tails_hash(&tails))
    );
}

#[actix_web::test]
async fn two_servers_on_one_directory_store_an_id_once() {
    let app = spawn_app().await;
    let (second_url, _second) = start_server(&app.storage, &app.sim.url(), |_| {}).await;
    let tails = tails_file(2048);
    let id = app.register("twice", 2048, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);

    let uploads = (0..8).map(|n| {
        let base = if n % 2 == 0 { &app.url } else { &second_url };
        let url = format!("{base}/{}", quote(&id));
        let client = app.client.clone();
        let body = body.clone();
        tokio::spawn(async move { put_form(&client, url, body).await.status().as_u16() })
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409, 409, 409, 409, 409, 409]);

    for base in [&app.url, &second_url] {
        let response = app
            .client
            .get(format!("{base}/{}", quote(&id)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
    }
    assert_eq!(app.stored_files(), [id]);
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn concurrent_downloads_during_uploads_see_404_or_the_whole_file() {
    let app = spawn_app().await;
    let tails = tails_file(2048);
    let id = app.register("readers", 2048, &tails);
    let expected = tails_hash(&tails);
    let uploads: Vec<_> = (0..3)
        .map(|_| {
            let app_url = app.id_url(&id);
            let client = app.client.clone();
            let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);
            tokio::spawn(async move { put_form(&client, app_url, body).await.status().as_u16() })
        })
        .collect();
    let mut seen_file = false;
    while !seen_file {
        let response = app.client.get(app.id_url(&id)).send().await.unwrap();
        match response.status().as_u16() {
            404 => {}
            200 => {
                assert_eq!(tails_hash(&response.bytes().await.unwrap()), expected);
                seen_file = true;
            }
            other => panic!("download answered {other}"),
        }
    }
    let mut statuses: Vec<u16> = futures_util::future::join_all(uploads)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    statuses.sort();
    assert_eq!(statuses, [200, 409, 409]);
}
