//! `make bench` rows for downstream-node: status list latency over a large population, one
//! 100-proof `/answer`, and generating one 32 MiB contract.
//!
//! Population size: DOWNSTREAM_BENCH_FARMERS (default 100000) and
//! DOWNSTREAM_BENCH_CONTRACTS (default 1000000), seeded straight into a fresh database: SQLite, then PostgreSQL and MariaDB when
//! TEST_POSTGRES_URL / TEST_MYSQL_URL are set (`make bench` sets them as `make test` does).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use diesel::prelude::*;
use downstream_node::app::connect;
use downstream_node::db::MIGRATIONS;
use downstream_node::db::contracts::NewContract;
use downstream_node::db::schema::{addresses, contracts, tokens};
use downstream_node::geoip::GeoIp;
use downstream_node::heartbeat::{self, Challenge, HeartbeatKey, RandomFile, RandomIo, Tag};
use downstream_node::{AppState, Application, Settings};
use secp256k1::{Secp256k1, SecretKey};
use serde_json::{Value, json};
use service_kit::bitcoin::{BitcoinAddress, Network, sign_message};
use service_kit::db::{Backend, DbConnection, DbError};
use service_kit::testing::{TestDatabase, TestServer, bench_row, median_time};

const SERVICE: &str = "downstream-node";

fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

macro_rules! seed {
    ($conn:ident, $now:ident, $farmers:ident, $contract_count:ident) => {{
        let (now, farmers, contract_count) = ($now, $farmers, $contract_count);
        $conn.transaction(|conn| {
            diesel::insert_into(addresses::table)
                .values((
                    addresses::address.eq("bench"),
                    addresses::crowdsale_balance.eq(1_000_000),
                    addresses::allocated_bytes.eq(0),
                ))
                .execute(conn)?;
            let rows: Vec<_> = (0..farmers)
                .map(|i| {
                    let online = i % 3 != 0;
                    (
                        tokens::token.eq(format!("{i:032x}")),
                        tokens::farmer_id.eq(format!(
                            "{:020x}",
                            i.wrapping_mul(2_654_435_761) % (1 << 60)
                        )),
                        tokens::address_id.eq(1i64),
                        tokens::address.eq(format!("addr{i}")),
                        tokens::ip_address.eq(format!(
                            "10.{}.{}.{}",
                            i >> 16 & 255,
                            i >> 8 & 255,
                            i & 255
                        )),
                        tokens::message.eq(""),
                        tokens::signature.eq(""),
                        tokens::created_at.eq(now),
                        tokens::hbcount.eq((i * 7 % 1000) as i64),
                        tokens::online_contracts.eq(if online { 10i64 } else { 0 }),
                        tokens::online_size.eq(if online { 10 * 32_768i64 } else { 0 }),
                        tokens::online.eq(online),
                        tokens::uptime.eq((i * 37 % 10_000) as f64 / 100.0),
                        tokens::upsum_closed.eq(0i64),
                    )
                })
                .collect();
            for batch in rows.chunks(1000) {
                diesel::insert_into(tokens::table)
                    .values(batch)
                    .execute(conn)?;
            }
            let per_token = contract_count.div_ceil(farmers.max(1));
            let mut batch = Vec::with_capacity(1000);
            for i in 0..contract_count {
                batch.push(NewContract {
                    token_id: (i / per_token + 1) as i64,
                    seed: format!("{i:032x}"),
                    size: 32_768,
                    chunksz: 327,
                    challenges: 256,
                    issued: 1,
                    chain_seed: vec![0; 32],
                    root: vec![0; 32],
                    tree_order: 8,
                    interval_secs: 300,
                    start_at: now,
                    due_at: now + 300_000,
                    expiration: now + 300_000,
                    answered: false,
                    counted_online: true,
                });
                if batch.len() == 1000 {
                    diesel::insert_into(contracts::table)
                        .values(&batch)
                        .execute(conn)?;
                    batch.clear();
                }
            }
            if !batch.is_empty() {
                diesel::insert_into(contracts::table)
                    .values(&batch)
                    .execute(conn)?;
            }
            Ok(())
        })
    }};
}

fn seed_population(
    conn: &mut DbConnection,
    farmers: usize,
    contract_count: usize,
) -> Result<(), DbError> {
    let now = chrono::Utc::now().timestamp_millis();
    // Multi-row INSERTs need the concrete backend: the same code for each.
    match conn {
        DbConnection::Sqlite(conn) => seed!(conn, now, farmers, contract_count),
        DbConnection::Postgresql(conn) => seed!(conn, now, farmers, contract_count),
        DbConnection::Mysql(conn) => seed!(conn, now, farmers, contract_count),
    }
}

fn percentile(samples: &mut [Duration], p: f64) -> f64 {
    samples.sort();
    let index = ((samples.len() as f64 - 1.0) * p).round() as usize;
    samples[index].as_secs_f64() * 1000.0
}

fn contract_generation() {
    let key = HeartbeatKey::generate();
    let size = 32u64 << 20;
    let elapsed = median_time(5, || {
        let file = RandomFile::new("0123456789abcdef0123456789abcdef", size);
        let encoded = heartbeat::encode(&key, &file, size, 256, [1; 32], 0.01);
        std::hint::black_box(encoded.root);
    });
    bench_row(
        SERVICE,
        "generate 32 MiB contract (RandomIO + 256-leaf tag)",
        elapsed.as_secs_f64() * 1000.0,
        "ms",
        "median of 5; target <= 150 ms",
    );
}

