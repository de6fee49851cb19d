//! downstream-farmer's whole flow: register with a signed message, get chunks, expand the
//! seeds, prove, answer (fake-gzip header), take the next challenge, answer again.

use serde_json::json;
use sha2::{Digest, Sha256};

use crate::helpers::*;

async fn full_cycle(url: String) {
    let app = spawn_app(url).await;
    // The farmer's connectivity check hits the bare node URL.
    let root = app.client.get(&app.root).send().await.unwrap();
    assert_eq!(root.status(), 200);
    let (status, body) = app.get("/").await;
    assert_eq!((status, body), (200, json!({"msg": "ok"})));

    let farmer = Identity::new(11);
    app.whitelist(&farmer.address, 25_000).await;
    let (status, body) = app
        .post(&format!("/new/{}", farmer.address), &farmer.signed_body())
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["type"], "Merkle");
    assert_eq!(
        body["heartbeat"],
        json!({"key": "", "check_fraction": 0.01})
    );
    let token = body["token"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 32);
    assert!(
        token
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let farmer_id = hex::encode(Sha256::digest(hex::decode(&token).unwrap()))[..20].to_owned();

    let (status, again) = app.get(&format!("/heartbeat/{token}")).await;
    assert_eq!(status, 200);
    assert_eq!(again["token"], body["token"]);

    // The farmer asks for what it can fill; the node never sends more.
    let (status, body) = app.get(&format!("/chunk/{token}/100000")).await;
    assert_eq!(status, 200, "{body}");
    let chunks = body["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 1);
    let total: u64 = chunks.iter().map(|c| c["size"].as_u64().unwrap()).sum();
    assert!(total <= 100_000);
    let held = Held::from_chunk(&chunks[0]);
    assert_eq!(held.challenge.index, 0);
    let due = chunks[0]["due"].as_f64().unwrap();
    assert!((299.0..=300.0).contains(&due), "{due}");

    // First answer: JSON body sent with Content-Encoding: gzip but not compressed.
    let body = serde_json::to_vec(&json!({"proofs": [held.proof_item()]})).unwrap();
    let (status, report) = app
        .post_raw(&format!("/answer/{token}"), body.clone(), true)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        report,
        json!({"report": [{"file_hash": held.file_hash, "status": "ok"}]})
    );

    // A replay of the same answer.
    let (_, report) = app.post_raw(&format!("/answer/{token}"), body, true).await;
    assert_eq!(report["report"][0]["error"], "Challenge already answered.");

    // Before the due time the farmer gets the same challenge, marked answered.
    let hashes = json!({"hashes": [held.file_hash]});
    let (status, body) = app.post(&format!("/challenge/{token}"), &hashes).await;
    assert_eq!(status, 200, "{body}");
    let item = &body["challenges"][0];
    assert_eq!(item["answered"], true);
    assert_eq!(
        item["challenge"],
        serde_json::to_value(&held.challenge).unwrap()
    );

    // At the due time: the next challenge, due one interval later.
    app.travel(300_500).await;
    let (_, body) = app.post(&format!("/challenge/{token}"), &hashes).await;
    let item = &body["challenges"][0];
    assert_eq!(item["file_hash"], held.file_hash);
    assert_eq!(item["answered"], false);
    assert_eq!(item["challenge"]["index"], 1);
    let due = item["due"].as_f64().unwrap();
    assert!((299.0..=300.0).contains(&due), "{due}");
    let mut held = held;
    held.challenge = serde_json::from_value(item["challenge"].clone()).unwrap();

    // Second answer, really gzipped this time.
    let body = serde_json::to_vec(&json!({"proofs": [held.proof_item()]})).unwrap();
    let (status, report) = app
        .post_raw(&format!("/answer/{token}"), gzip(&body), true)
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["report"][0]["status"], "ok");

    // Stats: list and show say the same thing.
    app.sweep().await;
    let (status, shown) = app.get(&format!("/status/show/{farmer_id}")).await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["id"], farmer_id.as_str());
    assert_eq!(shown["address"], farmer.address.as_str());
    assert_eq!(shown["heartbeats"], 2);
    assert_eq!(shown["contracts"], 1);
    assert_eq!(shown["size"], total);
    assert_eq!(shown["online"], true);
    let uptime = shown["uptime"].as_f64().unwrap();
    assert!(uptime > 99.0 && uptime <= 100.0, "{uptime}");
    let last_due = shown["last_due"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(last_due).is_ok(),
        "{last_due}"
    );
    let (_, list) = app.get("/status/list/").await;
    assert_eq!(list["farmers"], json!([shown]));
    // The seed's documented prefix serves the same API.
    let legacy = app
        .client
        .get(format!(
            "{}/api/downstream/status/show/{farmer_id}",
            app.root
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(decode(legacy).await, (200, shown));
}

service_kit::backend_tests!(farmer_cycle, full_cycle);

async fn several_chunks_within_the_caps(url: String) {
    let app = spawn_app_with(url, |s| {
        s.max_chunk_size = 40_000;
        s.max_chunks_per_request = 3;
        s.max_size_per_address = 150_000;
    })
    .await;
    let farmer = Identity::new(12);
    let token = app.register(&farmer).await;
    let (_, body) = app.get(&format!("/chunk/{token}/100000")).await;
    let sizes = chunk_sizes(&body);
    assert_eq!(sizes, vec![40_000, 40_000, 20_000]);
    // Each contract proves on its own.
    let items: Vec<_> = body["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Held::from_chunk(c).proof_item())
        .collect();
    let (_, report) = app
        .post(&format!("/answer/{token}"), &json!({"proofs": items}))
        .await;
    assert!(
        report["report"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "ok"),
        "{report}"
    );
    // Only 50,000 bytes of the address's cap remain, for every token of the address.
    let second = app.register(&farmer).await;
    let (_, body) = app.get(&format!("/chunk/{second}/100000")).await;
    let sizes = chunk_sizes(&body);
    assert_eq!(sizes, vec![40_000, 10_000]);
    let (_, body) = app.get(&format!("/chunk/{token}/100000")).await;
    assert_eq!(body, json!({"chunks": []}));
}

service_kit::backend_tests!(chunk_caps, several_chunks_within_the_caps);

async fn concurrent_farmers(url: String) {
    let app = spawn_app_with(url, |s| s.max_tokens_per_ip = 100).await;
    let farmers: Vec<Identity> = (100..112).map(Identity::new).collect();
    for farmer in &farmers {
        app.whitelist(&farmer.address, 10_000).await;
    }
    let registrations = farmers.iter().map(|farmer| {
        let app = &app;
        async move {
            let (status, body) = app
                .post(&format!("/new/{}", farmer.address), &farmer.signed_body())
                .await;
            assert_eq!(status, 200, "{body}");
            body["token"].as_str().unwrap().to_owned()
        }
    });
    let tokens = futures_util::future::join_all(registrations).await;
    let rounds = tokens.iter().map(|token| {
        let app = &app;
        async move {
            let (status, body) = app.get(&format!("/chunk/{token}/2000")).await;
            assert_eq!(status, 200, "{body}");
            let held = Held::from_chunk(&body["chunks"][0]);
            let (status, report) = app
                .post(
                    &format!("/answer/{token}"),
                    &json!({"proofs": [held.proof_item()]}),
                )
                .await;
            assert_eq!(
                (status, report["report"][0]["status"].clone()),
                (200, json!("ok"))
            );
        }
    });
    futures_util::future::join_all(rounds).await;
    let (_, list) = app.get("/status/list/online/by/d/heartbeats").await;
    assert_eq!(list["farmers"].as_array().unwrap().len(), farmers.len());
}

service_kit::backend_tests!(concurrency, concurrent_farmers);
