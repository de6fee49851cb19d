use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{TOKENS, spawn_app, spawn_app_on};

const MESSAGE: &str = "allocate_buckets aGVsbG8gd29ybGQ=";

#[actix_web::test]
async fn passes_verify_at_the_storage_server() {
    let app = spawn_app().await;
    app.redeemed_voucher().await;
    let response = app
        .post("passes", &json!({"message": MESSAGE, "count": 3}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let passes = body["passes"].as_array().unwrap();
    assert_eq!(passes.len(), 3);
    for pass in passes {
        let pass = pass.as_str().unwrap();
        assert_eq!(pass.len(), 177);
        assert!(app.server_accepts(pass, MESSAGE));
        assert!(!app.server_accepts(pass, "add_lease aGVsbG8gd29ybGQ="));
    }
    assert_eq!(app.spendable().await, TOKENS - 3);
}

#[actix_web::test]
async fn too_few_tokens_is_409_with_the_spendable_count() {
    let app = spawn_app().await;
    app.redeemed_voucher().await;
    let response = app
        .post("passes", &json!({"message": MESSAGE, "count": TOKENS + 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["spendable"], TOKENS);
    assert_eq!(body["requested"], TOKENS + 1);
    assert_eq!(app.spendable().await, TOKENS, "nothing taken");
}

#[actix_web::test]
async fn malformed_pass_requests_are_400() {
    let app = spawn_app().await;
    app.redeemed_voucher().await;
    for body in [
        json!({"message": MESSAGE}),
        json!({"count": 1}),
        json!({"message": "", "count": 1}),
        json!({"message": MESSAGE, "count": 0}),
        json!({"message": MESSAGE, "count": -1}),
        json!({"message": MESSAGE, "count": 10_001}),
        json!({"message": 5, "count": 1}),
        json!({"message": MESSAGE, "count": 1, "more": true}),
    ] {
        let response = app.post("passes", &body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(error["error"].is_string());
    }
    assert_eq!(app.spendable().await, TOKENS);
}

/// Redeems on the given backend, then races pass requests: no token is handed out twice and
/// none is lost.
async fn concurrent_passes_never_share_a_token(database_url: String) {
    let app = spawn_app_on(database_url).await;
    app.redeemed_voucher().await;
    app.redeemed_voucher().await;
    let total = 2 * TOKENS;
    assert_eq!(app.spendable().await, total);
    let requests = (0..16).map(|_| {
        app.post("passes", &json!({"message": MESSAGE, "count": 3}))
            .send()
    });
    let mut preimages = HashSet::new();
    let mut granted = 0;
    for response in futures_util::future::join_all(requests).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            200 => {
                let body: Value = response.json().await.unwrap();
                for pass in body["passes"].as_array().unwrap() {
                    let pass = pass.as_str().unwrap();
                    assert!(app.server_accepts(pass, MESSAGE));
                    let preimage = pass.split(' ').next().unwrap().to_owned();
                    assert!(preimages.insert(preimage), "token handed out twice");
                }
                granted += 1;
            }
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(granted >= 1);
    assert_eq!(preimages.len(), granted * 3);
    assert_eq!(app.spendable().await, total - 3 * granted as u64);
}

service_kit::backend_tests!(concurrent_passes, concurrent_passes_never_share_a_token);

/// A client that lost the answer retries with the same `Idempotency-Key` and gets the same
/// passes; racing retries all get them; tokens are spent once. A key reused with another
/// request is refused, a malformed key is a 400.
async fn idempotent_passes(database_url: String) {
    let app = spawn_app_on(database_url).await;
    app.redeemed_voucher().await;
    let with_key = |key: &str, count: u64| {
        app.post("passes", &json!({"message": MESSAGE, "count": count}))
            .header("idempotency-key", key)
            .send()
    };

    let first = with_key("retry-me-1", 3).await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first: Value = first.json().await.unwrap();
    let again = with_key("retry-me-1", 3).await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(app.spendable().await, TOKENS - 3);

    let racing = futures_util::future::join_all((0..6).map(|_| with_key("race-2", 2))).await;
    let mut answers = HashSet::new();
    for response in racing {
        let response = response.unwrap();
        assert_eq!(response.status(), 200);
        answers.insert(response.text().await.unwrap());
    }
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(app.spendable().await, TOKENS - 5);

    let reused = with_key("retry-me-1", 4).await.unwrap();
    assert_eq!(reused.status(), 422);
    let body: Value = reused.json().await.unwrap();
    assert_eq!(
        body["error"],
        "Idempotency-Key already used for a different request"
    );
    let malformed = with_key("has spaces", 1).await.unwrap();
    assert_eq!(malformed.status(), 400);
    assert_eq!(app.spendable().await, TOKENS - 5);

    // Without the header, nothing changes: every request spends.
    for _ in 0..2 {
        let plain = app
            .post("passes", &json!({"message": MESSAGE, "count": 1}))
            .send()
            .await
            .unwrap();
        assert_eq!(plain.status(), 200);
    }
    assert_eq!(app.spendable().await, TOKENS - 7);
}

service_kit::backend_tests!(idempotency, idempotent_passes);
