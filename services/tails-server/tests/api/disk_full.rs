//! A full disk (a small tmpfs): uploads answer 507 and leave nothing behind, downloads go on,
//! the replica stays ready but reports its storage degraded with the free space, and uploads
//! work again once space returns.

use serde_json::Value;
use service_kit::testing::small_disk::SmallDisk;

use crate::helpers::*;

#[actix_web::test]
async fn small_disk_full_is_507_then_recovers() {
    let disk = SmallDisk::mount(16).unwrap();
    let storage = disk.path().join("tails");
    let mut app = spawn_app_with(|s| s.storage_path = storage.clone()).await;
    app.storage = storage;
    let kept = tails_file(5);
    let kept_id = app.register("kept", 5, &kept);
    assert_eq!(answer(app.upload(&kept_id, &kept).await).await.0, 200);

    disk.fill().unwrap();
    let tails = tails_file(100);
    let id = app.register("full", 100, &tails);
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(
        body,
        "Insufficient storage: the tails file could not be stored."
    );
    assert_eq!(app.temp_files(), 0, "nothing partial is kept");
    assert_eq!(app.stored_files().len(), 1);

    let download = app.client.get(app.id_url(&kept_id)).send().await.unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap(), kept);
    let (status, report) = service_kit::testing::readiness(&app.url).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["status"], "degraded");
    assert!(
        report["checks"]["storage"]
            .as_str()
            .unwrap()
            .starts_with("storage full: "),
        "{report}"
    );
    service_kit::testing::assert_ready_reporting_space(&app.url, "storage_space").await;
    let metrics = service_kit::testing::metrics(&app.url).await;
    assert!(
        metrics.contains("tails_server_free_bytes{path="),
        "{metrics}"
    );

    disk.free().unwrap();
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    let (status, report): (u16, Value) = service_kit::testing::readiness(&app.url).await;
    // Writable again; still below the low-space mark on a 16 MiB disk.
    assert_eq!(
        (status, report["checks"]["storage"].as_str()),
        (200, Some("ok")),
        "{report}"
    );
}
