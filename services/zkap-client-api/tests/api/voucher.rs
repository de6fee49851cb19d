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
        assert_eq!(error["error"], reason, "{body}");
        // Additive: what exactly was wrong, never the submitted voucher itself.
        let details = error["details"].as_str().unwrap();
        assert!(
            !details.is_empty() && !details.contains(&good[..40]),
            "{error}"
        );
        assert_eq!(error.as_object().unwrap().len(), 2, "{error}");
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
    assert!(error["details"].as_str().unwrap().contains("PUT voucher"));
}

#[actix_web::test]
async fn voucher_errors_say_what_was_wrong_in_details() {
    let app = spawn_app().await;
    let good = random_voucher();
    for (path, details) in [
        ("voucher/not-a-voucher".to_owned(), "got 13 characters"),
        (
            format!("voucher/{}.", &good[..43]),
            "character 44 is not in the URL-safe base64 alphabet",
        ),
    ] {
        let response = app.get(&path).send().await.unwrap();
        assert_eq!(response.status(), 400, "{path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "submitted voucher is syntactically invalid");
        assert!(
            error["details"].as_str().unwrap().ends_with(details),
            "{path}: {error}"
        );
    }
    for (body, details) in [
        (
            json!({"voucher": 5}),
            "'voucher' must be a string, got a number",
        ),
        (json!({"voucher": &good[..43]}), "got 43 characters"),
        (json!([1]), "got an array"),
        (json!({"a": 1, "b": 2}), "got 2 keys"),
    ] {
        let response = app
            .client
            .put(app.url("voucher"))
            .header("authorization", app.auth())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
        let error: Value = response.json().await.unwrap();
        assert!(
            error["details"].as_str().unwrap().ends_with(details),
            "{body}: {error}"
        );
    }
}

async fn list(app: &crate::helpers::TestApp, query: &str) -> (u16, Value) {
    let response = app.get(&format!("voucher{query}")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

fn numbers(page: &Value) -> Vec<String> {
    page["vouchers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["number"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_voucher_list_pages_with_limit_and_cursor() {
    let app = spawn_app().await;
    let mut added = Vec::new();
    for _ in 0..5 {
        let voucher = app.redeemed_voucher().await;
        added.push(voucher);
    }
    // No parameters: GridSync's answer, unchanged.
    let (status, all) = list(&app, "").await;
    assert_eq!(status, 200);
    assert_eq!(all.as_object().unwrap().len(), 1, "{all}");
    assert_eq!(numbers(&all), added, "oldest first");

    let mut seen = Vec::new();
    let mut query = "?limit=2".to_owned();
    let mut pages = 0;
    loop {
        let (status, page) = list(&app, &query).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        let batch = page["vouchers"].as_array().unwrap();
        assert!(batch.len() <= 2);
        // Same status objects as the full list.
        for status in batch {
            assert!(all["vouchers"].as_array().unwrap().contains(status));
        }
        seen.extend(numbers(&page));
        match page["next-cursor"].as_str() {
            Some(cursor) => {
                assert!(!cursor.contains(&added[0]), "opaque");
                query = format!("?limit=2&cursor={cursor}");
            }
            None => {
                assert!(page["next-cursor"].is_null(), "{page}");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, added, "every voucher once, in list order");

    // Deterministic: the same cursor gives the same page.
    let (_, first) = list(&app, "?limit=3").await;
    let cursor = first["next-cursor"].as_str().unwrap();
    let (_, again) = list(&app, &format!("?cursor={cursor}&limit=3")).await;
    let (_, twice) = list(&app, &format!("?cursor={cursor}&limit=3")).await;
    assert_eq!(again, twice);
    assert_eq!(numbers(&again), &added[3..]);
    // A cursor alone uses the default page size.
    let (_, rest) = list(&app, &format!("?cursor={cursor}")).await;
    assert_eq!(numbers(&rest), &added[3..]);
    let (_, whole) = list(&app, "?limit=1000").await;
    assert_eq!(numbers(&whole), added);
    assert!(whole["next-cursor"].is_null());
}

#[actix_web::test]
async fn bad_page_parameters_are_400_with_details() {
    let app = spawn_app().await;
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        "v1:1:not-a-voucher",
    );
    for (query, error) in [
        ("?limit=0", "invalid limit"),
        ("?limit=-1", "invalid limit"),
        ("?limit=1001", "invalid limit"),
        ("?limit=ten", "invalid limit"),
        ("?limit=", "invalid limit"),
        ("?limit=1&limit=2", "invalid limit"),
        ("?cursor=%%%", "invalid cursor"),
        ("?cursor=bm9wZQ", "invalid cursor"),
        (&format!("?limit=2&cursor={forged}"), "invalid cursor"),
    ] {
        let response = app.get(&format!("voucher{query}")).send().await.unwrap();
        assert_eq!(response.status(), 400, "{query}");
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{query}"
        );
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], error, "{query}: {body}");
        assert!(
            body["details"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
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

#[actix_web::test]
async fn an_oversized_body_is_a_json_413() {
    let app = spawn_app().await;
    let response = app
        .client
        .put(app.url("voucher"))
        .header("authorization", app.auth())
        .header("content-type", "application/json")
        .body(vec![b' '; 2 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "request body is too large");
}
