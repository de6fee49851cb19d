//! A client streaming a body without end is answered and cut off (it used to be read for tens
//! of MiB after the answer), with the token and without.

use crate::helpers::{BASE, spawn_app};

#[actix_web::test]
async fn an_endless_body_is_answered_and_cut_off() {
    let app = spawn_app().await;
    let addr = app.root.trim_start_matches("http://").to_owned();
    for (auth, expected) in [
        (app.auth(), "HTTP/1.1 413"),
        ("tahoe-lafs wrong".to_owned(), "HTTP/1.1 401"),
    ] {
        let head = format!("POST {BASE}/passes HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n");
        let addr = addr.clone();
        let status = tokio::task::spawn_blocking(move || {
            service_kit::testing::assert_endless_body_is_cut(&addr, &head)
        })
        .await
        .unwrap();
        assert!(status.starts_with(expected), "{status}");
    }
}
