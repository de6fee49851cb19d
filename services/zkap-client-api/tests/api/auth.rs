use serde_json::Value;

use crate::helpers::{BASE, spawn_app};

const CHALLENGE: &str = "tahoe-lafs realm=\"tahoe-lafs\"";

#[actix_web::test]
async fn every_path_needs_the_token_before_routing() {
    let app = spawn_app().await;
    let paths = [
        format!("{BASE}/version"),
        format!("{BASE}/voucher"),
        format!("{BASE}/no-such-thing"),
        "/no-such-thing".to_owned(),
        "/".to_owned(),
    ];
    let token = app.token.clone();
    for path in &paths {
        for header in [
            None,
            Some("Bearer s3cret-api-token".to_owned()),
            Some("tahoe-lafs wrong".to_owned()),
            Some(format!("tahoe-lafs {token}x")),
            Some("tahoe-lafs".to_owned()),
        ] {
            let mut request = app.client.get(format!("{}{path}", app.root));
            if let Some(header) = &header {
                request = request.header("authorization", header);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), 401, "{path} with {header:?}");
            assert_eq!(response.headers()["www-authenticate"], CHALLENGE);
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "Unauthorized");
        }
    }
    // With the token, unknown paths are 404 and known ones answer.
    for path in [format!("{BASE}/no-such-thing"), "/elsewhere".to_owned()] {
        let response = app
            .client
            .get(format!("{}{path}", app.root))
            .header("authorization", app.auth())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "not found");
    }
    let version: Value = app
        .get("version")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(version["version"].is_string());
    // The scheme is case-insensitive, as Tahoe lowercases it.
    let response = app
        .client
        .get(app.url("version"))
        .header("authorization", format!("Tahoe-LAFS {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn probes_and_metrics_need_no_token() {
    let app = spawn_app().await;
    for path in ["/health/live", "/health/ready", "/metrics"] {
        let response = app
            .client
            .get(format!("{}{path}", app.root))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[actix_web::test]
async fn a_rotated_token_file_takes_effect_without_restart() {
    let app = spawn_app().await;
    assert_eq!(app.get("version").send().await.unwrap().status(), 200);
    std::fs::write(&app.token_file, "a-brand-new-and-longer-token\n").unwrap();
    assert_eq!(app.get("version").send().await.unwrap().status(), 401);
    let response = app
        .client
        .get(app.url("version"))
        .header("authorization", "tahoe-lafs a-brand-new-and-longer-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

/// Tahoe-LAFS rewrites the token file in place: while it is seen truncated or missing,
/// requests with the (unchanged) token keep being served, never 500.
#[actix_web::test]
async fn a_token_file_rewritten_in_place_never_interrupts_service() {
    let app = spawn_app().await;
    let path = app.token_file.clone();
    let token = app.token.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rewriting = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::fs::File::create(&path).unwrap();
                std::thread::sleep(std::time::Duration::from_millis(1));
                let _ = std::fs::remove_file(&path);
                std::thread::sleep(std::time::Duration::from_millis(1));
                std::fs::write(&path, format!("{token}\n")).unwrap();
            }
        })
    };
    for _ in 0..300 {
        let response = app.get("version").send().await.unwrap();
        assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    rewriting.join().unwrap();
}

/// A service whose token file has never held a token is unready and answers 503 (JSON, with
/// `Retry-After`) until the file is written.
#[actix_web::test]
async fn without_any_token_yet_the_service_waits_for_one() {
    let mut app = spawn_app().await;
    std::fs::remove_file(&app.token_file).unwrap();
    app.restart().await;
    let response = app.get("version").send().await.unwrap();
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("no API token"),
        "{body}"
    );
    let (status, report) = service_kit::testing::readiness(&app.root).await;
    assert_eq!(status, 503, "{report}");

    std::fs::write(&app.token_file, format!("{}\n", app.token)).unwrap();
    assert_eq!(app.get("version").send().await.unwrap().status(), 200);
    assert_eq!(service_kit::testing::readiness(&app.root).await.0, 200);
}

#[actix_web::test]
async fn other_methods_get_405_with_allow() {
    let app = spawn_app().await;
    let response = app
        .client
        .delete(app.url("calculate-price"))
        .header("authorization", app.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "POST");
    let response = app
        .client
        .delete(app.url("voucher"))
        .header("authorization", app.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, PUT");
}
