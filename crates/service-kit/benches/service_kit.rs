//! `make bench` rows for service-kit: signed-message verification rate beside the bare
//! public-key recovery it is built on, and the cost of a pool checkout on the blocking pool
//! beside a bare hop to that pool.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use secp256k1::{Secp256k1, SecretKey};
use service_kit::bitcoin::{BitcoinAddress, Network, message_digest, sign_message, verify_message};
use service_kit::db::{Database, DbError, PoolOptions};
use service_kit::testing::{bench_row, median_time};

const BATCH: u32 = 200;

fn per_second(batch: u32, elapsed: Duration) -> f64 {
    f64::from(batch) / elapsed.as_secs_f64()
}

fn signatures() {
    let secp = Secp256k1::new();
    let secret = SecretKey::from_slice(&[7u8; 32]).unwrap();
    let public = secret.public_key(&secp);
    let address = BitcoinAddress::from_public_key(&public, true, Network::Mainnet);
    let message = "IEU36G2PGDCHT1X1BEDWYWZI0HBX7VY2hello world0123456789abcdef";
    let signature = sign_message(&secret, true, message);

    let verify = median_time(15, || {
        for _ in 0..BATCH {
            verify_message(&address, &signature, message).unwrap();
        }
    });

    // The floor: digest plus recovery alone, without base64, address rebuild or comparison.
    let raw = base64_decode(&signature);
    let recovery = secp256k1::ecdsa::RecoveryId::try_from(i32::from((raw[0] - 27) & 3)).unwrap();
    let recoverable =
        secp256k1::ecdsa::RecoverableSignature::from_compact(&raw[1..], recovery).unwrap();
    let floor = median_time(15, || {
        for _ in 0..BATCH {
            let digest = secp256k1::Message::from_digest(message_digest(message));
            secp.recover_ecdsa(&digest, &recoverable).unwrap();
        }
    });
    let rate = per_second(BATCH, verify);
    let floor_rate = per_second(BATCH, floor);
    bench_row(
        "service-kit",
        "signmessage verify",
        rate,
        "verifications/s",
        &format!(
            "floor (digest+recover) {floor_rate:.0}/s; ratio {:.2}",
            rate / floor_rate
        ),
    );
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn pool_checkout() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.sqlite").display());
    let db = Database::connect(&url, PoolOptions::default()).unwrap();
    runtime.block_on(async {
        // Warm the pool so the figure is a checkout, not a connect.
        db.run(|_| Ok::<_, DbError>(())).await.unwrap();
        let checkout = median_async(&db, 2_000).await;
        let bare = median_bare(2_000).await;
        bench_row(
            "service-kit",
            "pool checkout + blocking hop",
            checkout.as_secs_f64() * 1e6,
            "µs/op",
            &format!(
                "bare spawn_blocking hop {:.1} µs; ratio {:.2}",
                bare.as_secs_f64() * 1e6,
                checkout.as_secs_f64() / bare.as_secs_f64()
            ),
        );
    });
}

async fn median_async(db: &Database, runs: usize) -> Duration {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = std::time::Instant::now();
        db.run(|_| Ok::<_, DbError>(())).await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[runs / 2]
}

async fn median_bare(runs: usize) -> Duration {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let started = std::time::Instant::now();
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    samples[runs / 2]
}

fn main() {
    signatures();
    pool_checkout();
}
