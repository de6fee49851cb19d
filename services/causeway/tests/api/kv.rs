//! /put, /get, /delete: authorisation, replay, refunds, bad input.

use serde_json::json;

use crate::helpers::*;

async fn registered(app: &TestApp) -> (User, String) {
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    (user, nonce)
}

fn bytes_free(bucket: &serde_json::Value) -> i64 {
    bucket["bytes_free"].as_str().unwrap().parse().unwrap()
}

#[actix_web::test]
async fn a_captured_put_cannot_be_replayed() {
    let app = spawn_sqlite().await;
    let (user, nonce) = registered(&app).await;
    let key = random_key();
    let captured = user.put_body(&key, "first", &nonce);
    assert_eq!(app.post_json("/put", &captured).await.0, 201);
    // The owner moves on; the attacker replays the captured request to roll it back.
    assert_eq!(app.put(&user, &key, "second", &nonce).await.0, 201);
    let replay = app.post_json("/put", &captured).await;
    assert_error(
        &replay,
        401,
        "Request already accepted once (replay refused)",
    );
    assert_eq!(app.get_key(&key).await.1["value"], "second");

    // A malleated copy (s negated, recovery id flipped) is the same signed text: refused.
    let malleated = malleate(captured["signature"].as_str().unwrap());
    let mut forged = captured.clone();
    forged["signature"] = json!(malleated);
    let replay = app.post_json("/put", &forged).await;
    assert_error(
        &replay,
        401,
        "Request already accepted once (replay refused)",
    );
}

/// The other valid signature of the same text: (r, n - s) with the recovery parity flipped.
fn malleate(signature: &str) -> String {
    use base64::Engine;
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    let engine = base64::engine::general_purpose::STANDARD;
    let mut sig = engine.decode(signature).unwrap();
    let header = sig[0];
    sig[0] = 27 + (((header - 27) & 4) | (((header - 27) & 3) ^ 1));
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(sig[33 + i]) - borrow;
        borrow = i16::from(d < 0);
        sig[33 + i] = d.rem_euclid(256) as u8;
    }
    engine.encode(sig)
}

