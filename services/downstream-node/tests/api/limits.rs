//! Per-IP and per-token rate limits (429 `{"status":"error",...}` with `Retry-After`),
//! CORS on the status routes only, and the status `Cache-Control` setting. None of this
//! depends on the database, so it runs on SQLite.

use downstream_node::settings::Settings;
use serde_json::Value;
use service_kit::db::Backend;
use service_kit::testing::TestDatabase;

use crate::caching::fetch;
use crate::helpers::*;

async fn sqlite_app(tweak: impl FnOnce(&mut Settings)) -> (TestDatabase, TestApp) {
    let db = TestDatabase::create(Backend::Sqlite).unwrap().unwrap();
    let app = spawn_app_with(db.url().to_owned(), tweak).await;
    (db, app)
}

async fn get(app: &TestApp, path: &str, origin: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.api));
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    request.send().await.unwrap()
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[actix_web::test]
async fn per_ip_limit_answers_429_with_retry_after() {
    let (_db, app) = sqlite_app(|s| {
        s.ip_rate_limit = 0.5;
        s.ip_rate_burst = 3;
    })
    .await;
    for _ in 0..3 {
        assert_eq!(get(&app, "/status/summary", None).await.status(), 200);
    }
    let limited = get(&app, "/status/summary", Some("https://dash.example")).await;
    assert_eq!(limited.status(), 429);
    assert_eq!(header(&limited, "retry-after").as_deref(), Some("2"));
    // Dashboards can read the 429 too.
    assert_eq!(
        header(&limited, "access-control-allow-origin").as_deref(),
        Some("*")
    );
    let (_, body) = decode(limited).await;
    assert_eq!(body["status"], "error");
    assert_eq!(body["message"], "Too many requests: retry after 2 seconds.");
    // Every API route counts, under both mount points; health and metrics do not.
    let (status, _) = app.get("/heartbeat/0123456789abcdef0123456789abcdef").await;
    assert_eq!(status, 429);
    let other = app
        .client
        .get(format!("{}/api/downstream/status/summary", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 429);
    let health = app
        .client
        .get(format!("{}/health/live", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
}

#[actix_web::test]
async fn per_token_limit_is_per_token() {
    let (_db, app) = sqlite_app(|s| {
        s.ip_rate_limit = 0.0;
        s.token_rate_limit = 0.1;
        s.token_rate_burst = 2;
    })
    .await;
    let first = app.register(&Identity::new(91)).await;
    let second = app.register(&Identity::new(92)).await;
    for _ in 0..2 {
        let (status, body) = app.get(&format!("/heartbeat/{first}")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = app.get(&format!("/chunk/{first}/1000")).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["status"], "error");
    let response = app
        .client
        .post(format!("{}/answer/{first}", app.api))
        .json(&serde_json::json!({"proofs": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    assert_eq!(header(&response, "retry-after").as_deref(), Some("10"));
    // Another token, registration and the status routes are unaffected.
    let (status, _) = app.get(&format!("/heartbeat/{second}")).await;
    assert_eq!(status, 200);
    app.register(&Identity::new(93)).await;
    for _ in 0..5 {
        assert_eq!(get(&app, "/status/list", None).await.status(), 200);
        // Malformed tokens are not tracked (and are refused anyway).
        let (status, _) = app.get("/heartbeat/not-a-token").await;
        assert_eq!(status, 404);
    }
}

#[actix_web::test]
async fn defaults_leave_a_busy_farmer_alone() {
    let (_db, app) = sqlite_app(|_| {}).await;
    let defaults = Settings::default();
    // The farmer makes at most about one request per second per token (a /chunk every 3 s,
    // an /answer and a /challenge batch every 5 s, retries after 3 s).
    assert!(defaults.token_rate_limit >= 2.0 && defaults.token_rate_burst >= 50);
    assert!(defaults.ip_rate_limit >= 5.0 * defaults.token_rate_limit / 2.0);
    let token = app.register(&Identity::new(94)).await;
    for _ in 0..60 {
        let (status, body) = app.get(&format!("/heartbeat/{token}")).await;
        assert_eq!(status, 200, "{body}");
        let (status, _) = app.get("/status/list/by/d/uptime/25").await;
        assert_eq!(status, 200);
    }
}

#[actix_web::test]
async fn cors_default_is_any_origin_on_status_only() {
    let (_db, app) = sqlite_app(|_| {}).await;
    let origin = Some("https://dash.example");
    for path in [
        "/status/list/by/d/uptime",
        "/status/show/aaaaaaaaaaaaaaaaaaa1",
        "/status/summary",
    ] {
        let response = get(&app, path, origin).await;
        assert_eq!(
            header(&response, "access-control-allow-origin").as_deref(),
            Some("*"),
            "{path}"
        );
        let exposed = header(&response, "access-control-expose-headers").unwrap();
        assert!(exposed.contains("X-Total-Count") && exposed.contains("ETag"));
        assert_eq!(header(&response, "vary"), None);
    }
    let token = app.register(&Identity::new(95)).await;
    for path in [format!("/heartbeat/{token}"), format!("/chunk/{token}/100")] {
        let response = get(&app, &path, origin).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header(&response, "access-control-allow-origin"), None);
    }
    // Preflight: 204 on status routes, nothing elsewhere.
    let preflight = |path: &str| {
        app.client
            .request(reqwest::Method::OPTIONS, format!("{}{path}", app.api))
            .header("Origin", "https://dash.example")
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "if-none-match")
            .send()
    };
    let response = preflight("/status/list/by/d/uptime").await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        header(&response, "access-control-allow-methods").as_deref(),
        Some("GET, OPTIONS")
    );
    assert_eq!(
        header(&response, "access-control-allow-headers").as_deref(),
        Some("If-None-Match")
    );
    let response = preflight("/new/1abc").await.unwrap();
    assert_ne!(response.status(), 204);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
}

#[actix_web::test]
async fn cors_origin_list_and_none() {
    let (_db, app) = sqlite_app(|s| {
        s.cors_origins = "https://dash.example, https://other.example".into();
        s.status_max_age = 0;
    })
    .await;
    let allowed = get(&app, "/status/summary", Some("https://other.example")).await;
    assert_eq!(
        header(&allowed, "access-control-allow-origin").as_deref(),
        Some("https://other.example")
    );
    assert_eq!(header(&allowed, "vary").as_deref(), Some("Origin"));
    assert_eq!(
        header(&allowed, "cache-control").as_deref(),
        Some("no-cache")
    );
    let refused = get(&app, "/status/summary", Some("https://evil.example")).await;
    assert_eq!(refused.status(), 200);
    assert_eq!(header(&refused, "access-control-allow-origin"), None);
    assert_eq!(header(&refused, "vary").as_deref(), Some("Origin"));
    // A no-cache answer still revalidates with its ETag.
    let first = fetch(&app, "/status/summary", None).await;
    let again = fetch(&app, "/status/summary", first.etag.as_deref()).await;
    assert_eq!(again.status, 304);

    let (_db, none) = sqlite_app(|s| s.cors_origins = String::new()).await;
    let response = get(&none, "/status/summary", Some("https://dash.example")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(header(&response, "access-control-allow-origin"), None);
    let (status, body) = decode(response).await;
    assert_eq!(status, 200);
    assert!(matches!(body, Value::Object(_)));
}
