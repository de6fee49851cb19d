//! Ids are parsed before they touch the file system: `..`, `/`, `%2F`, NUL and over-long ids
//! are 400, and nothing outside the storage directory is ever served or written.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

fn attacks() -> Vec<String> {
    vec![
        "..%2F..%2Fetc%2Fpasswd".to_owned(),
        "..%2Fsecret".to_owned(),
        "%2E%2E%2Fsecret".to_owned(),
        "..".to_owned(),
        "%2E%2E".to_owned(),
        ".tmp".to_owned(),
        ".hashes".to_owned(),
        "a%2Fb".to_owned(),
        "a%5Cb".to_owned(),
        "x%00y".to_owned(),
        "sub/dir".to_owned(),
        format!("{}%2F..%2F..%2Fsecret", quote(&rev_reg_id("t"))),
        quote(&rev_reg_id(&"x".repeat(300))),
    ]
}

#[actix_web::test]
async fn traversal_ids_are_400_on_every_route() {
    let app = spawn_app().await;
    std::fs::write(
        app.storage.parent().unwrap().join("secret"),
        b"do not serve",
    )
    .unwrap();
    let body = multipart_body(&[genesis_part(&app.genesis), tails_part(&[0, 2])]);
    for attack in attacks() {
        for url in [
            format!("{}/{attack}", app.url),
            format!("{}/hash/{attack}", app.url),
        ] {
            let (status, text) = answer(app.client.get(&url).send().await.unwrap()).await;
            assert_eq!(status, 400, "GET {url}: {text}");
            assert!(!text.contains("do not serve"));
            let response = put_form(&app.client, &url, body.clone()).await;
            assert_eq!(response.status(), 400, "PUT {url}");
        }
    }
    assert!(app.stored_files().is_empty());
    let parent = app.storage.parent().unwrap();
    let mut outside: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    outside.sort();
    assert_eq!(outside, ["secret", "tails"]);
}

/// reqwest normalises `..` away, so send the raw request line.
#[actix_web::test]
async fn literal_dot_dot_segments_never_escape() {
    let app = spawn_app().await;
    std::fs::write(
        app.storage.parent().unwrap().join("secret"),
        b"do not serve",
    )
    .unwrap();
    let addr = app.url.trim_start_matches("http://").to_owned();
    for target in [
        "/../secret",
        "/hash/../../secret",
        "/./../secret",
        "/%2e%2e/secret",
    ] {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reply = String::new();
        stream.read_to_string(&mut reply).await.unwrap();
        assert!(reply.starts_with("HTTP/1.1 400"), "{target}: {reply}");
        assert!(!reply.contains("do not serve"), "{target}");
    }
}

#[actix_web::test]
async fn match_lists_names_never_paths() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("m", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    let names: Vec<String> = app.matching(DID).await;
    assert_eq!(names, [id]);
    assert!(names.iter().all(|n| !n.contains('/')));
    // The server's own files never show.
    for own in ["tmp", "lock", "hashes", "upload", "part"] {
        let listed: Vec<String> = app.matching(own).await;
        assert!(listed.is_empty(), "{own}: {listed:?}");
    }
}
