use serde_json::{Value, json};

use crate::helpers::spawn_app;

#[actix_web::test]
async fn reports_both_field_sets_and_the_latest_run() {
    let app = spawn_app().await;
    let body: Value = app
        .get("lease-maintenance")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body,
        json!({"total": 0, "spending": null, "spendable": 0, "lease-maintenance-spending": null})
    );

    for count in [7, 12] {
        let response = app
            .post("lease-maintenance", &json!({"count": count}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    app.redeemed_voucher().await;
    let body: Value = app
        .get("lease-maintenance")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["total"], 20);
    assert_eq!(body["spendable"], 20);
    assert_eq!(body["spending"]["count"], 12);
    assert_eq!(body["spending"], body["lease-maintenance-spending"]);
    let when = body["spending"]["when"].as_str().unwrap();
    assert!(when.ends_with("+00:00") && when.len() == 32, "{when}");
}

#[actix_web::test]
async fn bad_runs_are_refused() {
    let app = spawn_app().await;
    for body in [
        json!({}),
        json!({"count": -1}),
        json!({"count": "3"}),
        json!({"count": 1.5}),
        json!({"count": 1, "extra": 2}),
        json!([1]),
    ] {
        let response = app.post("lease-maintenance", &body).send().await.unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["error"].as_str().unwrap().contains("count"),
            "{error}"
        );
    }
    let body: Value = app
        .get("lease-maintenance")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["spending"], Value::Null);
}
