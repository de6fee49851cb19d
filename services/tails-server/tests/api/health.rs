//! Health, readiness (storage writable, ledger reachable) and metrics.

use serde_json::Value;

use crate::helpers::*;

#[tokio::test]
async fn ready_checks_storage_and_ledger() {
    let app = spawn_app().await;
    let live = app
        .client
        .get(format!("{}/health/live", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    let ready = app
        .client
        .get(format!("{}/health/ready", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let report: Value = ready.json().await.unwrap();
    assert_eq!(report["checks"]["storage"], "ok");
    assert_eq!(report["checks"]["ledger"], "ok");
    assert_eq!(app.temp_files(), 0);

    app.sim.stop().await;
    let unready = app
        .client
        .get(format!("{}/health/ready", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(unready.status(), 503);
    let report: Value = unready.json().await.unwrap();
    assert_eq!(report["checks"]["storage"], "ok");
    assert_ne!(report["checks"]["ledger"], "ok");
}

#[tokio::test]
async fn metrics_count_uploads() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("metrics", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 409);
    let text = app
        .client
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("tails_uploads_stored_total 1"), "{text}");
    assert!(text.contains("tails_uploads_duplicate_total 1"), "{text}");
    assert!(!text.contains(&id), "ids must not become labels");
}
