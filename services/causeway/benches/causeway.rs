//! `make bench`: signed /put and /get throughput with 64 concurrent connections on SQLite
//! (and PostgreSQL when TEST_POSTGRES_URL is set), and one signature verification alone.
//! Targets on the 2-core machine: ≥ 5,000 puts/s and ≥ 20,000 gets/s on SQLite. The client
//! shares the cores with the server, so bodies and URLs are prepared before the timing;
//! figures are noisy, compare alternating runs (README, "Tests and benchmark").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway::{Application, Settings};
use rand::Rng;
use secp256k1::SecretKey;
use serde_json::{Value, json};
use service_kit::bitcoin::{BitcoinAddress, Network, sign_message, verify_message};
use service_kit::db::Backend;
use service_kit::testing::{TestDatabase, bench_row, median_time};

const CONNECTIONS: usize = 64;
const PUTS_PER_CONNECTION: usize = 40;
const GETS_PER_CONNECTION: usize = 400;
const VALUE_BYTES: usize = 8192;

fn main() {
    signature_verification();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = TestDatabase::create(backend).unwrap() else {
            eprintln!("{backend} not configured; skipped");
            continue;
        };
        runtime.block_on(throughput(backend, db.url().to_owned()));
    }
}

fn signature_verification() {
    let secret = SecretKey::from_byte_array(&[7u8; 32]).unwrap();
    let public = secret.public_key(&secp256k1::Secp256k1::new());
    let address = BitcoinAddress::from_public_key(&public, true, Network::Mainnet);
    let message = "K".repeat(32) + &"v".repeat(VALUE_BYTES);
    let signature = sign_message(&secret, true, &message);
    let runs = 2000;
    let time = median_time(20, || {
        for _ in 0..runs {
            verify_message(&address, &signature, &message).unwrap();
        }
    });
    let micros = time.as_secs_f64() * 1e6 / f64::from(runs);
    bench_row(
        "causeway",
        "signature verification (8 KiB message)",
        micros,
        "µs",
        "service-kit verify_message",
    );
}

struct Owner {
    key: SecretKey,
    address: String,
    nonce: String,
}

async fn throughput(backend: Backend, url: String) {
    let settings = Settings {
        port: 0,
        database_url: url,
        bucket_bytes: 1 << 40,
        bucket_transfer_bytes: 1 << 50,
        free_buckets: 1,
        log_level: "warn".to_owned(),
        ..Settings::default()
    };
    service_kit::server::init_logging("warn");
    let app = Application::build(settings).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    tokio::spawn(app.run());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();

    let secp = secp256k1::Secp256k1::new();
    let mut owners = Vec::new();
    for _ in 0..CONNECTIONS {
        let key = SecretKey::from_byte_array(&rand::thread_rng().r#gen::<[u8; 32]>()).unwrap();
        let address =
            BitcoinAddress::from_public_key(&key.public_key(&secp), true, Network::Mainnet)
                .to_string();
        client
            .get(format!("{base}/request"))
            .query(&[("owner", &address)])
            .send()
            .await
            .unwrap();
        let body: Value = client
            .get(format!("{base}/nonce"))
            .query(&[("address", &address)])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let nonce = body["nonce"].as_str().unwrap().to_owned();
        owners.push(Owner {
            key,
            address,
            nonce,
        });
    }

    // Signed and encoded outside the timing: the figure is the server's.
    let value = "v".repeat(VALUE_BYTES);
    let batches: Vec<Vec<(String, Vec<u8>)>> = owners
        .iter()
        .map(|owner| {
            (0..PUTS_PER_CONNECTION)
                .map(|i| {
                    let key = format!("{}{i:04}", &owner.address[..28]);
                    let message = format!("{key}{value}{}{}", owner.address, owner.nonce);
                    let body = json!({
                        "key": key, "value": value, "owner": owner.address,
                        "signature_address": owner.address, "nonce": owner.nonce,
                        "signature": sign_message(&owner.key, true, &message), "testnet": false,
                    });
                    (key, serde_json::to_vec(&body).unwrap())
                })
                .collect()
        })
        .collect();
    let gets: Arc<Vec<String>> = Arc::new(
        batches
            .iter()
            .flat_map(|b| b.iter().map(|(k, _)| format!("{base}/get?key={k}")))
            .collect(),
    );

    let started = Instant::now();
    let tasks: Vec<_> = batches
        .into_iter()
        .map(|batch| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                for (_, body) in batch {
                    let response = client
                        .post(format!("{base}/put"))
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(response.status(), 201);
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let puts = (CONNECTIONS * PUTS_PER_CONNECTION) as f64 / started.elapsed().as_secs_f64();
    bench_row(
        "causeway",
        &format!("signed /put, new keys, 8 KiB ({backend})"),
        puts,
        "req/s",
        "64 connections",
    );

    let started = Instant::now();
    let tasks: Vec<_> = (0..CONNECTIONS)
        .map(|c| {
            let (client, gets) = (client.clone(), gets.clone());
            tokio::spawn(async move {
                for i in 0..GETS_PER_CONNECTION {
                    let url = &gets[(c * 7919 + i) % gets.len()];
                    let response = client.get(url).send().await.unwrap();
                    assert_eq!(response.status(), 200);
                    response.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let gets = (CONNECTIONS * GETS_PER_CONNECTION) as f64 / started.elapsed().as_secs_f64();
    bench_row(
        "causeway",
        &format!("/get, 8 KiB values ({backend})"),
        gets,
        "req/s",
        "64 connections",
    );
    handle.stop(true).await;
}
