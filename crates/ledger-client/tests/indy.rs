//! Runs against the in-process simulator; helpers outside `#[test]` fns unwrap freely too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ledger_client::indy::IndyVdrProxy;
use ledger_client::{LedgerError, Timeouts, http_client};
use ledger_sim::indy::{IndySim, rev_reg_def_json};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const REV_REG_ID: &str = "WgWxqztrNooG92RXvxSTWv:4:WgWxqztrNooG92RXvxSTWv:3:CL:20:tag:CL_ACCUM:0";
const CRED_DEF_ID: &str = "WgWxqztrNooG92RXvxSTWv:3:CL:20:tag";
const TAILS_HASH: &str = "4Bn2YiL3rKxrBULTNH1JDoJwvEaQhxCVU9QHWoNaP3qq";
const GENESIS: &str = "{\"reqSignature\":{},\"txn\":{\"data\":{\"data\":{\"alias\":\"Node1\"}}}}\n";

fn sim() -> IndySim {
    IndySim::start("127.0.0.1:0", GENESIS.to_owned()).unwrap()
}

fn proxy(sim: &IndySim) -> IndyVdrProxy {
    IndyVdrProxy::new(http_client(Timeouts::default()).unwrap(), &sim.url()).unwrap()
}

fn publish_default(sim: &IndySim) {
    sim.publish(rev_reg_def_json(
        REV_REG_ID,
        CRED_DEF_ID,
        100,
        TAILS_HASH,
        "https://tails.example/rev",
    ))
    .unwrap();
}

#[tokio::test]
async fn published_definition_is_typed() {
    let sim = sim();
    publish_default(&sim);
    let def = proxy(&sim).rev_reg_def(REV_REG_ID).await.unwrap();
    assert_eq!(def.id, REV_REG_ID);
    assert_eq!(def.cred_def_id, CRED_DEF_ID);
    assert_eq!(def.revoc_def_type, "CL_ACCUM");
    assert_eq!(def.tag, "0");
    assert_eq!(def.ver, "1.0");
    assert_eq!(def.value.issuance_type, "ISSUANCE_BY_DEFAULT");
    assert_eq!(def.value.max_cred_num, Some(100));
    assert_eq!(def.value.tails_hash, TAILS_HASH);
    assert_eq!(def.value.tails_location, "https://tails.example/rev");
    assert!(def.value.public_keys["accumKey"]["z"].is_string());
    sim.stop().await;
}

#[tokio::test]
async fn numeric_string_max_cred_num_and_missing_ver_are_accepted() {
    let sim = sim();
    let mut def = rev_reg_def_json(REV_REG_ID, CRED_DEF_ID, 1, TAILS_HASH, "x");
    def["value"]["maxCredNum"] = json!("250");
    def.as_object_mut().unwrap().remove("ver");
    sim.publish(def).unwrap();
    let def = proxy(&sim).rev_reg_def(REV_REG_ID).await.unwrap();
    assert_eq!(def.value.max_cred_num, Some(250));
    assert_eq!(def.ver, "1.0");
    sim.stop().await;
}

#[tokio::test]
async fn ids_with_reserved_characters_round_trip() {
    let sim = sim();
    let id = "odd id/with?reserved#chars%2F:4:x";
    sim.publish(rev_reg_def_json(id, CRED_DEF_ID, 5, TAILS_HASH, "x"))
        .unwrap();
    assert_eq!(proxy(&sim).rev_reg_def(id).await.unwrap().id, id);
    sim.stop().await;
}

#[tokio::test]
async fn unknown_id_is_not_found() {
    let sim = sim();
    publish_default(&sim);
    let err = proxy(&sim).rev_reg_def("nope:4:nope").await.unwrap_err();
    assert!(matches!(err, LedgerError::NotFound), "{err:?}");
    sim.stop().await;
}

