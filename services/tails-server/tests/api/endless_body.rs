//! A client streaming an upload without end is answered and cut off once past the limit (it
//! used to be read for tens of MiB after the answer).

use crate::helpers::*;

#[actix_web::test]
async fn an_endless_upload_is_answered_and_cut_off() {
    let app = spawn_app().await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    let head = format!(
        "PUT /hash/{} HTTP/1.1\r\nHost: x\r\nContent-Type: {}\r\n",
        tails_hash(&[0, 2]),
        form_data_type()
    );
    let status = tokio::task::spawn_blocking(move || {
        service_kit::testing::assert_endless_body_is_cut(&addr, &head)
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 4"), "{status}");
}
