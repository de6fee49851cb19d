//! The single-machine stand-in for a cluster: two causeway processes on one PostgreSQL
//! database (replicas behind one Service), migrating at the same moment, with concurrent
//! puts and gets through both. Nothing may be lost, stored twice or exceed a bucket.

use std::process::Stdio;

use futures_util::future::join_all;
use service_kit::db::Backend;
use service_kit::testing::TestDatabase;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;

/// Room for exactly five 100-byte documents (32-byte key + 68-byte value).
const BUCKET: u64 = 500;
const USERS: usize = 4;
const PUTS_PER_USER: usize = 12;

struct Replica {
    _child: Child,
    base: String,
}

async fn spawn_replica(database_url: &str) -> Replica {
    let mut child = Command::new(env!("CARGO_BIN_EXE_causeway"))
        .args(["--host", "127.0.0.1", "--port", "0", "--free-buckets", "1"])
        .args([
            "--bucket-bytes",
            &BUCKET.to_string(),
            "--database-url",
            database_url,
        ])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let marker = "causeway listening on port ";
    let port = loop {
        let line = lines
            .next_line()
            .await
            .unwrap()
            .expect("causeway exited before listening");
        if let Some(at) = line.find(marker) {
            break line[at + marker.len()..].trim().to_owned();
        }
    };
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Replica {
        _child: child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

mod two_replicas_on_one_database {
    use super::*;

    #[tokio::test]
    async fn postgres() {
        two_replicas(Backend::Postgres).await
    }
}

async fn two_replicas(backend: Backend) {
    let db = TestDatabase::require(backend);
    // Both start (and migrate) at once: the advisory lock must serialise them.
    let replicas = join_all([spawn_replica(db.url()), spawn_replica(db.url())]).await;
    let client = reqwest::Client::new();
    let users: Vec<User> = (0..USERS).map(|_| User::new()).collect();

    for (n, user) in users.iter().enumerate() {
        let base = &replicas[n % 2].base;
        let query = [
            ("owner", user.master.to_string()),
            ("delegate", user.delegate.to_string()),
            ("contact", "user@example.com".to_owned()),
        ];
        let (status, body) = call(client.get(format!("{base}/request")).query(&query)).await;
        assert_eq!(status, 200, "{body}");
    }
    let mut nonces = Vec::new();
    for (n, user) in users.iter().enumerate() {
        let base = &replicas[(n + 1) % 2].base;
        let query = [("address", user.master.to_string())];
        let (status, body) = call(client.get(format!("{base}/nonce")).query(&query)).await;
        assert_eq!(status, 200, "{body}");
        nonces.push(body["nonce"].as_str().unwrap().to_owned());
    }

    let value = "v".repeat(68);
    let mut puts = Vec::new();
    for (user, nonce) in users.iter().zip(&nonces) {
        for n in 0..PUTS_PER_USER {
            let key = random_key();
            let body = user.put_body(&key, &value, nonce);
            let url = format!("{}/put", replicas[n % 2].base);
            let client = client.clone();
            let owner = user.master.to_string();
            puts.push(async move { (owner, key, call(client.post(url).json(&body)).await) });
        }
    }
    let results = join_all(puts).await;

    for user in &users {
        let owner = user.master.to_string();
        let mine: Vec<_> = results.iter().filter(|(o, _, _)| *o == owner).collect();
        let created: Vec<_> = mine.iter().filter(|(_, _, r)| r.0 == 201).collect();
        assert_eq!(created.len(), 5, "over or under quota: {mine:?}");
        for (_, _, refused) in mine.iter().filter(|(_, _, r)| r.0 != 201) {
            assert_error(refused, 403, "Insufficient storage space.");
        }
        // Every accepted document is readable, whole, through both replicas; none of the
        // refused ones exists.
        for (_, key, result) in &mine {
            for replica in &replicas {
                let (status, body) = call(
                    client
                        .get(format!("{}/get", replica.base))
                        .query(&[("key", key)]),
                )
                .await;
                if result.0 == 201 {
                    assert_eq!(status, 200, "{body}");
                    assert_eq!(body["value"], value.as_str());
                } else {
                    assert_eq!(status, 404, "refused put stored anyway: {body}");
                }
            }
        }
    }
    for replica in &replicas {
        let (status, body) = call(client.get(format!("{}/status", replica.base))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["stored"],
            (USERS as u64 * BUCKET).to_string(),
            "{body}"
        );
    }
}