#[actix_web::test]
async fn nobody_writes_or_deletes_another_owners_key() {
    let app = spawn_sqlite().await;
    let (alice, alice_nonce) = registered(&app).await;
    let (mallory, mallory_nonce) = registered(&app).await;
    let key = random_key();
    assert_eq!(app.put(&alice, &key, "alice's", &alice_nonce).await.0, 201);

    // Mallory, for herself, on Alice's key.
    let taken = app.put(&mallory, &key, "mallory's", &mallory_nonce).await;
    assert_error(&taken, 403, "Key belongs to another owner");
    // Mallory claiming to be Alice, with Alice's public nonce and her own signature.
    let mut body = mallory.put_body(&key, "mallory's", &alice_nonce);
    body["owner"] = json!(alice.master.to_string());
    let forged = app.post_json("/put", &body).await;
    assert_error(
        &forged,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
    // Nor delete it.
    let deleted = app
        .post_json("/delete", &mallory.delete_body(&key, &alice_nonce))
        .await;
    assert_error(
        &deleted,
        403,
        "Signer is neither the owner nor the owner's delegate",
    );
    assert_eq!(app.get_key(&key).await.1["value"], "alice's");
}

#[actix_web::test]
async fn empty_and_cleared_nonces_never_validate() {
    let app = spawn_sqlite().await;
    let (user, nonce) = registered(&app).await;
    let key = random_key();
    for bad in ["", "null", "0123456789abcdef0123456789abcdef"] {
        let got = app.put(&user, &key, "v", bad).await;
        assert_error(&got, 401, "Bad nonce");
    }
    let mut body = user.put_body(&key, "v", "");
    body["nonce"] = serde_json::Value::Null;
    assert_error(&app.post_json("/put", &body).await, 401, "Bad nonce");

    app.get(
        "/nonce",
        &[("address", &user.master.to_string()), ("clear", &nonce)],
    )
    .await;
    assert_error(&app.put(&user, &key, "v", &nonce).await, 401, "Bad nonce");
    assert_error(&app.put(&user, &key, "v", "").await, 401, "Bad nonce");
}

async fn delete_and_update_refund(url: String) {
    let app = spawn_app(url).await;
    let (user, nonce) = registered(&app).await;
    let key = random_key();
    let full = 1_048_576;
    assert_eq!(app.put(&user, &key, &"x".repeat(100), &nonce).await.0, 201);
    let buckets = app.buckets(&user).await;
    assert_eq!(bytes_free(&buckets[0]), full - 132);
    // An update debits the new size and refunds the old one.
    assert_eq!(app.put(&user, &key, "é", &nonce).await.0, 201);
    let buckets = app.buckets(&user).await;
    assert_eq!(bytes_free(&buckets[0]), full - 34);

    let (status, body) = app
        .post_json("/delete", &user.delete_body(&key, &nonce))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(app.get_key(&key).await.0, 404);
    let buckets = app.buckets(&user).await;
    assert_eq!(bytes_free(&buckets[0]), full);
    let again = app
        .post_json("/delete", &user.delete_body(&key, &nonce))
        .await;
    assert_error(&again, 404, "Key not found or not owned by caller.");

    // A delete signed over the wrong text.
    assert_eq!(app.put(&user, &key, "back", &nonce).await.0, 201);
    let mut body = user.delete_body(&key, &nonce);
    body["signature"] = json!(user.sign_delegate("something else"));
    assert_error(
        &app.post_json("/delete", &body).await,
        401,
        "Incorrect signature.",
    );
}

service_kit::backend_tests!(refunds, delete_and_update_refund);

#[actix_web::test]
async fn seed_form_parameters_work() {
    let app = spawn_sqlite().await;
    let user = User::new();
    // The seed has no delegate: the address owns and signs.
    let (status, _) = app
        .get("/request", &[("owner", &user.master.to_string())])
        .await;
    assert_eq!(status, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    let message = format!("{key}seed value{}{nonce}", user.master);
    let form = [
        ("key", key.as_str()),
        ("value", "seed value"),
        ("address", &user.master.to_string()),
        ("nonce", &nonce),
        ("signature", &user.sign_master(&message)),
    ];
    let response = app
        .client
        .post(app.url("/put"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    assert_eq!(app.get_key(&key).await.1["value"], "seed value");

    // The same as query parameters, for a delete.
    let message = format!("{key}{}{nonce}", user.master);
    let response = app
        .client
        .post(app.url("/delete"))
        .query(&[
            ("key", key.as_str()),
            ("address", &user.master.to_string()),
            ("nonce", &nonce),
            ("signature", &user.sign_master(&message)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[actix_web::test]
async fn bad_inputs_are_clear_4xx() {
    let app = spawn_sqlite_with(|s| s.server.body_limit = 20_000).await;
    let (user, nonce) = registered(&app).await;
    let key = random_key();

    let raw = |body: &'static str| {
        app.client
            .post(app.url("/put"))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let response = raw("{not json").await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"], "JSON Decode failed");
    let response = raw(r#"{"key": 5}"#).await.unwrap();
    assert_eq!(response.status(), 400);

    let mut body = user.put_body(&key, "v", &nonce);
    body.as_object_mut().unwrap().remove("signature");
    assert_error(
        &app.post_json("/put", &body).await,
        400,
        "Missing parameter: signature",
    );

    let mut body = user.put_body(&key, "v", &nonce);
    body["signature"] = json!("%%%not base64");
    let got = app.post_json("/put", &body).await;
    assert_eq!(got.0, 400, "{}", got.1);
    assert!(
        got.1["error"]
            .as_str()
            .unwrap()
            .starts_with("Malformed signature")
    );

    let mut body = user.put_body(&key, "v", &nonce);
    body["signature"] = json!(user.sign_delegate("another text"));
    assert_error(
        &app.post_json("/put", &body).await,
        401,
        "Incorrect signature",
    );

    let mut body = user.put_body(&key, "v", &nonce);
    body["owner"] = json!("1NotAnAddress");
    let got = app.post_json("/put", &body).await;
    assert_eq!(got.0, 400, "{}", got.1);

    // A testnet flag with mainnet addresses.
    let mut body = user.put_body(&key, "v", &nonce);
    body["testnet"] = json!(true);
    assert_eq!(app.post_json("/put", &body).await.0, 400);

    for bad_key in ["", "has space", &"K".repeat(65), "../etc"] {
        let got = app.put(&user, bad_key, "v", &nonce).await;
        assert!(got.0 == 400, "{bad_key}: {}", got.1);
    }
    let got = app.put(&user, &key, &"v".repeat(8193), &nonce).await;
    assert_error(&got, 413, "Value exceeds 8192 bytes");
    let got = app.put(&user, &key, &"v".repeat(30_000), &nonce).await;
    assert_error(&got, 413, "Request body exceeds 20000 bytes");

    let stranger = User::new();
    let got = app.put(&stranger, &key, "v", &nonce).await;
    assert_error(&got, 403, "User not found");

    assert_eq!(app.get("/get", &[]).await.0, 400);
    assert_eq!(app.get("/get", &[("key", "a b")]).await.0, 400);
    assert_eq!(app.get("/nowhere", &[]).await.0, 404);
    // Nothing was written by any of it.
    assert_eq!(app.get_key(&key).await.0, 404);
}

#[actix_web::test]
async fn testnet_clients_share_a_mainnet_server() {
    let app = spawn_sqlite().await;
    let user = User::on(service_kit::bitcoin::Network::Testnet);
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    let doc = "x\nRein Job\ntestnet job";
    let (status, body) = app.put(&user, &key, doc, &nonce).await;
    assert_eq!(status, 201, "{body}");
    let owner = user.master.to_string();
    let (_, body) = app
        .get(
            "/query",
            &[("owner", &owner), ("query", "jobs"), ("testnet", "True")],
        )
        .await;
    assert_eq!(body["jobs"], json!([doc]));
    let (_, body) = app
        .get(
            "/query",
            &[("owner", &owner), ("query", "jobs"), ("testnet", "False")],
        )
        .await;
    assert_eq!(body["jobs"], json!([]));
}
