//! `make bench`: signed /put and /get throughput with 64 concurrent connections on SQLite,
//! with and without `/get`'s read cache, and on PostgreSQL and MariaDB when TEST_POSTGRES_URL
//! / TEST_MYSQL_URL are set, each the median of five rounds that alternate the set-ups, with
//! each server backend's ratio to SQLite (target ≥ 0.8; for `/get` against SQLite without
//! the cache, which the server backends do not have) as the median of the five rounds'
//! ratios, each between runs seconds apart, so a change in the machine's load between rounds
//! moves both sides of a ratio; and one signature verification alone. Targets
//! on the 2-core machine: ≥ 5,000 puts/s and ≥ 20,000 gets/s on SQLite. The client shares
//! the cores with the server, so bodies and URLs are prepared before the timing; figures
//! are noisy (README, "Tests and benchmark").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use causeway::{Application, Settings};
use rand::Rng;
use secp256k1::SecretKey;
use serde_json::{Value, json};
use service_kit::bitcoin::{BitcoinAddress, Network, sign_message, verify_message};
use service_kit::db::Backend;
use service_kit::startup::Service as _;
use service_kit::testing::{TestDatabase, bench_row, median_time, server_url, url_variable};

const CONNECTIONS: usize = 64;
/// 6,400 puts a round: about half a second on SQLite, long enough that the first batches and
/// connections do not weigh on the figure.
const PUTS_PER_CONNECTION: usize = 100;
const GETS_PER_CONNECTION: usize = 400;
const VALUE_BYTES: usize = 8192;
/// Rounds per backend, alternating the backends; each figure is the median.
const ROUNDS: usize = 5;

/// One configuration measured: a backend, and on SQLite with or without `/get`'s cache.
#[derive(Clone, Copy)]
struct Setup {
    backend: Backend,
    cache: bool,
}

impl std::fmt::Display for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.backend, self.cache) {
            (Backend::Sqlite, false) => write!(f, "SQLite, no read cache"),
            (backend, _) => write!(f, "{backend}"),
        }
    }
}

fn main() {
    signature_verification();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut setups = vec![
        Setup {
            backend: Backend::Sqlite,
            cache: true,
        },
        // The like-for-like baseline of the server backends, which never cache (README,
        // "Read cache").
        Setup {
            backend: Backend::Sqlite,
            cache: false,
        },
    ];
    for backend in [Backend::Postgres, Backend::Mysql] {
        match server_url(backend) {
            Some(_) => setups.push(Setup {
                backend,
                cache: false,
            }),
            None => eprintln!(
                "{backend} not configured ({}); skipped",
                url_variable(backend)
            ),
        }
    }
    let mut figures: Vec<(Setup, Vec<f64>, Vec<f64>)> = setups
        .iter()
        .map(|s| (*s, Vec::new(), Vec::new()))
        .collect();
    for _ in 0..ROUNDS {
        for (setup, puts, gets) in figures.iter_mut() {
            let db = TestDatabase::require(setup.backend);
            let (p, g) = runtime.block_on(throughput(db.url().to_owned(), setup.cache));
            puts.push(p);
            gets.push(g);
        }
    }
    for (setup, puts, gets) in &figures {
        let note = format!("64 connections, median of {ROUNDS}");
        bench_row(
            "causeway",
            &format!("signed /put, new keys, 8 KiB ({setup})"),
            median(puts.clone()),
            "req/s",
            &note,
        );
        bench_row(
            "causeway",
            &format!("/get, 8 KiB values ({setup})"),
            median(gets.clone()),
            "req/s",
            &note,
        );
    }
    let [
        (_, cached_puts, cached_gets),
        (_, _, sqlite_gets),
        servers @ ..,
    ] = &figures[..]
    else {
        return;
    };
    let note = format!("median of the {ROUNDS} rounds' ratios");
    bench_row(
        "causeway",
        "/get, SQLite read cache ÷ without",
        ratio(cached_gets, sqlite_gets),
        "×",
        &note,
    );
    for (setup, puts, gets) in servers {
        bench_row(
            "causeway",
            &format!("signed /put, {setup} ÷ SQLite"),
            ratio(puts, cached_puts),
            "×",
            &format!("{note}; target ≥ 0.8"),
        );
        bench_row(
            "causeway",
            &format!("/get, {setup} ÷ SQLite without cache"),
            ratio(gets, sqlite_gets),
            "×",
            &format!("{note}; target ≥ 0.8 (no cache on either)"),
        );
        bench_row(
            "causeway",
            &format!("/get, {setup} ÷ SQLite with cache"),
            ratio(gets, cached_gets),
            "×",
            &note,
        );
    }
}

/// The median of the rounds' ratios `figures[i] / baseline[i]`.
fn ratio(figures: &[f64], baseline: &[f64]) -> f64 {
    median(figures.iter().zip(baseline).map(|(f, b)| f / b).collect())
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
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

/// Puts and gets per second on a fresh server over `url`.
async fn throughput(url: String, cache: bool) -> (f64, f64) {
    let mut settings = Settings {
        bucket_bytes: 1 << 40,
        bucket_transfer_bytes: 1 << 50,
        free_buckets: 1,
        read_cache_bytes: if cache {
            Settings::default().read_cache_bytes
        } else {
            0
        },
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.database.database_url = url;
    settings.log.log_level = "warn".to_owned();
    service_kit::server::init_logging("warn");
    let app = Application::build(settings).await.unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let served = tokio::spawn(app.run());
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
    handle.stop(true).await;
    served.await.unwrap().unwrap();
    (puts, gets)
}
