//! `/challenge/<token>`: expiry, running out of challenges, unknown contracts, legacy route.

use serde_json::json;

use crate::helpers::*;

async fn expiry_and_exhaustion(url: String) {
    let app = spawn_app_with(url, |s| s.challenges = 2).await;
    let token = app.register(&Identity::new(51)).await;
    let (_, body) = app.get(&format!("/chunk/{token}/2000")).await;
    let mut held = Held::from_chunk(&body["chunks"][0]);
    let id = held.file_hash.clone();

    let (status, body) = app.get(&format!("/challenge/{token}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["challenges"][0]["challenge"]["index"], 0);
    let (_, legacy) = app.get(&format!("/challenge/{token}/{id}")).await;
    assert_eq!(legacy["challenge"], body["challenges"][0]["challenge"]);
    assert_eq!(legacy["answered"], false);

    // Unknown ids and ids of other tokens, echoed as sent.
    let other = app.register(&Identity::new(52)).await;
    let (_, body) = app
        .post(
            &format!("/challenge/{other}"),
            &json!({"hashes": [id, 999_999, "abc"]}),
        )
        .await;
    assert_eq!(
        body,
        json!({"challenges": [
            {"file_hash": id, "error": "contract not found"},
            {"file_hash": 999_999, "error": "contract not found"},
            {"file_hash": "abc", "error": "contract not found"},
        ]})
    );
    let (status, _) = app
        .post(&format!("/challenge/{token}"), &json!({"nohashes": 1}))
        .await;
    assert_eq!(status, 400);
    let (status, body) = app.get("/challenge/00112233445566778899aabbccddeeff").await;
    assert_eq!(
        (status, body["message"].clone()),
        (400, json!("Nonexistent token."))
    );

    // Answer challenge 0, take challenge 1, answer it: then the two are used up.
    let (_, report) = app
        .post(
            &format!("/answer/{token}"),
            &json!({"proofs": [held.proof_item()]}),
        )
        .await;
    assert_eq!(report["report"][0]["status"], "ok");
    app.travel(300_000).await;
    let (_, body) = app
        .post(&format!("/challenge/{token}"), &json!({"hashes": [id]}))
        .await;
    held.challenge = serde_json::from_value(body["challenges"][0]["challenge"].clone()).unwrap();
    assert_eq!(held.challenge.index, 1);
    let (_, report) = app
        .post(
            &format!("/answer/{token}"),
            &json!({"proofs": [held.proof_item()]}),
        )
        .await;
    assert_eq!(report["report"][0]["status"], "ok");
    app.travel(300_000).await;
    let (_, body) = app
        .post(&format!("/challenge/{token}"), &json!({"hashes": [id]}))
        .await;
    assert_eq!(
        body,
        json!({"challenges": [{"file_hash": id, "status": "no more challenges"}]})
    );
    let (_, legacy) = app.get(&format!("/challenge/{token}/{id}")).await;
    assert_eq!(legacy, json!({"status": "no more challenges"}));

    // A contract not answered by its due time expires.
    let (_, body) = app.get(&format!("/chunk/{other}/2000")).await;
    let late = Held::from_chunk(&body["chunks"][0]);
    app.travel(300_000).await;
    let (_, body) = app
        .post(
            &format!("/challenge/{other}"),
            &json!({"hashes": [late.file_hash]}),
        )
        .await;
    assert_eq!(
        body,
        json!({"challenges": [{"file_hash": late.file_hash, "error": "contract expired"}]})
    );
    let (_, report) = app
        .post(
            &format!("/answer/{other}"),
            &json!({"proofs": [late.proof_item()]}),
        )
        .await;
    assert_eq!(
        report["report"][0]["error"],
        "Answer failed: contract expired."
    );
    let (status, legacy) = app
        .get(&format!("/challenge/{other}/{}", late.file_hash))
        .await;
    assert_eq!(
        (status, legacy["message"].clone()),
        (400, json!("contract expired"))
    );

    // After the sweep the expired contract no longer counts as online.
    app.sweep().await;
    let id = downstream_node::domain::FarmerToken::parse(&other)
        .unwrap()
        .farmer_id();
    let (_, shown) = app.get(&format!("/status/show/{}", id.as_str())).await;
    assert_eq!(
        (shown["online"].clone(), shown["contracts"].clone()),
        (json!(false), json!(0))
    );
}

service_kit::backend_tests!(challenge_schedule, expiry_and_exhaustion);
