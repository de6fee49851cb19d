//! Runs against the in-process simulator; helpers outside `#[test]` fns unwrap freely too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use ledger_client::bitcoin_rpc::{BitcoinRpc, btc_to_sats, sats_to_btc};
use ledger_client::{LedgerError, Timeouts, http_client};
use ledger_sim::bitcoin_rpc::{BitcoinSim, BitcoinSimConfig};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The genesis block's coinbase; its txid is well known (and checked with python3 hashlib).
const GENESIS_COINBASE_HEX: &str = "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";
const GENESIS_COINBASE_TXID: &str =
    "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b";

fn sim(testnet: bool) -> BitcoinSim {
    BitcoinSim::start(
        "127.0.0.1:0",
        BitcoinSimConfig {
            user: "rein".to_owned(),
            password: "s3cret".to_owned(),
            testnet,
        },
    )
    .unwrap()
}

fn rpc(sim: &BitcoinSim) -> BitcoinRpc {
    BitcoinRpc::new(
        http_client(Timeouts::default()).unwrap(),
        &sim.url(),
        "rein",
        "s3cret",
    )
    .unwrap()
}

fn assert_refused(result: Result<impl std::fmt::Debug, LedgerError>, prefix: &str) {
    match result {
        Err(LedgerError::Refused(text)) => assert!(text.starts_with(prefix), "{text}"),
        other => panic!("expected Refused({prefix}…), got {other:?}"),
    }
}

#[tokio::test]
async fn chain_of_headers() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    assert_eq!(rpc.getblockcount().await.unwrap(), 0);
    let mined = sim.mine(5);
    assert_eq!(sim.height(), 5);
    assert_eq!(rpc.getblockcount().await.unwrap(), 5);

    let tip_hash = rpc.getblockhash(5).await.unwrap();
    assert_eq!(tip_hash, mined[4]);
    let tip = rpc.getblockheader(&tip_hash).await.unwrap();
    assert_eq!(tip.hash, tip_hash);
    assert_eq!(tip.height, 5);
    assert_eq!(tip.confirmations, 1);
    assert_eq!(tip.n_tx, 1);
    assert_eq!(tip.nextblockhash, None);
    assert_eq!(tip.previousblockhash, Some(mined[3].clone()));
    assert_eq!(tip.hash.len(), 64);
    assert_eq!(tip.chainwork.len(), 64);

    let genesis = rpc
        .getblockheader(&rpc.getblockhash(0).await.unwrap())
        .await
        .unwrap();
    assert_eq!(genesis.previousblockhash, None);
    assert_eq!(genesis.confirmations, 6);
    assert!(genesis.time < tip.time);
    assert!(genesis.mediantime <= tip.mediantime);

    let info = rpc.getblockchaininfo().await.unwrap();
    assert_eq!(info.chain, "main");
    assert_eq!(info.blocks, 5);
    assert_eq!(info.bestblockhash, tip_hash);
    sim.stop().await;
}

#[tokio::test]
async fn missing_blocks_are_not_found() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    let err = rpc.getblockhash(1000).await.unwrap_err();
    assert!(matches!(err, LedgerError::NotFound), "{err:?}");
    let err = rpc.getblockheader(&"00".repeat(32)).await.unwrap_err();
    assert!(matches!(err, LedgerError::NotFound), "{err:?}");
    assert_refused(
        rpc.getblockheader("abc").await,
        "-8: blockhash must be of length 64",
    );
    sim.stop().await;
}

#[tokio::test]
async fn rpc_errors_and_bad_credentials_are_refusals() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    assert_refused(
        rpc.call::<serde_json::Value>("nosuchmethod", vec![]).await,
        "-32601: Method not found",
    );
    assert_refused(
        rpc.call::<u64>("getblockhash", vec![json!("one")]).await,
        "-3: ",
    );
    let wrong = BitcoinRpc::new(
        http_client(Timeouts::default()).unwrap(),
        &sim.url(),
        "rein",
        "wrong",
    )
    .unwrap();
    match wrong.getblockcount().await {
        Err(LedgerError::Refused(text)) => assert_eq!(text, "authentication failed"),
        other => panic!("{other:?}"),
    }
    sim.stop().await;
}

#[tokio::test]
async fn credentials_in_the_url_are_used() {
    let sim = sim(false);
    let url = sim.url().replace("http://", "http://rein:s3cret@");
    let rpc = BitcoinRpc::new(http_client(Timeouts::default()).unwrap(), &url, "", "").unwrap();
    assert_eq!(rpc.getblockcount().await.unwrap(), 0);
    assert!(!format!("{rpc:?}").contains("s3cret"));
    sim.stop().await;
}

#[tokio::test]
async fn payments_confirm_in_the_next_block() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    let address = rpc.getnewaddress().await.unwrap();
    assert!(address.starts_with('1'), "{address}");

    let txid: String = rpc
        .call("sendtoaddress", vec![json!(address), json!(0.00123456)])
        .await
        .unwrap();
    assert_eq!(txid.len(), 64);
    sim.pay(&address, 1);
    assert_eq!(rpc.getreceivedbyaddress(&address, 1).await.unwrap(), 0.0);
    assert_eq!(
        rpc.getreceivedbyaddress_sats(&address, 0).await.unwrap(),
        123_457
    );

    sim.mine(1);
    assert_eq!(
        rpc.getreceivedbyaddress_sats(&address, 1).await.unwrap(),
        123_457
    );
    assert_eq!(
        rpc.getreceivedbyaddress(&address, 1).await.unwrap(),
        0.00123457
    );
    assert_eq!(rpc.getreceivedbyaddress_sats(&address, 2).await.unwrap(), 0);
    let hashes: Vec<String> = rpc
        .call("generatetoaddress", vec![json!(1), json!(address)])
        .await
        .unwrap();
    assert_eq!(hashes.len(), 1);
    assert_eq!(
        rpc.getreceivedbyaddress_sats(&address, 2).await.unwrap(),
        123_457
    );
    let header = rpc
        .getblockheader(&rpc.getblockhash(1).await.unwrap())
        .await
        .unwrap();
    assert_eq!(header.n_tx, 3);
    sim.stop().await;
}

