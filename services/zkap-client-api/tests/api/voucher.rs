use ledger_sim::zkap::Mode;
use serde_json::{Value, json};

use crate::helpers::{Options, TOKENS, random_voucher, spawn_app, spawn_with};

#[actix_web::test]
async fn gridsyncs_flow_redeems_a_voucher() {
    let app = spawn_app().await;
    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    let response = app.put_voucher(&voucher).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "");

    let status = app.voucher(&voucher).await;
    assert_eq!(status["number"], voucher.as_str());
    assert_eq!(status["expected-tokens"], TOKENS);
    assert_eq!(status["version"], 1);
    assert!(status["created"].as_str().unwrap().ends_with("+00:00"));

    let status = app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(status["state"]["token-count"], TOKENS);
    let finished = status["state"]["finished"].as_str().unwrap();
    assert!(
        finished.ends_with("+00:00") && finished.len() == 32,
        "{finished}"
    );

    let list: Value = app
        .get("voucher")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let vouchers = list["vouchers"].as_array().unwrap();
    assert_eq!(vouchers.len(), 1);
    assert_eq!(vouchers[0], status);
    assert_eq!(app.spendable().await, TOKENS);

    // PUT again is a no-op.
    assert_eq!(app.put_voucher(&voucher).await.status(), 200);
    assert_eq!(app.voucher(&voucher).await, status);
    assert_eq!(app.spendable().await, TOKENS);
}

#[actix_web::test]
async fn a_new_voucher_reads_redeeming_at_counter_zero_before_the_answer() {
    let app = spawn_app().await;
    app.sim
        .set_mode(Mode::Slow(std::time::Duration::from_millis(500)));
    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    assert_eq!(app.put_voucher(&voucher).await.status(), 200);
    let status = app.voucher(&voucher).await;
    assert_eq!(status["state"]["name"], "redeeming");
    assert_eq!(status["state"]["counter"], 0);
    assert!(status["state"]["started"].is_string());
    app.sim.set_mode(Mode::Normal);
    app.wait_for_state(&voucher, "redeemed").await;
}

#[actix_web::test]
async fn a_voucher_waiting_for_a_slot_is_pending() {
    let app = spawn_with(Options {
        max_concurrent: Some(1),
        ..Options::default()
    })
    .await;
    app.sim
        .set_mode(Mode::Slow(std::time::Duration::from_millis(500)));
    let (first, second) = (random_voucher(), random_voucher());
    for voucher in [&first, &second] {
        app.sim.mark_paid(voucher);
        assert_eq!(app.put_voucher(voucher).await.status(), 200);
    }
    let status = app.voucher(&second).await;
    assert_eq!(status["state"], json!({"name": "pending", "counter": 0}));
    app.sim.set_mode(Mode::Normal);
    app.wait_for_state(&first, "redeemed").await;
    app.wait_for_state(&second, "redeemed").await;
    assert_eq!(app.spendable().await, 2 * TOKENS);
}

#[actix_web::test]
async fn malformed_puts_are_400_with_a_reason() {
    let app = spawn_app().await;
    let good = random_voucher();
    for (body, reason) in [
        ("".to_owned(), "json request body required"),
        ("{".to_owned(), "json request body required"),
        ("[]".to_owned(), "request body must be a JSON object"),
        (
            "{}".to_owned(),
            "request object must have exactly one key: 'voucher'",
        ),
        (
            json!({"voucher": good, "x": 1}).to_string(),
            "request object must have exactly one key: 'voucher'",
        ),
        (
            json!({"vouchers": good}).to_string(),
            "request object must have exactly one key: 'voucher'",
        ),
        (
            json!({"voucher": 5}).to_string(),
            "submitted voucher is syntactically invalid",
        ),
        (
            json!({"voucher": &good[..43]}).to_string(),
            "submitted voucher is syntactically invalid",
        ),
        (
            json!({"voucher": format!("{}+", &good[..43])}).to_string(),
            "submitted voucher is syntactically invalid",
        ),
    ] {
        let response = app
            .client
            .put(app.url("voucher"))
            .header("authorization", app.auth())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error, json!({"error": reason}), "{body}");
    }
    let list: Value = app
        .get("voucher")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list, json!({"vouchers": []}));
}

