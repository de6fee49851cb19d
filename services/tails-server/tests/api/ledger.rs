//! Ledger failures are 503/504 quickly, never 500; several ledgers are told apart by genesis.

use std::time::{Duration, Instant};

use ledger_sim::indy::{IndySim, rev_reg_def_json};
use tails_server::settings::LedgerSettings;

use crate::helpers::*;

#[actix_web::test]
async fn ledger_errors_are_503() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("down", 5, &tails);
    for status in [500, 503, 409] {
        app.sim.set_failure(Some(status));
        let (got, body) = answer(app.upload(&id, &tails).await).await;
        assert_eq!(got, 503, "ledger {status}: {body}");
        assert!(body.contains("unavailable"), "{body}");
        assert!(!body.contains("127.0.0.1"), "{body}");
    }
    app.sim.set_failure(Some(504));
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 504);
    app.sim.set_failure(None);
    assert_eq!(answer(app.upload(&id, &tails).await).await.0, 200);
}

#[actix_web::test]
async fn slow_ledger_is_504_within_the_timeout() {
    let app = spawn_app_with(|s| s.ledger_timeout_ms = 300).await;
    let tails = tails_file(5);
    let id = app.register("slow", 5, &tails);
    app.sim.set_delay(Duration::from_secs(5));
    let started = Instant::now();
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(status, 504, "{body}");
    assert!(started.elapsed() < Duration::from_secs(3));
    assert!(app.stored_files().is_empty());
}

#[actix_web::test]
async fn unreachable_ledger_is_503() {
    let app = spawn_app().await;
    let tails = tails_file(5);
    let id = app.register("gone", 5, &tails);
    app.sim.stop().await;
    let (status, body) = answer(app.upload(&id, &tails).await).await;
    assert_eq!(status, 503, "{body}");
}

#[actix_web::test]
async fn genesis_selects_among_several_ledgers() {
    let dir = tempfile::tempdir().unwrap();
    let alpha = IndySim::start("127.0.0.1:0", genesis("Alpha")).unwrap();
    let beta = IndySim::start("127.0.0.1:0", genesis("Beta")).unwrap();
    let alpha_file = dir.path().join("alpha.txn");
    std::fs::write(&alpha_file, genesis("Alpha")).unwrap();
    let storage = dir.path().join("tails");
    let (url, _handle) = start_server(&storage, &alpha.url(), |s| {
        s.genesis_file = Some(alpha_file.clone());
        // No genesis file: the server asks the proxy for it.
        s.ledgers = vec![LedgerSettings {
            name: "beta".to_owned(),
            indy_vdr_proxy_url: beta.url(),
            genesis_file: None,
        }];
    })
    .await;
    let client = client();
    let tails = tails_file(5);
    let id = rev_reg_id("beta-only");
    beta.publish(rev_reg_def_json(
        &id,
        &cred_def_id(),
        5,
        &tails_hash(&tails),
        "x",
    ))
    .unwrap();
    let put = |genesis: String| {
        let client = client.clone();
        let url = format!("{url}/{}", quote(&id));
        let tails = tails.clone();
        async move {
            answer(
                put_multipart(&client, &url, &[genesis_part(&genesis), tails_part(&tails)]).await,
            )
            .await
        }
    };
    assert_eq!(put(genesis("Gamma")).await.0, 400);
    assert_eq!(put(genesis("Alpha")).await.0, 404);
    // Same transactions, other formatting.
    let reformatted = format!(
        "\n{}\n",
        genesis("Beta")
            .lines()
            .rev()
            .collect::<Vec<_>>()
            .join("\n\n")
    );
    assert_eq!(put(reformatted).await, (200, tails_hash(&tails)));
}
