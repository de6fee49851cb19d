//! `/get`'s read cache (SQLite; the same checks run uncached on PostgreSQL and MySQL): the
//! read after an acknowledged write sees it, whatever readers cached meanwhile, and a write
//! by another process is seen within the foreign-write check.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;

use crate::helpers::*;

async fn reads_see_every_acknowledged_write(url: String) {
    let app = spawn_app(url).await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(app.put(&user, &key, "v0", &nonce).await.0, 201);
    let stop = AtomicBool::new(false);
    // Readers keep the key cached, and race to fill it again after every write.
    let readers = join_all((0..4).map(|_| async {
        while !stop.load(Ordering::Relaxed) {
            let (status, body) = app.get_key(&key).await;
            assert_eq!(status, 200, "{body}");
        }
    }));
    let writer = async {
        for i in 1..=30 {
            let value = format!("v{i}");
            assert_eq!(app.put(&user, &key, &value, &nonce).await.0, 201);
            let (status, body) = app.get_key(&key).await;
            assert_eq!((status, &body["value"]), (200, &serde_json::json!(value)));
        }
        stop.store(true, Ordering::Relaxed);
    };
    futures_util::join!(readers, writer);
    let deleted = app
        .post_json("/delete", &user.delete_body(&key, &nonce))
        .await;
    assert_eq!(deleted.0, 200, "{}", deleted.1);
    assert_error(&app.get_key(&key).await, 404, "Key not found.");
}

service_kit::backend_tests!(coherent_reads, reads_see_every_acknowledged_write);

/// A new owner's document holding `value`; its key.
async fn stored(app: &TestApp, value: &str) -> String {
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(app.put(&user, &key, value, &nonce).await.0, 201);
    key
}

/// What another process would do to the SQLite file: the test's own connection writes.
async fn write_behind_the_server(app: &TestApp, key: &str) {
    app.execute(format!(
        "UPDATE documents SET value = 'theirs' WHERE doc_key = '{key}'"
    ))
    .await;
}

#[actix_web::test]
async fn a_write_by_another_process_is_seen_soon() {
    // No transfer flush meanwhile: it would make the next read a miss.
    let app = spawn_sqlite_with(|s| s.transfer_flush_ms = 60_000).await;
    let key = stored(&app, "ours").await;
    for _ in 0..5 {
        assert_eq!(app.get_key(&key).await.1["value"], "ours");
    }
    assert!(counter(&app, "causeway_read_cache_hits_total").await >= 1);

    write_behind_the_server(&app, &key).await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.get_key(&key).await.1["value"] != "theirs" {
        assert!(
            Instant::now() < deadline,
            "the foreign write was never seen"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[actix_web::test]
async fn the_cache_can_be_turned_off() {
    let app = spawn_sqlite_with(|s| s.read_cache_bytes = 0).await;
    let key = stored(&app, "ours").await;
    assert_eq!(app.get_key(&key).await.1["value"], "ours");
    write_behind_the_server(&app, &key).await;
    assert_eq!(app.get_key(&key).await.1["value"], "theirs");
    let metrics = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert!(!metrics.text().await.unwrap().contains("read_cache"));
}