#[actix_web::test]
async fn getting_a_voucher_checks_syntax_then_existence() {
    let app = spawn_app().await;
    let response = app.get("voucher/not-a-voucher").send().await.unwrap();
    assert_eq!(response.status(), 400);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "submitted voucher is syntactically invalid");
    let response = app
        .get(&format!("voucher/{}", random_voucher()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let error: Value = response.json().await.unwrap();
    assert_eq!(error["error"], "unknown voucher");
}

#[actix_web::test]
async fn a_double_spent_voucher_is_final() {
    let app = spawn_app().await;
    app.sim.set_mode(Mode::DoubleSpend);
    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    app.put_voucher(&voucher).await;
    let status = app.wait_for_state(&voucher, "double-spend").await;
    assert!(status["state"]["finished"].is_string());
    app.sim.set_mode(Mode::Normal);
    assert_eq!(app.put_voucher(&voucher).await.status(), 200);
    assert_eq!(app.voucher(&voucher).await["state"]["name"], "double-spend");
    assert_eq!(app.spendable().await, 0);
}

#[actix_web::test]
async fn an_unpaid_voucher_is_retried_until_paid() {
    let app = spawn_app().await;
    let voucher = random_voucher();
    app.put_voucher(&voucher).await;
    let status = app.wait_for_state(&voucher, "unpaid").await;
    assert!(status["state"]["finished"].is_string());
    assert!(status["state"]["next-retry"].is_string());
    assert!(status["state"]["attempts"].as_u64().unwrap() >= 1);
    app.sim.mark_paid(&voucher);
    let status = app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(status["state"]["token-count"], TOKENS);
}

#[actix_web::test]
async fn garbage_from_the_issuer_is_an_error_that_is_retried() {
    let app = spawn_app().await;
    app.sim.set_mode(Mode::Garbage);
    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    app.put_voucher(&voucher).await;
    let status = app.wait_for_state(&voucher, "error").await;
    let details = status["state"]["details"].as_str().unwrap();
    assert!(details.contains("500"), "{details}");
    assert!(!details.contains(&voucher), "{details}");
    // The original never retried error-state vouchers; this one does.
    app.sim.set_mode(Mode::Normal);
    app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(app.spendable().await, TOKENS);
}

#[actix_web::test]
async fn proof_failures_are_errors_and_store_no_tokens() {
    for (mode, detail) in [
        (Mode::WrongCount, "signatures for"),
        (Mode::BadProof, "proof does not verify"),
    ] {
        let app = spawn_app().await;
        app.sim.set_mode(mode);
        let voucher = random_voucher();
        app.sim.mark_paid(&voucher);
        app.put_voucher(&voucher).await;
        let status = app.wait_for_state(&voucher, "error").await;
        let details = status["state"]["details"].as_str().unwrap();
        assert!(details.contains(detail), "{mode:?}: {details}");
        assert_eq!(status["state"]["counter"], 0);
        assert_eq!(app.spendable().await, 0, "{mode:?}");
        // Fixed issuer: the retry resends the same tokens, which it signs again.
        app.sim.set_mode(Mode::Normal);
        app.wait_for_state(&voucher, "redeemed").await;
        assert_eq!(app.spendable().await, TOKENS);
    }
}

#[actix_web::test]
async fn tokens_from_an_unknown_key_are_sequestered() {
    let app = spawn_with(Options {
        allowed_keys: Some(vec![
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned(),
        ]),
        ..Options::default()
    })
    .await;
    let voucher = app.redeemed_voucher().await;
    let status = app.voucher(&voucher).await;
    assert_eq!(status["state"]["token-count"], 0);
    assert_eq!(app.spendable().await, 0);
    let response = app
        .post("passes", &json!({"message": "add_lease x", "count": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
}