async fn json_of(request: reqwest::RequestBuilder) -> Value {
    request.send().await.unwrap().json().await.unwrap()
}

async fn get_bytes(client: &reqwest::Client, url: &str) -> actix_web::web::Bytes {
    let response = client.get(url).send().await.unwrap();
    response.bytes().await.unwrap()
}

/// The HTTP figures on `backend`'s fresh database; the p50 of `status/list` is returned for
/// the ratio against SQLite.
async fn http_benches(backend: Backend, database: TestDatabase, sqlite_p50: Option<f64>) -> f64 {
    let farmers = env_count("DOWNSTREAM_BENCH_FARMERS", 100_000);
    let contract_count = env_count("DOWNSTREAM_BENCH_CONTRACTS", 1_000_000);
    let mut settings = Settings {
        geoip_db: None,
        max_tokens_per_ip: 1000,
        max_chunks_per_request: 100,
        max_chunk_size: 4096,
        require_whitelist: false,
        // The bench hammers one route from one address.
        ip_rate_limit: 0.0,
        token_rate_limit: 0.0,
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(2);
    settings.database.database_url = database.url().to_owned();
    let db = connect(&settings).unwrap();
    db.migrate(&MIGRATIONS).unwrap();
    let started = Instant::now();
    db.run(move |conn| seed_population(conn, farmers, contract_count))
        .await
        .unwrap();
    eprintln!(
        "seeded {farmers} farmers, {contract_count} contracts in {:?}",
        started.elapsed()
    );
    let state = AppState::new(db, HeartbeatKey::generate(), GeoIp::disabled(), settings);
    let server = TestServer::run(Application::with_state(state).unwrap());
    let api = server.url("/api/downstream/v1");
    let client = reqwest::Client::new();

    let url = format!("{api}/status/list/by/d/uptime/25");
    for _ in 0..20 {
        get_bytes(&client, &url).await;
    }
    let mut samples: Vec<Duration> = Vec::with_capacity(500);
    for _ in 0..500 {
        let t = Instant::now();
        let body = get_bytes(&client, &url).await;
        samples.push(t.elapsed());
        assert!(body.len() > 100);
    }
    let note = format!(
        "{farmers} farmers, {contract_count} contracts, HTTP round trip; target p99 <= 20 ms"
    );
    let p50 = percentile(&mut samples, 0.5);
    bench_row(
        SERVICE,
        &format!("status/list/by/d/uptime/25 p50 ({backend})"),
        p50,
        "ms",
        &note,
    );
    bench_row(
        SERVICE,
        &format!("status/list/by/d/uptime/25 p99 ({backend})"),
        percentile(&mut samples, 0.99),
        "ms",
        &note,
    );
    if let Some(sqlite_p50) = sqlite_p50 {
        bench_row(
            SERVICE,
            &format!("status/list p50 {backend} / SQLite"),
            p50 / sqlite_p50,
            "x",
            "same run; lower is faster",
        );
    }

    // 100 real proofs per /answer, once per fresh token (a challenge is answered only once).
    let secret = SecretKey::from_slice(&[5; 32]).unwrap();
    let address = BitcoinAddress::from_public_key(
        &secret.public_key(&Secp256k1::new()),
        true,
        Network::Mainnet,
    );
    let signed = json!({"message": "bench", "signature": sign_message(&secret, true, "bench")});
    let mut answer_times = Vec::new();
    for _ in 0..7 {
        let new = json_of(client.post(format!("{api}/new/{address}")).json(&signed)).await;
        let token = new["token"].as_str().unwrap().to_owned();
        let chunks = json_of(client.get(format!("{api}/chunk/{token}/409600"))).await;
        let proofs: Vec<Value> = chunks["chunks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|chunk| {
                let file = RandomIo::new(chunk["seed"].as_str().unwrap())
                    .generate(chunk["size"].as_u64().unwrap() as usize);
                let tag: Tag = serde_json::from_value(chunk["tag"].clone()).unwrap();
                let challenge: Challenge =
                    serde_json::from_value(chunk["challenge"].clone()).unwrap();
                let proof = heartbeat::prove(file.as_slice(), &challenge, &tag).unwrap();
                json!({"file_hash": chunk["file_hash"], "proof": proof})
            })
            .collect();
        assert_eq!(proofs.len(), 100);
        let body = serde_json::to_vec(&json!({"proofs": proofs})).unwrap();
        let t = Instant::now();
        let report: Value = client
            .post(format!("{api}/answer/{token}"))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", "gzip")
            .body(body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        answer_times.push(t.elapsed());
        assert!(
            report["report"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["status"] == "ok")
        );
    }
    bench_row(
        SERVICE,
        &format!("/answer with 100 proofs ({backend})"),
        percentile(&mut answer_times, 0.5),
        "ms",
        "median of 7, HTTP round trip on the seeded database; target <= 10 ms",
    );
    p50
}

fn main() {
    contract_generation();
    actix_web::rt::System::new().block_on(async {
        let sqlite = TestDatabase::create(Backend::Sqlite).unwrap().unwrap();
        let sqlite_p50 = http_benches(Backend::Sqlite, sqlite, None).await;
        for backend in [Backend::Postgres, Backend::Mysql] {
            match TestDatabase::create(backend).unwrap() {
                Some(db) => {
                    http_benches(backend, db, Some(sqlite_p50)).await;
                }
                None => eprintln!("{backend} not configured; its rows are left out"),
            }
        }
    });
}
