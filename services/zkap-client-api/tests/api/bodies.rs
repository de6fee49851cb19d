//! A body actix-web cannot read (a `Content-Encoding` that does not decode) is a 400 in the
//! service's JSON format, not actix-web's plain-text debug output; nothing is written.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::spawn_app;

#[actix_web::test]
async fn undecodable_bodies_are_json_400s() {
    let app = spawn_app().await;
    for (method, path) in [
        (Method::PUT, "voucher"),
        (Method::POST, "lease-maintenance"),
        (Method::POST, "calculate-price"),
        (Method::POST, "passes"),
    ] {
        for encoding in ["gzip", "deflate"] {
            let response = app
                .client
                .request(method.clone(), app.url(path))
                .header("authorization", app.auth())
                .header("content-type", "application/json")
                .header("content-encoding", encoding)
                .body("not compressed")
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 400, "{path} {encoding}");
            let content_type = response.headers()["content-type"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                content_type.starts_with("application/json"),
                "{path}: {content_type}"
            );
            let body: Value = response.json().await.unwrap();
            assert_eq!(body["error"], "request body could not be read", "{path}");
            assert!(body["details"].is_string(), "{body}");
        }
    }
    // Nothing was recorded: no voucher, no lease-maintenance spending.
    let vouchers: Value = app
        .get("voucher")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(vouchers["vouchers"], serde_json::json!([]));
    let lease: Value = app
        .get("lease-maintenance")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(lease["spending"].is_null(), "{lease}");
}
