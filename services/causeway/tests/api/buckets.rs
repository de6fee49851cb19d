//! /request: free buckets, at most `--free-buckets` per owner, even when asked concurrently.

use futures_util::future::join_all;

use crate::helpers::*;

#[actix_web::test]
async fn free_buckets_are_limited() {
    let app = spawn_sqlite().await;
    let user = User::new();
    let results = join_all((0..7).map(|_| app.request_bucket(&user))).await;
    let granted = results
        .iter()
        .filter(|r| r.1["result"] == "success")
        .count();
    assert_eq!(granted, 4, "{results:?}");
    for (status, body) in results.iter().filter(|r| r.1["result"] != "success") {
        assert_eq!(*status, 200);
        assert_eq!(body["result"], "error");
        assert_eq!(body["message"], "Maximum free buckets granted");
        assert_eq!(body["buckets"].as_array().unwrap().len(), 4);
    }
    let (_, body) = app.request_bucket(&user).await;
    let ids: Vec<i64> = body["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    assert!(body["buckets"][0]["bytes_free"].is_string());
}

#[actix_web::test]
async fn request_rejects_bad_addresses() {
    let app = spawn_sqlite().await;
    assert_error(
        &app.get("/request", &[]).await,
        400,
        "Missing parameter: owner",
    );
    let got = app
        .get(
            "/request",
            &[("owner", "1CptxARjqcfkVwGFSjR82zmPT8YtRMubuc")],
        )
        .await;
    assert_eq!(got.0, 400, "{}", got.1);
    let user = User::new();
    let testnet = User::on(service_kit::bitcoin::Network::Testnet);
    let got = app
        .get(
            "/request",
            &[
                ("owner", &user.master.to_string()),
                ("delegate", &testnet.delegate.to_string()),
            ],
        )
        .await;
    assert_eq!(got.0, 400, "{}", got.1);
}
