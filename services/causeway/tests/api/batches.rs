//! Many owners' puts, replays and gets at once: on SQLite they share the writer's batches
//! (one transaction, a savepoint each), elsewhere they are concurrent transactions. Either
//! way every owner's quota comes out exact and a refused operation changes nothing.

use futures_util::future::join_all;
use serde_json::Value;
use service_kit::db::Backend;

use crate::helpers::*;

/// Room for exactly five 100-byte documents (32-byte key + 68-byte value), and transfer for
/// exactly fourteen reads of a 68-byte value.
const BUCKET: u64 = 500;
const TRANSFER: u64 = 1000;
const USERS: usize = 4;
const PUTS_PER_USER: usize = 12;

async fn mixed_batches_keep_every_quota_exact(url: String) {
    let app = spawn_with(url, |s| {
        s.bucket_bytes = BUCKET;
        s.bucket_transfer_bytes = TRANSFER;
        s.free_buckets = 1;
    })
    .await;
    let users: Vec<User> = (0..USERS).map(|_| User::new()).collect();
    let mut nonces = Vec::new();
    for user in &users {
        assert_eq!(app.request_bucket(user).await.0, 200);
        nonces.push(app.nonce(user).await);
    }
    let value = "v".repeat(68);

    // Each user's puts, each sent twice (the second is a replay or loses the race), and a
    // put with a stale nonce, all at once.
    let mut bodies: Vec<(usize, Value)> = Vec::new();
    for (u, user) in users.iter().enumerate() {
        for _ in 0..PUTS_PER_USER {
            let body = user.put_body(&random_key(), &value, &nonces[u]);
            bodies.push((u, body.clone()));
            bodies.push((u, body));
        }
        let stale = "0".repeat(32);
        bodies.push((u, user.put_body(&random_key(), &value, &stale)));
    }
    let results = join_all(bodies.iter().map(|(_, b)| app.post_json("/put", b))).await;
    for (u, user) in users.iter().enumerate() {
        let mine: Vec<&(u16, Value)> = bodies
            .iter()
            .zip(&results)
            .filter(|((owner, _), _)| *owner == u)
            .map(|(_, r)| r)
            .collect();
        let created = mine.iter().filter(|r| r.0 == 201).count();
        assert_eq!(created, 5, "user {u}: {mine:?}");
        // Every copy of an accepted put is a replay; the stale nonce is the one other 401.
        let refused = |status| mine.iter().filter(|r| r.0 == status).count();
        assert_eq!(refused(401), created + 1, "user {u}: {mine:?}");
        assert_eq!(
            refused(403),
            mine.len() - 2 * created - 1,
            "user {u}: {mine:?}"
        );
        let buckets = app.buckets(user).await;
        assert_eq!(buckets[0]["bytes_free"], "0", "user {u}");
    }
    let (_, status) = app.get("/status", &[]).await;
    assert_eq!(status["stored"], (USERS as u64 * BUCKET).to_string());

    // Fifteen reads per owner, fourteen served, whoever asks first.
    let stored: Vec<String> = bodies
        .iter()
        .zip(&results)
        .filter(|(_, r)| r.0 == 201)
        .map(|((_, b), _)| b["key"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored.len(), USERS * 5);
    let reads: Vec<&String> = stored.iter().cycle().take(stored.len() * 3).collect();
    let served = join_all(reads.iter().map(|key| app.get_key(key))).await;
    let per_owner = TRANSFER as usize / value.len();
    assert_eq!(per_owner, 14);
    assert_eq!(
        served.iter().filter(|r| r.0 == 200).count(),
        USERS * per_owner
    );
    for r in served.iter().filter(|r| r.0 != 200) {
        assert_error(r, 402, "Transfer quota used up; buy another bucket");
    }
    assert_batches_ran(&app).await;
}

/// On the server backends, a hundred puts at once made batches, and none failed as a whole
/// (its puts would then have run one by one and still passed the checks above).
async fn assert_batches_ran(app: &TestApp) {
    if app.db.backend() == Backend::Sqlite {
        return;
    }
    assert!(counter(app, "causeway_put_batches_total").await > 0);
    assert_eq!(counter(app, "causeway_put_batches_refused_total").await, 0);
}

service_kit::backend_tests!(mixed_batches, mixed_batches_keep_every_quota_exact);

/// Stored keys overwritten all at once (a batch of updates on the server backends): each key
/// reads its new value, and the bucket is charged the new sizes only, the old ones refunded.
async fn batched_updates_replace_values_and_refund_sizes(url: String) {
    let (app, user, nonce) = one_bucket_owner(url, BUCKET).await;
    let keys: Vec<String> = (0..5).map(|_| random_key()).collect();
    for key in &keys {
        let body = user.put_body(key, &"o".repeat(68), &nonce);
        assert_eq!(app.post_json("/put", &body).await.0, 201);
    }
    assert_eq!(app.buckets(&user).await[0]["bytes_free"], "0");

    let bodies: Vec<Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| user.put_body(key, &format!("new{i}"), &nonce))
        .collect();
    let results = join_all(bodies.iter().map(|b| app.post_json("/put", b))).await;
    assert!(results.iter().all(|r| r.0 == 201), "{results:?}");
    for (i, key) in keys.iter().enumerate() {
        assert_eq!(app.get_key(key).await.1["value"], format!("new{i}"));
    }
    let charged = keys.len() as u64 * (32 + 4);
    assert_eq!(
        app.buckets(&user).await[0]["bytes_free"],
        (BUCKET - charged).to_string()
    );
    if app.db.backend() != Backend::Sqlite {
        assert_eq!(counter(&app, "causeway_put_batches_refused_total").await, 0);
    }
}

service_kit::backend_tests!(
    batched_updates,
    batched_updates_replace_values_and_refund_sizes
);