#[tokio::test]
async fn foreign_and_invalid_addresses() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    let other = BitcoinSim::start(
        "127.0.0.1:0",
        BitcoinSimConfig {
            user: "a".to_owned(),
            password: "b".to_owned(),
            testnet: false,
        },
    )
    .unwrap();
    let foreign = other.new_address();
    let err = rpc.getreceivedbyaddress(&foreign, 1).await.unwrap_err();
    assert!(matches!(err, LedgerError::NotFound), "{err:?}");
    assert_refused(rpc.getreceivedbyaddress("1notanaddress", 1).await, "-5: ");
    other.stop().await;
    sim.stop().await;
}

#[tokio::test]
async fn testnet_addresses_and_chain() {
    let sim = sim(true);
    let rpc = rpc(&sim);
    let address = rpc.getnewaddress().await.unwrap();
    assert!(
        address.starts_with('m') || address.starts_with('n'),
        "{address}"
    );
    assert_eq!(rpc.getblockchaininfo().await.unwrap().chain, "test");
    let mainnet = sim_address_of_other_network().await;
    assert_refused(rpc.getreceivedbyaddress(&mainnet, 1).await, "-5: ");
    sim.stop().await;
}

async fn sim_address_of_other_network() -> String {
    let main = sim(false);
    let address = main.new_address();
    main.stop().await;
    address
}

#[tokio::test]
async fn raw_transactions() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    let txid = rpc.sendrawtransaction(GENESIS_COINBASE_HEX).await.unwrap();
    assert_eq!(txid, GENESIS_COINBASE_TXID);
    // Core answers a resend of a mempool transaction with its txid.
    assert_eq!(
        rpc.sendrawtransaction(GENESIS_COINBASE_HEX).await.unwrap(),
        GENESIS_COINBASE_TXID
    );
    sim.mine(1);
    assert_refused(rpc.sendrawtransaction(GENESIS_COINBASE_HEX).await, "-27: ");
    assert_refused(
        rpc.sendrawtransaction("zz00").await,
        "-22: TX decode failed",
    );
    assert_refused(rpc.sendrawtransaction("abc").await, "-22: ");
    sim.stop().await;
}

#[tokio::test]
async fn slow_node_times_out() {
    let sim = sim(false);
    sim.set_delay(Duration::from_secs(3));
    let client = http_client(Timeouts {
        connect: Duration::from_secs(1),
        request: Duration::from_millis(300),
    })
    .unwrap();
    let rpc = BitcoinRpc::new(client, &sim.url(), "rein", "s3cret").unwrap();
    let err = rpc.getblockcount().await.unwrap_err();
    assert!(matches!(err, LedgerError::TimedOut), "{err:?}");
    sim.stop().await;
}

#[tokio::test]
async fn stopped_node_is_unreachable() {
    let sim = sim(false);
    let rpc = rpc(&sim);
    assert!(rpc.getblockcount().await.is_ok());
    sim.stop().await;
    let err = rpc.getblockcount().await.unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable(_)), "{err:?}");
}

#[tokio::test]
async fn garbage_is_a_protocol_error() {
    for (status, body) in [
        ("200 OK", "hello"),
        ("200 OK", r#"{"result":1,"error":null,"id":999}"#),
        ("200 OK", r#"{"result":"not a number","error":null,"id":1}"#),
    ] {
        let url = canned_server(status, body).await;
        let rpc =
            BitcoinRpc::new(http_client(Timeouts::default()).unwrap(), &url, "u", "p").unwrap();
        let err = rpc.getblockcount().await.unwrap_err();
        assert!(matches!(err, LedgerError::Protocol(_)), "{body}: {err:?}");
    }
    let url = canned_server("403 Forbidden", "").await;
    let rpc = BitcoinRpc::new(http_client(Timeouts::default()).unwrap(), &url, "u", "p").unwrap();
    assert_refused(rpc.getblockcount().await, "403");
}

#[test]
fn amounts_convert_exactly() {
    assert_eq!(btc_to_sats(0.29).unwrap(), 29_000_000);
    assert_eq!(btc_to_sats(0.1 + 0.2).unwrap(), 30_000_000);
    assert_eq!(btc_to_sats(0.00000001).unwrap(), 1);
    assert_eq!(
        btc_to_sats(20_999_999.976_9).unwrap(),
        2_099_999_997_690_000
    );
    assert_eq!(btc_to_sats(21_000_000.0).unwrap(), 2_100_000_000_000_000);
    assert!(btc_to_sats(21_000_000.00000001 * 2.0).is_err());
    assert!(btc_to_sats(f64::NAN).is_err());
    for sats in [0, 1, 99_999_999, 123_456_789, 2_099_999_997_690_000] {
        assert_eq!(btc_to_sats(sats_to_btc(sats)).unwrap(), sats);
    }
}

/// An HTTP server answering every request with `status` and `body`.
async fn canned_server(status: &'static str, body: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Read the whole request (headers and the Content-Length body) before answering.
            loop {
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let headers = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                    let length = headers
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    url
}
