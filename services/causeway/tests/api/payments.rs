//! /buy, /address, /balance against ledger-sim's Bitcoin Core, with real payments.

use futures_util::future::join_all;

use crate::helpers::*;

fn owner_params(user: &User) -> [(&'static str, String); 3] {
    [
        ("owner", user.master.to_string()),
        ("delegate", user.delegate.to_string()),
        ("contact", "buyer@example.com".to_owned()),
    ]
}

async fn buy(app: &TestApp, user: &User) -> (u16, serde_json::Value) {
    let params = owner_params(user);
    let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    app.get("/buy", &query).await
}

async fn balance(app: &TestApp, user: &User) -> (u16, serde_json::Value) {
    let nonce = app.nonce(user).await;
    let message = format!("balance,{},{nonce}", user.master);
    app.get(
        "/balance",
        &[
            ("owner", &user.master.to_string()),
            ("address", &user.delegate.to_string()),
            ("nonce", &nonce),
            ("signature", &user.sign_delegate(&message)),
        ],
    )
    .await
}

async fn buy_with_a_payment(url: String) {
    let app = spawn_with(url, |s| s.price = 100_000).await;
    let user = User::new();

    let (status, body) = buy(&app, &user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(body["bought"], false);
    assert_eq!(body["price"], "0.001");
    let address = body["address"].as_str().unwrap().to_owned();
    assert!(body["message"].as_str().unwrap().contains(&address));
    assert_eq!(body["due_sats"], 100_000);
    assert_eq!(body["buckets"].as_array().unwrap().len(), 0);

    // Unconfirmed money does not count.
    app.sim.pay(&address, 150_000);
    let (_, body) = buy(&app, &user).await;
    assert_eq!(body["bought"], false, "{body}");
    assert_ne!(
        body["address"],
        address.as_str(),
        "an address that received is not reused"
    );
    app.sim.mine(1);

    // Two concurrent purchases with money for one: exactly one bucket.
    let results = join_all((0..2).map(|_| buy(&app, &user))).await;
    let bought = results.iter().filter(|r| r.1["bought"] == true).count();
    assert_eq!(bought, 1, "{results:?}");
    let (_, body) = buy(&app, &user).await;
    assert_eq!(body["bought"], false);
    assert_eq!(body["buckets"].as_array().unwrap().len(), 1);

    let (status, body) = balance(&app, &user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["received_sats"], 150_000);
    assert_eq!(body["spent_sats"], 100_000);
    assert_eq!(body["balance_sats"], 50_000);
    assert_eq!(body["balance"], "0.0005");

    // The bought bucket takes writes.
    let nonce = app.nonce(&user).await;
    assert_eq!(app.put(&user, &random_key(), "paid", &nonce).await.0, 201);
}

service_kit::backend_tests!(purchase, buy_with_a_payment);

#[actix_web::test]
async fn address_is_signed_and_real() {
    let app = spawn_sqlite().await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let master = user.master.to_string();
    let contact = "bob@example.com";
    let signature = user.sign_master(&format!("{contact},{master}"));
    let (status, body) = app
        .get(
            "/address",
            &[
                ("address", &master),
                ("contact", contact),
                ("signature", &signature),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let deposit = body["address"].as_str().unwrap();
    assert_ne!(deposit, "hereyago");
    service_kit::bitcoin::BitcoinAddress::parse(deposit).unwrap();

    let bad = app
        .get(
            "/address",
            &[
                ("address", &master),
                ("contact", "other"),
                ("signature", &signature),
            ],
        )
        .await;
    assert_error(&bad, 401, "Invalid signature");
    let stranger = User::new();
    let s = stranger.master.to_string();
    let sig = stranger.sign_master(&format!("{contact},{s}"));
    let unknown = app
        .get(
            "/address",
            &[("address", &s), ("contact", contact), ("signature", &sig)],
        )
        .await;
    assert_error(&unknown, 403, "User not found");
}

#[actix_web::test]
async fn balance_needs_the_owners_signature() {
    let app = spawn_sqlite().await;
    let user = User::new();
    let mallory = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let (status, body) = balance(&app, &user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["balance_sats"], 0);

    let nonce = app.nonce(&user).await;
    let message = format!("balance,{},{nonce}", user.master);
    let got = app
        .get(
            "/balance",
            &[
                ("owner", &user.master.to_string()),
                ("address", &mallory.master.to_string()),
                ("nonce", &nonce),
                ("signature", &mallory.sign_master(&message)),
            ],
        )
        .await;
    assert_error(
        &got,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
}

#[actix_web::test]
async fn free_price_and_no_ledger() {
    let app = spawn_sqlite_with(|s| {
        s.price = 0;
        s.bitcoind_url = None;
    })
    .await;
    let user = User::new();
    let (status, body) = buy(&app, &user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["bought"], true);
    let master = user.master.to_string();
    let signature = user.sign_master(&format!("c,{master}"));
    let got = app
        .get(
            "/address",
            &[
                ("address", &master),
                ("contact", "c"),
                ("signature", &signature),
            ],
        )
        .await;
    assert_error(&got, 503, "Bitcoin Core not enabled for this server");
}
