//! Health, readiness (storage writable; the ledger's state reported, never unready) and
//! metrics.

use serde_json::Value;

use crate::helpers::*;

#[actix_web::test]
async fn ready_checks_storage_and_reports_the_ledger_as_degraded() {
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

    // The ledger going away degrades every replica but takes none out of service:
    // downloads need no ledger.
    let tails = tails_file(5);
    let id = app.register("health", 5, &tails);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
    app.sim.stop().await;
    // A pooled connection to the stopping simulator may still answer one last probe.
    let mut report = Value::Null;
    for _ in 0..50 {
        let (status, seen) = service_kit::testing::readiness(&app.url).await;
        assert_eq!(status, 200, "{seen}");
        report = seen;
        if report["status"] == "degraded" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(report["status"], "degraded", "{report}");
    assert_eq!(report["checks"]["storage"], "ok");
    assert!(
        report["checks"]["ledger"]
            .as_str()
            .unwrap()
            .starts_with("unreachable: "),
        "{report}"
    );
    let download = app
        .client
        .get(format!("{}/{id}", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(download.status(), 200);
    assert_eq!(download.bytes().await.unwrap(), tails);
    let metrics = service_kit::testing::metrics(&app.url).await;
    assert!(
        metrics.contains("tails_server_dependency_up{dependency=\"ledger\"} 0"),
        "{metrics}"
    );
}

#[actix_web::test]
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
