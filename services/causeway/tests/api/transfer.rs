//! `/get`'s transfer accounting with two replicas on one database: each counts in memory and
//! writes in batches, so together they may serve past the quota, but never more than the
//! README's bound (replicas × (transfer_flush_bytes + max_value_bytes)); once the quota is
//! used up they answer 402; and after a flush (periodic, and the last one at graceful
//! shutdown) the database holds exactly the bytes served.

use std::time::{Duration, Instant};

use causeway::db::schema::buckets;
use causeway::{Application, Settings};
use diesel::prelude::*;
use futures_util::future::join_all;
use service_kit::db::{Database, DbError, PoolOptions};
use service_kit::testing::TestServer;

use crate::helpers::*;

const VALUE: usize = 200;
const QUOTA: u64 = 20_000;
const FLUSH_BYTES: u64 = 2_000;
const MAX_VALUE: usize = 500;
const REPLICAS: u64 = 2;
/// The README's bound on what replicas serve past the quota together.
const BOUND: u64 = REPLICAS * (FLUSH_BYTES + MAX_VALUE as u64);

struct Replica {
    base: String,
    server: TestServer,
}

impl Replica {
    async fn start(url: &str) -> Self {
        let mut settings = Settings {
            free_buckets: 1,
            bucket_transfer_bytes: QUOTA,
            max_value_bytes: MAX_VALUE,
            transfer_flush_bytes: FLUSH_BYTES,
            transfer_flush_ms: 20,
            // Replicas on one SQLite file run without the cache (README, "Read cache").
            read_cache_bytes: 0,
            ..Settings::default()
        };
        settings.server.port = 0;
        settings.server.workers = Some(2);
        settings.database.database_url = url.to_owned();
        settings.database.pool_size = 4;
        let server = TestServer::start::<Application>(settings).await.unwrap();
        Self {
            base: server.base.clone(),
            server,
        }
    }

    /// Graceful stop: in-flight requests finish, then what is left is written.
    async fn stop(self) {
        self.server.stop().await.unwrap();
    }
}

/// Registers `user` and stores `count` documents of `VALUE` bytes; their keys.
async fn store(client: &reqwest::Client, base: &str, user: &User, count: usize) -> Vec<String> {
    let owner = user.master.to_string();
    let query = [
        ("owner", owner.as_str()),
        ("delegate", &user.delegate.to_string()),
        ("contact", "user@example.com"),
    ];
    let (status, body) = call(client.get(format!("{base}/request")).query(&query)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        client
            .get(format!("{base}/nonce"))
            .query(&[("address", &owner)]),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let nonce = body["nonce"].as_str().unwrap().to_owned();
    let mut keys = Vec::new();
    for _ in 0..count {
        let key = random_key();
        let body = user.put_body(&key, &"t".repeat(VALUE), &nonce);
        let (status, answer) = call(client.post(format!("{base}/put")).json(&body)).await;
        assert_eq!(status, 201, "{answer}");
        keys.push(key);
    }
    keys
}

/// `reads` gets of `keys`, alternating replicas, all at once; how many were served. Every
/// other answer must be the quota's 402.
async fn hammer(
    client: &reqwest::Client,
    replicas: &[Replica],
    keys: &[String],
    reads: usize,
) -> usize {
    let answers = join_all((0..reads).map(|n| {
        let url = format!("{}/get", replicas[n % replicas.len()].base);
        let key = keys[n % keys.len()].clone();
        let client = client.clone();
        async move { call(client.get(url).query(&[("key", key)])).await }
    }))
    .await;
    for answer in answers.iter().filter(|a| a.0 != 200) {
        assert_error(answer, 402, "Transfer quota used up; buy another bucket");
    }
    for answer in answers.iter().filter(|a| a.0 == 200) {
        assert_eq!(answer.1["value"].as_str().unwrap().len(), VALUE);
    }
    answers.iter().filter(|a| a.0 == 200).count()
}

/// The transfer written for `owner`, over all its buckets.
async fn written(db: &Database, owner: &str) -> u64 {
    let owner = owner.to_owned();
    let used: Vec<i64> = db
        .run(move |conn| {
            buckets::table
                .filter(buckets::owner.eq(owner))
                .select(buckets::transfer_used)
                .load(conn)
                .map_err(DbError::Query)
        })
        .await
        .unwrap();
    used.iter().map(|n| u64::try_from(*n).unwrap()).sum()
}

async fn two_replicas_share_the_quota(url: String) {
    let replicas = [Replica::start(&url).await, Replica::start(&url).await];
    let db = Database::connect(&url, PoolOptions::default()).unwrap();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let (heavy, light) = (User::new(), User::new());
    let heavy_keys = store(&client, &replicas[0].base, &heavy, 4).await;
    let light_keys = store(&client, &replicas[1].base, &light, 3).await;

    // The light owner stays well inside its quota: every read is served, and the periodic
    // flush writes exactly what was served without any shutdown.
    let light_served = hammer(&client, &replicas, &light_keys, 40).await;
    assert_eq!(light_served, 40);
    let expected = 40 * VALUE as u64;
    let deadline = Instant::now() + Duration::from_secs(20);
    while written(&db, &light.master.to_string()).await != expected {
        assert!(Instant::now() < deadline, "periodic flush never came");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    // The heavy owner: five times its quota asked at once through both replicas.
    let reads = 5 * QUOTA as usize / VALUE;
    let mut served = hammer(&client, &replicas, &heavy_keys, reads).await;
    let quota_reads = QUOTA as usize / VALUE;
    assert!(served >= quota_reads, "{served} served of {quota_reads}");
    // Once used up, both replicas refuse; a replica that has not seen the other's last
    // bytes yet may serve a few more, within the bound.
    for replica in &replicas {
        let mut answered = 0;
        loop {
            let key = &heavy_keys[answered % heavy_keys.len()];
            let answer = call(
                client
                    .get(format!("{}/get", replica.base))
                    .query(&[("key", key)]),
            )
            .await;
            answered += 1;
            if answer.0 == 402 {
                break;
            }
            assert_eq!(answer.0, 200, "{answer:?}");
            served += 1;
            assert!(answered < reads, "never refused");
        }
    }
    let served_bytes = (served * VALUE) as u64;
    eprintln!("served {served_bytes} bytes: quota {QUOTA}, bound {BOUND}");
    assert!(
        served_bytes <= QUOTA + BOUND,
        "{served_bytes} bytes served, quota {QUOTA} + bound {BOUND}"
    );

    // Graceful shutdown writes the rest: the books hold exactly what was served.
    for replica in replicas {
        replica.stop().await;
    }
    assert_eq!(written(&db, &heavy.master.to_string()).await, served_bytes);
    assert_eq!(written(&db, &light.master.to_string()).await, expected);

    // A new replica over the same books still refuses.
    let replica = Replica::start(&url).await;
    let answer = call(
        client
            .get(format!("{}/get", replica.base))
            .query(&[("key", &heavy_keys[0])]),
    )
    .await;
    assert_error(&answer, 402, "Transfer quota used up; buy another bucket");
    replica.stop().await;
}

service_kit::backend_tests!(two_replicas, two_replicas_share_the_quota);
