//! Redemption against misbehaving and vanishing issuers, and across restarts.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::{HttpResponse, web};
use ledger_sim::zkap::{ZkapSim, ZkapSimConfig};
use serde_json::Value;

use crate::helpers::{GROUPS, Options, TOKENS, TestApp, random_voucher, spawn_app_on, spawn_with};

/// Sits between the service and the issuer: records every request, forwards it, and for the
/// chosen counter swallows the issuer's answer, as if the client died after the issuer
/// committed.
#[derive(Default)]
struct Proxy {
    target: Mutex<String>,
    swallow_counter: Mutex<Option<u64>>,
    /// (counter, blinded tokens) of every request the issuer answered.
    forwarded: Mutex<Vec<(u64, Vec<String>)>>,
    /// (voucher, counter) of every request, in arrival order.
    arrived: Mutex<Vec<(String, u64)>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// Counts a request in flight at the proxy until dropped.
struct InFlight<'a>(&'a Proxy);

impl<'a> InFlight<'a> {
    fn new(proxy: &'a Proxy) -> Self {
        let now = proxy.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        proxy.max_in_flight.fetch_max(now, Ordering::SeqCst);
        Self(proxy)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn proxy_redeem(proxy: web::Data<Proxy>, body: web::Bytes) -> HttpResponse {
    let request: Value = serde_json::from_slice(&body).unwrap();
    let counter = request["redeemCounter"].as_u64().unwrap();
    let tokens: Vec<String> = serde_json::from_value(request["redeemTokens"].clone()).unwrap();
    let voucher = request["redeemVoucher"].as_str().unwrap().to_owned();
    proxy.arrived.lock().unwrap().push((voucher, counter));
    let _in_flight = InFlight::new(&proxy);
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
    serve(move || {
        actix_web::App::new()
            .app_data(proxy.clone())
            .app_data(web::PayloadConfig::new(16 * 1024 * 1024))
            .route("/v1/redeem", web::post().to(proxy_redeem))
    })
}

/// The service, with its issuer behind a [`Proxy`] in front of the simulator.
async fn spawn_behind_proxy(options: Options) -> (TestApp, web::Data<Proxy>) {
    let proxy = web::Data::new(Proxy::default());
    let app = spawn_with(Options {
        issuer_url: Some(start_proxy(proxy.clone())),
        ..options
    })
    .await;
    *proxy.target.lock().unwrap() = app.sim.url();
    (app, proxy)
}

/// A stand-in issuer on a free port; returns its URL.
fn serve<F, T>(app: F) -> String
where
    F: Fn() -> actix_web::App<T> + Send + Clone + 'static,
    T: actix_web::dev::ServiceFactory<
            actix_web::dev::ServiceRequest,
            Config = (),
            Response = actix_web::dev::ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        > + 'static,
{
    let server = actix_web::HttpServer::new(app)
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
    let (mut app, proxy) = spawn_behind_proxy(Options::default()).await;
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
    // Group 0 is stored while group 1 is at the issuer: wait for it (bounded).
    let mut status = app.voucher(&voucher).await;
    for _ in 0..500 {
        if status["state"]["counter"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        status = app.voucher(&voucher).await;
    }
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

/// The pipelined path: group 2 is at the issuer while group 1 is verified and stored and
/// group 3's tokens are persisted. A crash there resends group 2 as it was, sends group 3 once
/// with the tokens persisted before the crash, and stores every group exactly once.
#[actix_web::test]
async fn a_crash_with_groups_in_the_pipeline_redeems_each_group_once() {
    let (mut app, proxy) = spawn_behind_proxy(Options::default()).await;
    *proxy.swallow_counter.lock().unwrap() = Some(2);
    let voucher = random_voucher();
    app.sim.mark_paid(&voucher);
    app.put_voucher(&voucher).await;
    let mut status = app.voucher(&voucher).await;
    for _ in 0..1500 {
        let sent = proxy.forwarded.lock().unwrap().iter().any(|(c, _)| *c == 2);
        if sent && status["state"]["counter"] == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        status = app.voucher(&voucher).await;
    }
    assert_eq!(status["state"]["name"], "redeeming", "{status}");
    assert_eq!(status["state"]["counter"], 2, "groups 0 and 1 stored");
    // Group 3 was never sent, though its tokens may already be persisted.
    assert!(!proxy.forwarded.lock().unwrap().iter().any(|(c, _)| *c == 3));

    *proxy.swallow_counter.lock().unwrap() = None;
    app.restart().await;
    let status = app.wait_for_state(&voucher, "redeemed").await;
    assert_eq!(status["state"]["token-count"], TOKENS);
    assert_eq!(app.spendable().await, TOKENS, "no group stored twice");
    let mut by_counter: HashMap<u64, Vec<Vec<String>>> = HashMap::new();
    for (counter, tokens) in proxy.forwarded.lock().unwrap().clone() {
        by_counter.entry(counter).or_default().push(tokens);
    }
    assert_eq!(by_counter[&2].len(), 2);
    assert_eq!(
        by_counter[&2][0], by_counter[&2][1],
        "group 2 resent as it was"
    );
    for counter in [0, 1, 3] {
        assert_eq!(by_counter[&counter].len(), 1, "group {counter} sent once");
    }
}

/// Pipelining keeps one request per voucher in flight, in counter order, and the cap on
/// vouchers redeemed at once still holds.
#[actix_web::test]
async fn groups_go_out_in_order_one_at_a_time_under_the_cap() {
    let (app, proxy) = spawn_behind_proxy(Options {
        max_concurrent: Some(1),
        ..Options::default()
    })
    .await;
    app.sim.set_mode(ledger_sim::zkap::Mode::Slow(
        std::time::Duration::from_millis(30),
    ));
    let vouchers = [random_voucher(), random_voucher()];
    for voucher in &vouchers {
        app.sim.mark_paid(voucher);
        app.put_voucher(voucher).await;
    }
    for voucher in &vouchers {
        app.wait_for_state(voucher, "redeemed").await;
    }
    assert_eq!(app.spendable().await, 2 * TOKENS);
    assert_eq!(proxy.max_in_flight.load(Ordering::SeqCst), 1);
    let arrived = proxy.arrived.lock().unwrap().clone();
    for voucher in &vouchers {
        let counters: Vec<u64> = arrived
            .iter()
            .filter(|(v, _)| v == voucher)
            .map(|(_, c)| *c)
            .collect();
        assert_eq!(counters, (0..u64::from(GROUPS)).collect::<Vec<_>>());
    }
}

/// An issuer that always gives the same answer.
fn start_fixed_issuer(body: &'static str) -> String {
    serve(move || {
        actix_web::App::new().route(
            "/v1/redeem",
            web::post().to(move || async move {
                HttpResponse::BadRequest()
                    .content_type("application/json")
                    .body(body)
            }),
        )
    })
}

#[actix_web::test]
async fn issuer_refusals_keep_their_reason_in_the_error_details() {
    for (body, expected) in [
        (
            r#"{"success": false, "reason": "wrong number of tokens"}"#,
            vec![
                "wrong number of tokens",
                "sent 5 tokens for group 0 of 4",
                "default-token-count",
            ],
        ),
        (
            r#"{"success": false, "reason": "counter-out-of-bounds", "min": 0, "max": 16, "received": 0}"#,
            vec!["counter 0 outside 0..16", "num-redemption-groups is 4"],
        ),
        (
            r#"{"success": false, "reason": "fingerprint already used"}"#,
            vec!["issuer refused: these tokens were already used"],
        ),
        (
            r#"{"success": false, "reason": "a new kind of trouble"}"#,
            vec!["a new kind of trouble", "success"],
        ),
    ] {
        let app = spawn_with(Options {
            issuer_url: Some(start_fixed_issuer(body)),
            ..Options::default()
        })
        .await;
        let voucher = random_voucher();
        app.put_voucher(&voucher).await;
        let status = app.wait_for_state(&voucher, "error").await;
        let details = status["state"]["details"].as_str().unwrap();
        for part in expected {
            assert!(details.contains(part), "{body}: {details}");
        }
        assert!(!details.contains(&voucher), "{details}");
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
