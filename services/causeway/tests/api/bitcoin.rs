//! /bitcoin: block lookups and broadcast through the ledger.

use crate::helpers::*;

#[actix_web::test]
async fn block_lookups_and_broadcast() {
    let app = spawn_sqlite().await;
    let hashes = app.sim.mine(10);
    let user = User::new();
    let owner = user.master.to_string();
    let (_, body) = app
        .get(
            "/bitcoin",
            &[("owner", &owner), ("query", "getbyheight"), ("height", "3")],
        )
        .await;
    assert_eq!(body["message"], "Account required to make queries");
    assert_eq!(app.request_bucket(&user).await.0, 200);

    let (status, body) = app
        .get(
            "/bitcoin",
            &[("owner", &owner), ("query", "getbyheight"), ("height", "3")],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["height"], "3");
    assert_eq!(body["hash"], hashes[2].as_str());
    assert!(body["time"].as_u64().unwrap() > 0);

    let (_, body) = app
        .get(
            "/bitcoin",
            &[("owner", &owner), ("query", "getbydepth"), ("depth", "2")],
        )
        .await;
    assert_eq!(body["height"], 8);
    assert_eq!(body["hash"], hashes[7].as_str());

    let (_, body) = app
        .get(
            "/bitcoin",
            &[
                ("owner", &owner),
                ("query", "getbyhash"),
                ("hash", &hashes[4]),
            ],
        )
        .await;
    assert_eq!(body["height"], 5);

    let (status, body) = app
        .get(
            "/bitcoin",
            &[("owner", &owner), ("query", "getbydepth"), ("depth", "99")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Invalid depth or RPC error");
    let (_, body) = app
        .get(
            "/bitcoin",
            &[
                ("owner", &owner),
                ("query", "getbyheight"),
                ("height", "99"),
            ],
        )
        .await;
    assert_eq!(body["message"], "Invalid depth or RPC error");

    let tx = "0100000001000000000000000000000000";
    let response = app
        .client
        .post(app.url("/bitcoin"))
        .query(&[
            ("owner", owner.as_str()),
            ("query", "sendrawtransaction"),
            ("tx", tx),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["txid"].as_str().unwrap().len(), 64);
    let (_, body) = app
        .get(
            "/bitcoin",
            &[
                ("owner", &owner),
                ("query", "sendrawtransaction"),
                ("tx", "zz"),
            ],
        )
        .await;
    assert!(body["txid"].is_null());

    assert_eq!(
        app.get(
            "/bitcoin",
            &[("owner", &owner), ("query", "getbyheight"), ("height", "x")]
        )
        .await
        .0,
        400
    );
    assert_eq!(
        app.get("/bitcoin", &[("owner", &owner), ("query", "mine")])
            .await
            .0,
        400
    );
    assert_eq!(
        app.get("/bitcoin", &[("owner", &owner), ("query", "getbyhash")])
            .await
            .0,
        400
    );
}

#[actix_web::test]
async fn without_a_ledger() {
    let app = spawn_sqlite_with(|s| s.bitcoind_url = None).await;
    let (status, body) = app
        .get("/bitcoin", &[("query", "getbyheight"), ("height", "1")])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["message"], "Bitcoin Core not enabled for this server");
}
