//! Downloads: Content-Length, ETag = tails hash, Cache-Control, HEAD, Range, 304, no gzip.

use reqwest::header::{
    ACCEPT_ENCODING, CACHE_CONTROL, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_RANGE, ETAG,
    IF_NONE_MATCH,
};

use crate::helpers::*;

async fn stored(app: &TestApp) -> (String, Vec<u8>) {
    let tails = tails_file(50);
    let id = app.register("dl", 50, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    (id, tails)
}

#[actix_web::test]
async fn full_download_has_length_etag_and_cache_headers() {
    let app = spawn_app().await;
    let (id, tails) = stored(&app).await;
    let response = app
        .client
        .get(app.id_url(&id))
        .header(ACCEPT_ENCODING, "gzip, deflate")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[CONTENT_LENGTH], tails.len().to_string().as_str());
    assert_eq!(
        headers[ETAG],
        format!("\"{}\"", tails_hash(&tails)).as_str()
    );
    assert!(
        headers[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains("immutable")
    );
    assert_eq!(headers["content-type"], "application/octet-stream");
    assert!(
        headers
            .get(CONTENT_ENCODING)
            .is_none_or(|v| v == "identity")
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
}

#[actix_web::test]
async fn head_has_headers_and_no_body() {
    let app = spawn_app().await;
    let (id, tails) = stored(&app).await;
    let response = app.client.head(app.id_url(&id)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[CONTENT_LENGTH],
        tails.len().to_string().as_str()
    );
    assert!(response.headers().contains_key(ETAG));
    assert!(response.bytes().await.unwrap().is_empty());

    let absent = app
        .client
        .head(app.id_url(&rev_reg_id("absent")))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), 404);
}

#[actix_web::test]
async fn range_gives_206_with_the_slice() {
    let app = spawn_app().await;
    let (id, tails) = stored(&app).await;
    // Tail i lives at 2 + 128·i; a holder reads single tails like this.
    let start = 2 + 128 * 7;
    let end = start + 127;
    let response = app.get_range(&id, &format!("{start}-{end}")).await;
    assert_eq!(response.status(), 206);
    assert_eq!(
        response.headers()[CONTENT_RANGE],
        format!("bytes {start}-{end}/{}", tails.len()).as_str()
    );
    assert!(response.headers().contains_key(ETAG));
    assert_eq!(
        response.bytes().await.unwrap().as_ref(),
        &tails[start..=end]
    );

    let unsatisfiable = app.get_range(&id, &format!("{}-", tails.len() + 10)).await;
    assert_eq!(unsatisfiable.status(), 416);
}

#[actix_web::test]
async fn matching_etag_gives_304() {
    let app = spawn_app().await;
    let (id, tails) = stored(&app).await;
    let etag = format!("\"{}\"", tails_hash(&tails));
    let response = app
        .client
        .get(app.id_url(&id))
        .header(IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304);
    assert_eq!(response.headers()[ETAG], etag.as_str());

    let other = app
        .client
        .get(app.id_url(&id))
        .header(IF_NONE_MATCH, "\"something-else\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200);
}

#[actix_web::test]
async fn absent_files_are_404() {
    let app = spawn_app().await;
    for url in [
        app.id_url(&rev_reg_id("nothing")),
        format!("{}/hash/{}", app.url, tails_hash(b"nothing")),
    ] {
        let (status, body) = answer(app.client.get(url).send().await.unwrap()).await;
        assert_eq!((status, body.as_str()), (404, "404: Not Found"));
    }
}

#[actix_web::test]
async fn files_left_by_the_original_server_are_served_with_their_hash() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = rev_reg_id("legacy");
    std::fs::write(app.storage.join(&id), &tails).unwrap();
    let response = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[ETAG],
        format!("\"{}\"", tails_hash(&tails)).as_str()
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), tails.as_slice());
}

/// Files larger than one read chunk (256 KiB) of the download body: whole, and a range that
/// starts and ends inside different chunks.
#[actix_web::test]
async fn large_files_and_ranges_across_read_chunks() {
    let app = spawn_app().await;
    let tails = tails_file(2_100); // 537,730 bytes: three chunks
    let id = app.register("big", 2_100, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);

    let whole = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.headers()[CONTENT_LENGTH],
        tails.len().to_string().as_str()
    );
    assert_eq!(whole.bytes().await.unwrap().as_ref(), tails.as_slice());

    let (start, end) = (262_100, 524_400);
    let part = app.get_range(&id, &format!("{start}-{end}")).await;
    assert_eq!(part.status(), 206);
    assert_eq!(
        part.headers()[CONTENT_RANGE],
        format!("bytes {start}-{end}/{}", tails.len()).as_str()
    );
    assert_eq!(part.bytes().await.unwrap().as_ref(), &tails[start..=end]);

    let suffix = app.get_range(&id, "-300000").await;
    assert_eq!(suffix.status(), 206);
    assert_eq!(
        suffix.bytes().await.unwrap().as_ref(),
        &tails[tails.len() - 300_000..]
    );

    let head = app.client.head(app.id_url(&id)).send().await.unwrap();
    assert_eq!(
        head.headers()[CONTENT_LENGTH],
        tails.len().to_string().as_str()
    );
    assert!(head.bytes().await.unwrap().is_empty());
}
