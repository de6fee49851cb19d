//! The exact requests ACA-Py sends (aiohttp `FormData`): `genesis` as a text field, `tails` as a
//! file field with a file name, `Content-Length` known or chunked; the AnonCreds path sends
//! only `tails` to `/hash/{tails_hash}`.

use crate::helpers::*;

/// aiohttp 3.x's multipart writer: uuid4-hex boundary, part headers in this order, a
/// `filename` from the local file's basename.
fn aiohttp_form(genesis: &str, tails_name: &str, tails: &[u8], with_lengths: bool) -> Vec<u8> {
    let mut genesis_headers = vec![
        "Content-Type: text/plain; charset=utf-8".to_owned(),
        "Content-Disposition: form-data; name=\"genesis\"".to_owned(),
    ];
    let mut tails_headers = vec![
        "Content-Type: application/octet-stream".to_owned(),
        format!("Content-Disposition: form-data; name=\"tails\"; filename=\"{tails_name}\""),
    ];
    if with_lengths {
        // Older aiohttp releases also sent each part's length.
        genesis_headers.push(format!("Content-Length: {}", genesis.len()));
        tails_headers.push(format!("Content-Length: {}", tails.len()));
    }
    multipart_body(&[
        Part {
            headers: genesis_headers,
            body: genesis.as_bytes().to_vec(),
        },
        Part {
            headers: tails_headers,
            body: tails.to_vec(),
        },
    ])
}

#[actix_web::test]
async fn indy_upload_as_acapy_sends_it() {
    let app = spawn_app().await;
    for (n, with_lengths) in [(0, false), (1, true)] {
        let tails = tails_file(1000);
        let id = app.register(&format!("acapy {n}"), 1000, &tails);
        let body = aiohttp_form(&app.genesis, &tails_hash(&tails), &tails, with_lengths);
        let response = put_form(&app.client, app.id_url(&id), body).await;
        assert_eq!(answer(response).await, (200, tails_hash(&tails)));

        // A retry after a lost answer: ACA-Py counts the 409 as success, and must be able to
        // write its whole body first.
        let body = aiohttp_form(&app.genesis, &tails_hash(&tails), &tails, with_lengths);
        let response = put_form(&app.client, app.id_url(&id), body).await;
        assert_eq!(answer(response).await.0, 409);
    }
}

#[actix_web::test]
async fn chunked_upload_as_acapy_sends_it() {
    let app = spawn_app().await;
    let tails = tails_file(1000);
    let id = app.register("chunked", 1000, &tails);
    let body = aiohttp_form(&app.genesis, "tails-file", &tails, false);
    let (feed, task) = start_streamed_upload(&app.client, &app.id_url(&id));
    for chunk in body.chunks(8192) {
        feed.send(chunk).await;
    }
    drop(feed);
    assert_eq!(task.await.unwrap().unwrap(), (200, tails_hash(&tails)));
}

#[actix_web::test]
async fn anoncreds_upload_sends_only_tails_to_hash_route() {
    let app = spawn_app().await;
    let tails = tails_file(1000);
    let hash = tails_hash(&tails);
    let response = put_multipart(
        &app.client,
        &format!("{}/hash/{hash}", app.url),
        &[named_part("tails", &tails)],
    )
    .await;
    assert_eq!(answer(response).await, (200, hash.clone()));
    let response = app
        .client
        .get(format!("{}/hash/{hash}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
}
