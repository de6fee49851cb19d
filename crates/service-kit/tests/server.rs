//! Start-up: port 0, health, readiness, metrics, body limit, graceful stop.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::{HttpResponse, web};
use service_kit::metrics::Metrics;
use service_kit::server::{Application, Readiness, ServerOptions};

struct Spawned {
    base: String,
    handle: actix_web::dev::ServerHandle,
    storage_ok: Arc<AtomicBool>,
    ledger_ok: Arc<AtomicBool>,
}

fn flag_check(
    flag: &Arc<AtomicBool>,
    reason: &'static str,
) -> impl Fn() -> std::future::Ready<Result<(), String>> + use<> {
    let flag = flag.clone();
    move || {
        std::future::ready(if flag.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(reason.to_owned())
        })
    }
}

async fn spawn() -> Spawned {
    let storage_ok = Arc::new(AtomicBool::new(true));
    let ledger_ok = Arc::new(AtomicBool::new(true));
    let flag = storage_ok.clone();
    let readiness = Readiness::new()
        .dependency("ledger", flag_check(&ledger_ok, "connection refused"))
        .check("database", || async { Ok(()) })
        .check("storage", move || {
            let ok = flag.load(Ordering::SeqCst);
            async move {
                if ok {
                    Ok(())
                } else {
                    Err("not writable".to_owned())
                }
            }
        });
    let mut options = ServerOptions::new("127.0.0.1", 0);
    options.body_limit = 16;
    options.workers = Some(1);
    let app = Application::build(&options, Metrics::new("demo"), readiness, |cfg| {
        cfg.route(
            "/echo/{name}",
            web::post().to(|body: String| async move { HttpResponse::Ok().body(body) }),
        );
    })
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run());
    Spawned {
        base,
        handle,
        storage_ok,
        ledger_ok,
    }
}

#[actix_web::test]
async fn health_readiness_metrics_and_limits() {
    let app = spawn().await;
    let client = reqwest::Client::new();

    let live = client
        .get(format!("{}/health/live", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);

    let ready = client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["checks"]["storage"], "ok");
    assert_eq!(body["checks"]["ledger"], "ok");

    // An upstream that is down degrades the replica; it keeps serving.
    app.ledger_ok.store(false, Ordering::SeqCst);
    let degraded = client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(degraded.status(), 200);
    let body: serde_json::Value = degraded.json().await.unwrap();
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["checks"]["ledger"], "unreachable: connection refused");
    let gauge = service_kit::testing::metrics(&app.base).await;
    assert!(
        gauge.contains("demo_dependency_up{dependency=\"ledger\"} 0"),
        "{gauge}"
    );

    app.storage_ok.store(false, Ordering::SeqCst);
    let unready = client
        .get(format!("{}/health/ready", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unready.status(), 503);
    let body: serde_json::Value = unready.json().await.unwrap();
    assert_eq!(body["status"], "unready");
    assert_eq!(body["checks"]["storage"], "not writable");
    assert_eq!(body["checks"]["database"], "ok");

    // Every answer carries a request id: the client's own, or a new one.
    let given = client
        .get(format!("{}/health/live", app.base))
        .header("x-request-id", "client-chosen-1")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "client-chosen-1");
    let made = client
        .get(format!("{}/health/live", app.base))
        .header("x-request-id", "not usable: has spaces")
        .send()
        .await
        .unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(made.len(), 32, "{made}");

    let small = client
        .post(format!("{}/echo/a", app.base))
        .body("tiny")
        .send()
        .await
        .unwrap();
    assert_eq!(small.text().await.unwrap(), "tiny");
    let big = client
        .post(format!("{}/echo/b", app.base))
        .body("x".repeat(17))
        .send()
        .await
        .unwrap();
    assert_eq!(big.status(), 413);

    let metrics = client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    assert!(
        metrics
            .headers()
            .get("content-type")
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            "http_requests_total{method=\"POST\",route=\"/echo/{name}\",status=\"200\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "http_requests_total{method=\"POST\",route=\"/echo/{name}\",status=\"413\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("route=\"/health/ready\",status=\"503\"} 1"),
        "{text}"
    );

    app.handle.stop(true).await;
    assert!(
        client
            .get(format!("{}/health/live", app.base))
            .send()
            .await
            .is_err()
    );
}

#[actix_web::test]
async fn a_dependency_that_hangs_degrades_without_unreadying() {
    let readiness = Readiness::new()
        .dependency("ledger", std::future::pending::<Result<(), String>>)
        .check("database", || async { Ok(()) });
    let app = Application::build(
        &ServerOptions::new("127.0.0.1", 0),
        Metrics::new("demo"),
        readiness,
        |_| {},
    )
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run());
    let ready = reqwest::get(format!("{base}/health/ready")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(body["checks"]["ledger"], "timed out", "{body}");
    handle.stop(true).await;
}
