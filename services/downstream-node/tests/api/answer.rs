//! `/answer/<token>`: wrong, corrupted and misdirected proofs, odd bodies, legacy route.

use serde_json::json;

use crate::helpers::*;

async fn bad_answers(url: String) {
    let app = spawn_app(url).await;
    let token = app.register(&Identity::new(61)).await;
    let (_, body) = app.get(&format!("/chunk/{token}/4096")).await;
    let held = Held::from_chunk(&body["chunks"][0]);
    let id = held.file_hash.clone();

    let mut wrong = held.prove();
    wrong.leaf.blob[0] ^= 1;
    let mut swapped = held.prove();
    swapped.branch.rows[0].swap(0, 1);
    let body = json!({"proofs": [
        {"file_hash": id, "proof": wrong},
        {"file_hash": id, "proof": swapped},
        {"file_hash": id, "proof": {"leaf": "nonsense"}},
        {"file_hash": 424_242, "proof": held.prove()},
        {"proof": held.prove()},
    ]});
    let (status, report) = app.post(&format!("/answer/{token}"), &body).await;
    assert_eq!(status, 200);
    assert_eq!(
        report,
        json!({"report": [
            {"file_hash": id, "error": "Invalid proof"},
            {"file_hash": id, "error": "Invalid proof"},
            {"file_hash": id, "error": "Proof corrupted"},
            {"file_hash": 424_242, "error": "contract not found"},
            {"file_hash": null, "error": "contract not found"},
        ]})
    );

    // Invalid answers may be retried until the due time; duplicates in one batch are reported.
    let body = json!({"proofs": [held.proof_item(), held.proof_item()]});
    let (_, report) = app.post(&format!("/answer/{token}"), &body).await;
    assert_eq!(
        report,
        json!({"report": [
            {"file_hash": id, "status": "ok"},
            {"file_hash": id, "error": "Challenge already answered."},
        ]})
    );

    // The original answers a body it cannot parse with an empty report.
    let (status, report) = app
        .post_raw(&format!("/answer/{token}"), b"{not json".to_vec(), true)
        .await;
    assert_eq!((status, report), (200, json!({"report": []})));
    let (status, body) = app
        .post(
            "/answer/00112233445566778899aabbccddeeff",
            &json!({"proofs": []}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"status": "error", "message": "Nonexistent token."})
        )
    );

    // A broken gzip stream is a 400, not a 500.
    let mut broken = gzip(b"{\"proofs\": []}");
    broken.truncate(12);
    let (status, body) = app
        .post_raw(&format!("/answer/{token}"), broken, true)
        .await;
    assert_eq!(status, 400, "{body}");
}

service_kit::backend_tests!(answer_errors, bad_answers);

async fn legacy_single_answer(url: String) {
    let app = spawn_app(url).await;
    let token = app.register(&Identity::new(62)).await;
    let (_, body) = app.get(&format!("/chunk/{token}/3000")).await;
    let held = Held::from_chunk(&body["chunks"][0]);
    let path = format!("/answer/{token}/{}", held.file_hash);
    let mut wrong = held.prove();
    wrong.leaf.blob[0] ^= 1;
    assert_eq!(
        app.post(&path, &json!({"proof": wrong})).await.1["message"],
        "Invalid proof."
    );
    assert_eq!(
        app.post(&path, &json!({"no": 1})).await.1["message"],
        "Proof corrupted."
    );
    assert_eq!(
        app.post(&path, &json!({"proof": held.prove()})).await,
        (200, json!({"status": "ok"}))
    );
}

service_kit::backend_tests!(answer_legacy, legacy_single_answer);

/// Proofs for several contracts of one token answered at the same time: each accepted proof
/// counts once (the token row is locked before its counters are written back).
async fn concurrent_answers_all_count(url: String) {
    let app = spawn_app_with(url, |s| s.max_chunk_size = 1_000).await;
    let token = app.register(&Identity::new(63)).await;
    let (_, body) = app.get(&format!("/chunk/{token}/8000")).await;
    let held: Vec<Held> = body["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(Held::from_chunk)
        .collect();
    assert_eq!(held.len(), 8);
    let app = &app;
    let answers = held.iter().map(|contract| {
        let path = format!("/answer/{token}/{}", contract.file_hash);
        let body = json!({"proof": contract.prove()});
        async move { app.post(&path, &body).await }
    });
    for answer in futures_util::future::join_all(answers).await {
        assert_eq!(answer, (200, json!({"status": "ok"})));
    }
    let id = downstream_node::domain::FarmerToken::parse(&token)
        .unwrap()
        .farmer_id();
    let (_, shown) = app.get(&format!("/status/show/{}", id.as_str())).await;
    assert_eq!(shown["heartbeats"], 8);
}

service_kit::backend_tests!(answer_concurrent, concurrent_answers_all_count);
