//! Every signmessage vector, and the Rein ones through the real routes.

use causeway::Error as ApiError;
use causeway::domain::signed::verify;
use serde_json::{Value, json};
use service_kit::bitcoin::BitcoinAddress;

use crate::helpers::*;

const VECTORS: &str =
    include_str!("../../../../crates/service-kit/tests/vectors/bitcoin-signmessage.json");
const BOB_DELEGATE: &str = "1CptxARjqcfkVwGFSjR82zmPT8YtRMubub";

fn vectors() -> Vec<Value> {
    let file: Value = serde_json::from_str(VECTORS).unwrap();
    file["vectors"].as_array().unwrap().clone()
}

fn vector(id: &str) -> Value {
    vectors().into_iter().find(|v| v["id"] == id).unwrap()
}

#[test]
fn every_vector_verifies_as_expected() {
    let all = vectors();
    assert!(all.len() >= 10);
    for v in all {
        let address = BitcoinAddress::parse(v["address"].as_str().unwrap()).unwrap();
        let got = verify(
            &address,
            v["signature"].as_str().unwrap(),
            v["message"].as_str().unwrap(),
            ApiError::IncorrectSignature,
        );
        assert_eq!(got.is_ok(), v["expected_valid"] == true, "{}", v["id"]);
    }
}

#[actix_web::test]
async fn rein_put_vectors_through_put() {
    let app = spawn_sqlite().await;
    let owner = User::new();
    let (status, _) = app
        .get(
            "/request",
            &[
                ("owner", &owner.master.to_string()),
                ("delegate", BOB_DELEGATE),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let nonce = "0123456789abcdef0123456789abcdef";
    app.force_nonce(&owner.master.to_string(), nonce).await;

    let body = |v: &Value| {
        json!({
            "key": "IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2",
            "value": v["message"].as_str().unwrap()
                .strip_prefix("IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2").unwrap()
                .strip_suffix(&format!("{BOB_DELEGATE}{nonce}")).unwrap(),
            "owner": owner.master.to_string(),
            "nonce": nonce,
            "signature": v["signature"],
            "signature_address": BOB_DELEGATE,
            "testnet": false,
        })
    };
    for id in [
        "rein-put-tampered-message",
        "rein-put-compression-flag-cleared",
    ] {
        let got = app.post_json("/put", &body(&vector(id))).await;
        assert_error(&got, 401, "Incorrect signature");
    }
    let got = app
        .post_json("/put", &body(&vector("rein-put-valid")))
        .await;
    assert_eq!(got.0, 201, "{}", got.1);
    let (_, stored) = app.get_key("IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2").await;
    assert_eq!(stored["value"], "hello world");
}

#[actix_web::test]
async fn address_vector_through_address() {
    let app = spawn_sqlite().await;
    assert_eq!(app.get("/request", &[("owner", BOB_DELEGATE)]).await.0, 200);
    let v = vector("causeway-address-route");
    let (status, body) = app
        .get(
            "/address",
            &[
                ("address", BOB_DELEGATE),
                ("contact", "bob@example.com"),
                ("signature", v["signature"].as_str().unwrap()),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
}