#[tokio::test]
async fn proxy_error_statuses_are_refusals_except_pool_timeout() {
    let sim = sim();
    publish_default(&sim);
    let proxy = proxy(&sim);
    for status in [400, 409, 500, 503] {
        sim.set_failure(Some(status));
        match proxy.rev_reg_def(REV_REG_ID).await {
            Err(LedgerError::Refused(text)) => {
                assert!(text.starts_with(&format!("{status} ")), "{text}");
                assert!(text.len() > 4, "body text missing: {text}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    sim.set_failure(Some(504));
    let err = proxy.rev_reg_def(REV_REG_ID).await.unwrap_err();
    assert!(matches!(err, LedgerError::TimedOut), "{err:?}");
    sim.set_failure(None);
    assert!(proxy.rev_reg_def(REV_REG_ID).await.is_ok());
    sim.stop().await;
}

#[tokio::test]
async fn admin_routes_publish_and_inject_failures() {
    let sim = sim();
    let http = reqwest::Client::new();
    let def = rev_reg_def_json(REV_REG_ID, CRED_DEF_ID, 7, TAILS_HASH, "x");
    let published = http
        .post(format!("{}/admin/rev_reg_def", sim.url()))
        .json(&def)
        .send()
        .await
        .unwrap();
    assert_eq!(published.status(), 200);
    let proxy = proxy(&sim);
    assert_eq!(
        proxy
            .rev_reg_def(REV_REG_ID)
            .await
            .unwrap()
            .value
            .max_cred_num,
        Some(7)
    );

    let failure = http
        .post(format!("{}/admin/failure", sim.url()))
        .json(&json!({"status": 503}))
        .send()
        .await
        .unwrap();
    assert_eq!(failure.status(), 200);
    let err = proxy.rev_reg_def(REV_REG_ID).await.unwrap_err();
    assert!(
        matches!(err, LedgerError::Refused(ref t) if t.starts_with("503")),
        "{err:?}"
    );
    sim.stop().await;
}

#[tokio::test]
async fn slow_ledger_times_out() {
    let sim = sim();
    publish_default(&sim);
    sim.set_delay(Duration::from_secs(3));
    let client = http_client(Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(300),
    })
    .unwrap();
    let proxy = IndyVdrProxy::new(client, &sim.url()).unwrap();
    let err = proxy.rev_reg_def(REV_REG_ID).await.unwrap_err();
    assert!(matches!(err, LedgerError::TimedOut), "{err:?}");
    sim.stop().await;
}

#[tokio::test]
async fn genesis_probe_and_stopped_proxy_is_unreachable() {
    let sim = sim();
    let proxy = proxy(&sim);
    assert_eq!(proxy.genesis().await.unwrap(), GENESIS);
    sim.stop().await;
    let err = proxy.genesis().await.unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable(_)), "{err:?}");
    let err = proxy.rev_reg_def(REV_REG_ID).await.unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn garbage_replies_are_protocol_errors() {
    for body in [
        "<html>hello</html>",
        r#"{"op":"REPLY","result":{"type":"115"}}"#,
        r#"{"op":"REPLY","result":{"data":{"id":"x"}}}"#,
    ] {
        let url = canned_server(body).await;
        let proxy = IndyVdrProxy::new(http_client(Timeouts::default()).unwrap(), &url).unwrap();
        let err = proxy.rev_reg_def("x").await.unwrap_err();
        assert!(matches!(err, LedgerError::Protocol(_)), "{body}: {err:?}");
    }
}

#[tokio::test]
async fn invalid_base_url_is_rejected() {
    let client = http_client(Timeouts::default()).unwrap();
    assert!(IndyVdrProxy::new(client.clone(), "not a url").is_err());
    assert!(IndyVdrProxy::new(client, "ftp://example.com").is_err());
}

/// An HTTP server answering every request with 200 and `body`.
async fn canned_server(body: &'static str) -> String {
    recording_server(body).await.0
}

/// [`canned_server`], also handing on each request's head (lower-cased).
async fn recording_server(
    body: &'static str,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (heads, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = heads.send(String::from_utf8_lossy(&request).to_lowercase());
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (url, received)
}

/// A call made inside a request's scope carries its id to the ledger; outside, none is sent.
#[tokio::test]
async fn the_request_id_goes_to_the_ledger() {
    let (url, mut received) = recording_server("ok").await;
    let proxy = IndyVdrProxy::new(http_client(Timeouts::default()).unwrap(), &url).unwrap();
    ledger_client::request_id::scope("req-42".to_owned(), proxy.genesis())
        .await
        .unwrap();
    assert!(
        received
            .recv()
            .await
            .unwrap()
            .contains("x-request-id: req-42\r\n")
    );
    proxy.genesis().await.unwrap();
    assert!(!received.recv().await.unwrap().contains("x-request-id"));
}
