//! Redemption against misbehaving and vanishing issuers, and across restarts.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;

use actix_web::{HttpResponse, web};
use ledger_sim::zkap::{ZkapSim, ZkapSimConfig};
use serde_json::Value;

use crate::helpers::{GROUPS, Options, TOKENS, random_voucher, spawn_app_on, spawn_with};

/// Sits between the service and the issuer: records every request, forwards it, and for the
/// chosen counter swallows the issuer's answer, as if the client died after the issuer
/// committed.
#[derive(Default)]
struct Proxy {
    target: Mutex<String>,
    swallow_counter: Mutex<Option<u64>>,
    /// (counter, blinded tokens) of every request the issuer answered.
    forwarded: Mutex<Vec<(u64, Vec<String>)>>,
}

async fn proxy_redeem(proxy: web::Data<Proxy>, body: web::Bytes) -> HttpResponse {
    let request: Value = serde_json::from_slice(&body).unwrap();
    let counter = request["redeemCounter"].as_u64().unwrap();
    let tokens: Vec<String> = serde_json::from_value(request["redeemTokens"].clone()).unwrap();
    let target = proxy.target.lock().unwrap().clone();
    let answer = reqwest::Client::new()
        .post(format!("{target}/v1/redeem"))
        .header("content-type", "application/json")
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    proxy.forwarded.lock().unwrap().push((counter, tokens));
    if *proxy.swallow_counter.lock().unwrap() == Some(counter) {
        std::future::pending::<()>().await;
    }
    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
        .content_type("application/json")
        .body(text)
}

fn start_proxy(proxy: web::Data<Proxy>) -> String {
    let server = actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(proxy.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/redeem", web::post().to(proxy_redeem))
    })
    .workers(1)
    .disable_signals()
    .bind("127.0.0.1:0")
    .unwrap();
    let url = format!("http://{}", server.addrs()[0]);
    tokio::spawn(server.run());
    url
}

#[actix_web::test]
async fn a_crash_after_the_issuer_signed_resends_the_same_tokens() {
    let proxy = web::Data::new(Proxy::default());
    let proxy_url = start_proxy(proxy.clone());
    let mut app = spawn_with(Options {
        issuer_url: Some(proxy_url),
        ..Options::default()
    })
    .await;
    *proxy.target.lock().unwrap() = app.sim.url();
    *proxy.swallow_counter.lock().unwrap() = Some(1);

    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    app.put_voucher(&voucher).await;
    // Bounded wait until the issuer has signed group 1 and the answer is being withheld.
    let mut signed = false;
    for _ in 0..1500 {
        signed = proxy.forwarded.lock().unwrap().iter().any(|(c, _)| *c == 1);
        if signed {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(signed, "the issuer never saw group 1");
    let status = app.voucher(&voucher).await;
    assert_eq!(status["state"]["name"], "redeeming");
    assert_eq!(status["state"]["counter"], 1);

    *proxy.swallow_counter.lock().unwrap() = None;
    app.restart().await;
    let status = app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(status["state"]["token-count"], TOKENS);
    assert_eq!(app.spendable().await, TOKENS);

    let forwarded = proxy.forwarded.lock().unwrap().clone();
    let mut by_counter: HashMap<u64, Vec<Vec<String>>> = HashMap::new();
    for (counter, tokens) in forwarded {
        by_counter.entry(counter).or_default().push(tokens);
    }
    assert_eq!(by_counter.len(), GROUPS as usize);
    assert_eq!(
        by_counter[&1].len(),
        2,
        "group 1 was sent again after the restart"
    );
    assert_eq!(
        by_counter[&1][0], by_counter[&1][1],
        "with the same blinded tokens"
    );
    for counter in [0, 2, 3] {
        assert_eq!(by_counter[&counter].len(), 1, "group {counter} sent once");
    }
}

#[actix_web::test]
async fn an_issuer_that_is_down_then_up_eventually_redeems() {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let app = spawn_with(Options {
        issuer_url: Some(format!("http://127.0.0.1:{port}")),
        ..Options::default()
    })
    .await;
    let voucher = random_voucher();
    app.put_voucher(&voucher).await;
    let status = app.wait_for_state(&voucher, "error").await;
    assert!(
        status["state"]["details"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{status}"
    );
    let issuer = ZkapSim::start(
        &format!("127.0.0.1:{port}"),
        ZkapSimConfig {
            tokens_per_voucher: TOKENS,
            groups: GROUPS,
            signing_key: Some(app.signing_key.to_bytes()),
        },
    )
    .unwrap();
    issuer.mark_paid(&voucher);
    let status = app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(status["state"]["token-count"], TOKENS);
    issuer.stop().await;
}

#[actix_web::test]
async fn unpaid_vouchers_keep_their_state_and_retry_after_a_restart() {
    let mut app = spawn_with(Options::default()).await;
    let voucher = random_voucher();
    app.put_voucher(&voucher).await;
    let before = app.wait_for_state(&voucher, "unpaid").await;
    let attempts = before["state"]["attempts"].as_u64().unwrap();
    app.restart().await;
    // The persisted attempt count carries on growing in the new process.
    let mut resumed = false;
    for _ in 0..1500 {
        let status = app.voucher(&voucher).await;
        if status["state"]["name"] == "unpaid"
            && status["state"]["attempts"].as_u64().unwrap() > attempts + 1
        {
            resumed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(resumed, "no retries after the restart");
    app.sim.mark_paid(&voucher);
    app.wait_for_state(&voucher, "redeemed").await;
}

/// The whole cycle on each backend: redeem, store, spend.
async fn redeem_and_spend(database_url: String) {
    let app = spawn_app_on(database_url).await;
    app.redeemed_voucher().await;
    assert_eq!(app.spendable().await, TOKENS);
    let response = app
        .post(
            "passes",
            &serde_json::json!({"message": "add_lease aGk=", "count": TOKENS}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    for pass in body["passes"].as_array().unwrap() {
        assert!(app.server_accepts(pass.as_str().unwrap(), "add_lease aGk="));
    }
    assert_eq!(app.spendable().await, 0);
}

service_kit::backend_tests!(full_cycle, redeem_and_spend);
