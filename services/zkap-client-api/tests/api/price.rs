use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn prices_follow_zkapauthorizers_formula() {
    let app = spawn_app().await;
    let mib: u64 = 1024 * 1024;
    for (sizes, price) in [
        (json!([]), 0),
        (json!([0]), 0),
        (json!([10 * mib]), 40),
        (json!([1]), 10),
        (json!([3 * mib, 3 * mib + 1]), 30),
    ] {
        let response = app
            .post("calculate-price", &json!({"version": 1, "sizes": sizes}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            body,
            json!({"price": price, "period": 2_678_400}),
            "{sizes}"
        );
    }
}

#[actix_web::test]
async fn content_type_must_be_json_but_may_have_parameters() {
    let app = spawn_app().await;
    let body = r#"{"version": 1, "sizes": [1]}"#;
    for (content_type, status) in [
        (Some("application/json; charset=utf-8"), 200),
        (Some("Application/JSON"), 200),
        (Some("text/plain"), 400),
        (Some("application/jsonx"), 400),
        (None, 400),
    ] {
        let mut request = app
            .client
            .post(app.url("calculate-price"))
            .header("authorization", app.auth())
            .body(body);
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), status, "{content_type:?}");
        if status == 400 {
            let error: Value = response.json().await.unwrap();
            assert_eq!(error["error"], "content-type must be application/json");
        }
    }
}

#[actix_web::test]
async fn malformed_requests_get_the_originals_reasons() {
    let app = spawn_app().await;
    for (body, reason) in [
        ("nope", "could not parse request body"),
        ("[]", "request body must be a JSON object"),
        (
            r#"{"sizes": []}"#,
            "could not read `version` and `sizes` properties",
        ),
        (
            r#"{"version": 2, "sizes": []}"#,
            "did not find required version number 1 in request",
        ),
        (
            r#"{"version": 1, "sizes": [-5]}"#,
            "did not find required positive integer sizes list in request",
        ),
        (
            r#"{"version": 1, "sizes": [true]}"#,
            "did not find required positive integer sizes list in request",
        ),
    ] {
        let response = app
            .client
            .post(app.url("calculate-price"))
            .header("authorization", app.auth())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error, json!({"error": reason}), "{body}");
    }
}
