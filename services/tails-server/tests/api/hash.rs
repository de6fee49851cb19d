//! `PUT /hash/{tails_hash}`: the upstream cases (one `multipart/mixed` part without
//! `Content-Disposition`) and its error answers.

use reqwest::header::CONTENT_TYPE;

use crate::helpers::*;

/// aiohttp's `MultipartWriter("mixed").append(bytes)`, as the upstream tests send it: one part
/// with a `Content-Type` (older aiohttp also a `Content-Length`) and no `Content-Disposition`.
async fn put_mixed(app: &TestApp, hash: &str, file: &[u8]) -> (u16, String) {
    let body = multipart_body(&[Part {
        headers: vec![
            "Content-Type: application/octet-stream".to_owned(),
            format!("Content-Length: {}", file.len()),
        ],
        body: file.to_vec(),
    }]);
    answer(send_mixed(app, hash, body).await).await
}

/// `PUT /hash/{hash}` of a `multipart/mixed` body.
async fn send_mixed(
    app: &TestApp,
    hash: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    let content_type = format!("multipart/mixed; boundary={BOUNDARY}");
    put_hash(app, hash, &content_type, body).await
}

/// `PUT /hash/{hash}` of `body` as `content_type`.
async fn put_hash(
    app: &TestApp,
    hash: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Response {
    app.client
        .put(format!("{}/hash/{hash}", app.url))
        .header(CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn put_file_by_hash() {
    let app = spawn_app().await;
    let hash = tails_hash(&[0, 2]);
    assert_eq!(hash, "J2NaFJzV3Zcmv7eo8zgoyLH2VmFh9qYyjdqdMUMXFC8E");
    assert_eq!(put_mixed(&app, &hash, &[0, 2]).await, (200, hash.clone()));

    for url in [
        format!("{}/hash/{hash}", app.url),
        format!("{}/{hash}", app.url),
    ] {
        let response = app.client.get(url).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.bytes().await.unwrap().as_ref(), &[0, 2]);
    }
    assert_eq!(
        put_mixed(&app, &hash, &[0, 2]).await,
        (409, "This tails file already exists.".to_owned())
    );
}

#[actix_web::test]
async fn put_file_by_hash_x_version_tag() {
    let app = spawn_app().await;
    let file = [0, 3];
    assert_eq!(
        put_mixed(&app, &tails_hash(&file), &file).await,
        (400, "Tails file must start with \"00 02\".".to_owned())
    );
}

#[actix_web::test]
async fn put_file_by_hash_x_file_size() {
    let app = spawn_app().await;
    let file = [0, 2, 1];
    assert_eq!(
        put_mixed(&app, &tails_hash(&file), &file).await,
        (400, "Tails file is not the correct size.".to_owned())
    );
    assert!(app.stored_files().is_empty());
}

#[actix_web::test]
async fn hash_mismatch_and_bad_hashes_are_400() {
    let app = spawn_app().await;
    let file = tails_file(2);
    let other = tails_hash(&tails_file(2));
    assert_eq!(
        put_mixed(&app, &other, &file).await,
        (400, "tailsHash does not match hash of file.".to_owned())
    );
    let (status, body) = put_mixed(&app, "not-a-hash", &file).await;
    assert_eq!(
        (status, body.as_str()),
        (400, "Tails hash is not valid: not-a-hash.")
    );
    assert!(app.stored_files().is_empty());
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn empty_multipart_is_400_not_500() {
    let app = spawn_app().await;
    let response = send_mixed(&app, &tails_hash(&[0, 2]), format!("--{BOUNDARY}--\r\n")).await;
    assert_eq!(answer(response).await.0, 400);

    let response = put_hash(&app, &tails_hash(&[0, 2]), "multipart/mixed", "").await;
    assert_eq!(answer(response).await.0, 400);

    let response = put_hash(
        &app,
        &tails_hash(&[0, 2]),
        "application/octet-stream",
        vec![0u8, 2],
    )
    .await;
    assert_eq!(
        answer(response).await,
        (400, "Expected mutlipart content type".to_owned())
    );
}

/// A `multipart/mixed` part with no headers at all (RFC 2046 allows it; the part is then
/// `text/plain` by default) is still the file.
#[actix_web::test]
async fn put_file_by_hash_part_without_headers() {
    let app = spawn_app().await;
    let file = tails_file(3);
    let hash = tails_hash(&file);
    let body = multipart_body(&[Part {
        headers: Vec::new(),
        body: file.clone(),
    }]);
    let response = send_mixed(&app, &hash, body).await;
    assert_eq!(answer(response).await, (200, hash.clone()));
    let download = app
        .client
        .get(format!("{}/hash/{hash}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.bytes().await.unwrap().as_ref(), file.as_slice());
}
