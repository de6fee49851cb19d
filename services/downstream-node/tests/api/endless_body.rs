//! A client streaming a body without end is answered and cut off (it used to be read forever).

use crate::helpers::spawn_app;

#[actix_web::test]
async fn an_endless_answer_body_is_answered_and_cut_off() {
    let db = service_kit::testing::TestDatabase::require(service_kit::db::Backend::Sqlite);
    let app = spawn_app(db.url().to_owned()).await;
    let addr = app.root.trim_start_matches("http://").to_owned();
    let head = format!(
        "POST /api/downstream/v1/answer/{} HTTP/1.1\r\nHost: x\r\n",
        "0".repeat(32)
    );
    let status = tokio::task::spawn_blocking(move || {
        service_kit::testing::assert_endless_body_is_cut(&addr, &head)
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
}
