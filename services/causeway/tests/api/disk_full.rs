//! The database's disk full (SQLite on a small tmpfs): a signed put answers 507 in causeway's
//! format and keeps nothing, stored values stay readable, the replica stays ready with its
//! database space reported, and puts work again once space returns.

use service_kit::testing::small_disk::SmallDisk;

use crate::helpers::{User, assert_error, random_key, spawn_with};

#[actix_web::test]
async fn small_disk_full_is_507_then_recovers() {
    let disk = SmallDisk::mount(8).unwrap();
    let app = spawn_with(
        format!("sqlite://{}/causeway.sqlite", disk.path().display()),
        |s| s.bucket_bytes = 1_000_000_000,
    )
    .await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let kept = random_key();
    let value = "v".repeat(8192);
    let body = user.put_body_by_master(&kept, &value, &nonce);
    assert_eq!(app.post_json("/put", &body).await.0, 201);

    disk.fill().unwrap();
    let mut refused = None;
    for _ in 0..5000 {
        let key = random_key();
        let answer = app
            .post_json("/put", &user.put_body_by_master(&key, &value, &nonce))
            .await;
        match answer.0 {
            201 => continue,
            507 => {
                assert_error(
                    &answer,
                    507,
                    "insufficient storage: the database disk is full",
                );
                refused = Some(key);
                break;
            }
            other => panic!("{other}: {}", answer.1),
        }
    }
    let refused = refused.expect("the full disk never refused a put");
    assert_eq!(
        app.get_key(&refused).await.0,
        404,
        "a refused put keeps nothing"
    );
    let (status, body) = app.get_key(&kept).await;
    assert_eq!(
        (status, body["value"].as_str()),
        (200, Some(value.as_str()))
    );
    service_kit::testing::assert_ready_reporting_space(&app.base, "database_space").await;

    disk.free().unwrap();
    let key = random_key();
    let body = user.put_body_by_master(&key, &value, &nonce);
    assert_eq!(app.post_json("/put", &body).await.0, 201);
}
