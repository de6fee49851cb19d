//! /, /help, /info, /status, /price and the health endpoints.

use crate::helpers::*;

#[actix_web::test]
async fn descriptions_and_status() {
    let app = spawn_sqlite().await;
    let (status, help) = app.get("/help", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(help[0]["name"], "causeway/1.freebeer");
    assert_eq!(help[0]["pricing-type"], "per-mb");
    assert_eq!(
        help[0]["pricing"][0]["description"],
        "1 MB hosting, 50 MB bandwidth, 1 year expiration - free version for testing"
    );
    assert_eq!(app.get("/", &[]).await.1, help);
    assert!(app.get("/info", &[]).await.1.as_array().unwrap().len() >= 4);

    let (status, body) = app.get("/status", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["stored"], "0");
    assert_eq!(body["free"], "0");
    assert_eq!(body["price"], "0.001");
    assert!(body["uptime"].is_string());

    let user = User::new();
    app.request_bucket(&user).await;
    let nonce = app.nonce(&user).await;
    app.put(&user, &random_key(), "12345678", &nonce).await;
    let (_, body) = app.get("/status", &[]).await;
    assert_eq!(body["stored"], "40");
    assert_eq!(body["free"], (1_048_576 - 40).to_string());

    let (_, body) = app.get("/price", &[]).await;
    assert_eq!(body["price"], 0.001);
    assert_eq!(body["price_sats"], 100_000);

    let (status, body) = app.get("/health/ready", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["bitcoind"], "ok");
}
