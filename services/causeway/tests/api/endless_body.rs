//! A client streaming a body without end is answered and cut off (it used to be read forever).

use crate::helpers::spawn_sqlite;

#[actix_web::test]
async fn an_endless_put_is_answered_and_cut_off() {
    let app = spawn_sqlite().await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let status = tokio::task::spawn_blocking(move || {
        service_kit::testing::assert_endless_body_is_cut(&addr, "POST /put HTTP/1.1\r\nHost: x\r\n")
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
}
