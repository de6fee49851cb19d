//! `PUT /{revoc_reg_id}`: the upstream integration cases and the checks added here.

use reqwest::header::CONTENT_TYPE;

use crate::helpers::*;

#[actix_web::test]
async fn happy_path_then_match_lists_the_id() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("1", 5, &tails);

    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!((status, body.as_str()), (200, tails_hash(&tails).as_str()));

    let response = app
        .client
        .get(format!("{}/match/{}", app.url, cred_def_id()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let names: Vec<String> = response.json().await.unwrap();
    assert_eq!(names, std::slice::from_ref(&id));

    let none: Vec<String> = app.matching("nothing-like-this").await;
    assert!(none.is_empty());

    let stored = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(stored.status(), 200);
    assert_eq!(stored.bytes().await.unwrap().as_ref(), tails.as_slice());
}

#[actix_web::test]
async fn bad_revoc_reg_id_is_400() {
    let app = spawn_app().await;
    let (status, body) = answer(app.upload("bad-id", &tails_file(5)).await).await;
    assert_eq!(status, 400);
    assert_eq!(body, "Revocation registry ID is not valid: bad-id.");
}

#[actix_web::test]
async fn second_upload_is_409() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("3", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(
        (status, body.as_str()),
        (409, "This tails file already exists.")
    );
}

#[actix_web::test]
async fn duplicates_are_409_before_ledger_and_body_checks() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("dup", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);

    // The original answered these 400 and 5xx; ACA-Py treats only 409 as "already done".
    assert_eq!(answer(app.upload(&id, b"bad bytes").await).await.0, 409);
    app.sim.set_failure(Some(504));
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 409);
}

#[actix_web::test]
async fn bad_tails_file_is_400() {
    let app = spawn_app().await;
    let id = app.register("4", 5, &tails_file(5));
    let (status, body) = answer(app.upload(&id, b"bad bytes").await).await;
    assert_eq!(
        (status, body.as_str()),
        (400, "tailsHash does not match hash of file.")
    );
    assert!(app.stored_files().is_empty());
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn bad_content_type_is_400() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("5", 5, &tails);
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&tails)]);
    for content_type in [Some("bad"), None] {
        let mut request = app.client.put(app.id_url(&id)).body(body.clone());
        if let Some(value) = content_type {
            request = request.header(CONTENT_TYPE, value);
        }
        let (status, text) = answer(request.send().await.unwrap()).await;
        assert_eq!(
            (status, text.as_str()),
            (400, "Expected mutlipart content type")
        );
    }
    assert!(app.stored_files().is_empty());
}

#[actix_web::test]
async fn bad_field_order_is_400() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("6", 5, &tails);
    let response = put_multipart(
        &app.client,
        &app.id_url(&id),
        &[tails_part(&tails), genesis_part(&app.genesis)],
    )
    .await;
    let (status, body) = answer(response).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "First field in multipart request must have name 'genesis'"
        )
    );

    let response = put_multipart(
        &app.client,
        &app.id_url(&id),
        &[genesis_part(&app.genesis), named_part("file", &tails)],
    )
    .await;
    let (status, body) = answer(response).await;
    assert_eq!(
        (status, body.as_str()),
        (
            400,
            "Second field in multipart request must have name 'tails'"
        )
    );

    let response =
        put_multipart(&app.client, &app.id_url(&id), &[genesis_part(&app.genesis)]).await;
    assert_eq!(answer(response).await.0, 400);
    assert!(app.stored_files().is_empty());
}

#[actix_web::test]
async fn bad_genesis_is_400() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("g", 5, &tails);
    for genesis in ["http://localhost:9000/genesis", "", "{\"not\": \"a txn\"}"] {
        let response = put_multipart(
            &app.client,
            &app.id_url(&id),
            &[genesis_part(genesis), tails_part(&tails)],
        )
        .await;
        let (status, body) = answer(response).await;
        assert_eq!(
            (status, body.as_str()),
            (400, "Genesis transactions are not valid.")
        );
    }
}

#[actix_web::test]
async fn unknown_registry_is_404() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let (status, body) = answer(app.upload(&rev_reg_id("absent"), &tails).await).await;
    assert_eq!((status, body.as_str()), (404, "404: Not Found"));
}

#[actix_web::test]
async fn format_is_checked_against_the_ledger() {
    let app = spawn_app().await;

    // Right hash, but a file of maxCredNum 4 for a registry of 5.
    let small = tails_file(4);
    let id = app.register("size", 5, &small);
    let (status, body) = answer(app.upload(&id, &small).await).await;
    assert_eq!(status, 400);
    assert!(
        body.starts_with("Tails file is not the correct size"),
        "{body}"
    );

    let mut wrong_tag = tails_file(5);
    wrong_tag[1] = 3;
    let id = app.register("version", 5, &wrong_tag);
    let (status, body) = answer(app.upload(&id, &wrong_tag).await).await;
    assert_eq!(
        (status, body.as_str()),
        (400, "Tails file must start with \"00 02\".")
    );

    assert!(app.stored_files().is_empty());
    assert_eq!(app.temp_files(), 0);
}

#[actix_web::test]
async fn tags_with_spaces_arrive_percent_encoded() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("my tag", 5, &tails);
    assert!(app.id_url(&id).contains("my%20tag"));
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    let stored = app.client.get(app.id_url(&id)).send().await.unwrap();
    assert_eq!(stored.bytes().await.unwrap().as_ref(), tails.as_slice());
    assert_eq!(app.stored_files(), [id]);
}

/// A re-upload is answered 409 while its body is still arriving, on both upload routes; the
/// rest of an upload of allowed size is then read so the client, still sending, sees it.
#[actix_web::test]
async fn a_duplicate_is_answered_before_its_body_has_arrived() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("early", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    let by_hash = format!("/hash/{}", tails_hash(&tails));
    let stored = put_multipart(
        &app.client,
        &format!("{}{by_hash}", app.url),
        &[tails_part(&tails)],
    )
    .await;
    assert_eq!(answer(stored).await.0, 200);
    let by_id = format!(
        "/{}",
        app.id_url(&id)
            .trim_start_matches(&app.url)
            .trim_start_matches('/')
    );
    for path in [by_hash, by_id] {
        let address = app.url.trim_start_matches("http://").to_owned();
        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        let head = format!(
            "PUT {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\nContent-Length: 8000000\r\n\r\n",
            form_data_type()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(&[b'x'; 65536]).await.unwrap();
        let mut buf = [0u8; 512];
        let n = tokio::time::timeout(std::time::Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("no answer while the body was arriving")
            .unwrap();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 409"), "{path}: {answer}");
        // The client may go on sending what it announced.
        socket
            .write_all(&vec![b'x'; 8_000_000 - 65536])
            .await
            .unwrap();
    }
}
