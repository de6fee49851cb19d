//! /query: python-rein's searches, with block_info from the ledger (or null without one).

use serde_json::json;

use crate::helpers::*;

const ENROLLMENT: &str = "-----BEGIN BITCOIN SIGNED MESSAGE-----\nRein User Enrollment\nUser: Alice Smith\nContact: alice@example.com\nMaster signing address: 1AliceMaster\nDelegate signing address: 1AliceDelegate\nWilling to mediate: True\nSecure Identity Number: SIN123\n-----END";
const JOB: &str = "-----BEGIN\nRein Job\nJob ID: j100\nJob creator public key: 02abc\n-----END";
const BID: &str = "-----BEGIN\nRein Bid\nJob ID: j100\nWorker public key: 03def\n-----END";
const OFFER: &str = "-----BEGIN\nRein Offer\nJob ID: j100\nMediator public key: 04aaa\n-----END";
const RATING: &str = "-----BEGIN\nRein Rating\nUser msin: SIN123\nRater msin: SIN999\n-----END";
const WILDCARD: &str = "-----BEGIN\nRein Job\nJob ID: j1%0\n-----END";

async fn seeded(app: &TestApp) -> User {
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    for doc in [ENROLLMENT, JOB, BID, OFFER, RATING, WILDCARD] {
        assert_eq!(app.put(&user, &random_key(), doc, &nonce).await.0, 201);
    }
    user
}

async fn query(app: &TestApp, user: &User, params: &[(&str, &str)]) -> serde_json::Value {
    let owner = user.master.to_string();
    let mut all = vec![("owner", owner.as_str()), ("testnet", "False")];
    all.extend_from_slice(params);
    let (status, body) = app.get("/query", &all).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[actix_web::test]
async fn sub_queries() {
    let app = spawn_sqlite().await;
    app.sim.mine(30);
    let user = seeded(&app).await;

    let body = query(&app, &user, &[("query", "mediators")]).await;
    assert_eq!(body["mediators"], json!([ENROLLMENT]));
    assert_eq!(body["block_info"]["height"], 18);
    assert_eq!(
        query(&app, &user, &[("query", "jobs")]).await["jobs"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        query(&app, &user, &[("query", "bids")]).await["bids"],
        json!([BID])
    );
    let body = query(&app, &user, &[("query", "in-process"), ("worker", "03DEF")]).await;
    assert_eq!(body["in-process"], json!([BID]), "ILIKE ignores case");
    let body = query(&app, &user, &[("query", "review"), ("mediator", "04aaa")]).await;
    assert_eq!(body["review"], json!([OFFER]));
    let body = query(&app, &user, &[("query", "by_job_id"), ("job_ids", "j100")]).await;
    assert_eq!(body["by_job_id"].as_array().unwrap().len(), 3);
    // `%` in user input matches only itself.
    let body = query(&app, &user, &[("query", "by_job_id"), ("job_ids", "j1%")]).await;
    assert_eq!(body["by_job_id"], json!([]));
    let body = query(&app, &user, &[("query", "by_job_id"), ("job_ids", "j1%0")]).await;
    assert_eq!(body["by_job_id"], json!([WILDCARD]));
    let body = query(&app, &user, &[("query", "dispute"), ("job_ids", "j100")]).await;
    assert_eq!(body["dispute"], json!([OFFER]));

    let body = query(
        &app,
        &user,
        &[("query", "get_user_ratings"), ("dest", "SIN123")],
    )
    .await;
    assert_eq!(body["get_user_ratings"][0]["value"], RATING);
    assert!(body["get_user_ratings"][0]["key"].is_string());
    let body = query(&app, &user, &[("query", "get_user_ratings")]).await;
    assert_eq!(body["get_user_ratings"], json!(["error"]));
    let body = query(
        &app,
        &user,
        &[("query", "get_user_name"), ("msin", "SIN123")],
    )
    .await;
    assert_eq!(body["get_user_name"][0]["value"], ENROLLMENT);
    for input in [
        "SIN123",
        "1AliceMaster",
        "1AliceDelegate",
        "alice smith",
        "ALICE@example",
    ] {
        let body = query(
            &app,
            &user,
            &[("query", "get_user"), ("search_input", input)],
        )
        .await;
        assert_eq!(body["get_user"], json!([ENROLLMENT]), "{input}");
    }
    let body = query(&app, &user, &[("query", "nonsense")]).await;
    assert_eq!(body["nonsense"], json!([]));
    // A sub-query named after an envelope key would overwrite it: refused.
    for reserved in ["block_info", "result", "status"] {
        let (status, body) = app
            .get(
                "/query",
                &[("owner", &user.master.to_string()), ("query", reserved)],
            )
            .await;
        assert_eq!(status, 400, "{reserved}: {body}");
        assert_eq!(
            body["error"],
            format!("Invalid query: {reserved:?} is a reserved name")
        );
        assert!(body["status"].as_str().unwrap().starts_with("error: "));
    }
    let (status, _) = app
        .get(
            "/query",
            &[("owner", &user.master.to_string()), ("query", "in-process")],
        )
        .await;
    assert_eq!(status, 400);

    // Documents are filtered by network.
    let body = app
        .get(
            "/query",
            &[
                ("owner", &user.master.to_string()),
                ("query", "jobs"),
                ("testnet", "True"),
            ],
        )
        .await
        .1;
    assert_eq!(body["jobs"], json!([]));
}

#[actix_web::test]
async fn query_needs_an_account_and_block_info_may_be_null() {
    let app = spawn_sqlite_with(|s| s.bitcoind_url = None).await;
    let stranger = User::new();
    let (status, body) = app
        .get(
            "/query",
            &[("owner", &stranger.master.to_string()), ("query", "jobs")],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["result"], "error");
    assert_eq!(body["message"], "Account required to make queries");

    let user = seeded(&app).await;
    let body = query(&app, &user, &[("query", "jobs")]).await;
    assert!(body["block_info"].is_null());
    assert!(body.as_object().unwrap().contains_key("block_info"));
}
