//! Storage and transfer quotas under concurrent requests, and expiry.

use futures_util::future::join_all;

use crate::helpers::*;

/// Room for exactly five 100-byte documents (32-byte key + 68-byte value).
const BUCKET: u64 = 500;

async fn concurrent_puts_never_exceed_a_bucket(url: String) {
    let (app, user, nonce) = one_bucket_owner(url, BUCKET).await;
    let value = "v".repeat(68);
    let keys: Vec<String> = (0..16).map(|_| random_key()).collect();
    let results = join_all(keys.iter().map(|key| app.put(&user, key, &value, &nonce))).await;
    let created = results.iter().filter(|r| r.0 == 201).count();
    let refused: Vec<_> = results.iter().filter(|r| r.0 != 201).collect();
    assert_eq!(created, 5, "{results:?}");
    for r in refused {
        assert_error(r, 403, "Insufficient storage space.");
    }
    let buckets = app.buckets(&user).await;
    assert_eq!(buckets.len(), 1);
    assert_eq!(buckets[0]["bytes_free"], "0");
    let (_, status) = app.get("/status", &[]).await;
    assert_eq!(status["stored"], "500");

    // Concurrent updates of one key, growing and shrinking, keep the books exact.
    let (stored, _) = results
        .iter()
        .zip(&keys)
        .find(|(r, _)| r.0 == 201)
        .map(|(_, k)| (k, ()))
        .unwrap();
    let sizes = [10usize, 68, 30, 67, 1, 50];
    let values: Vec<String> = sizes.iter().map(|n| "u".repeat(*n)).collect();
    let updates = join_all(values.iter().map(|v| app.put(&user, stored, v, &nonce))).await;
    assert!(updates.iter().all(|r| r.0 == 201), "{updates:?}");
    let final_value = app.get_key(stored).await.1["value"].as_str().unwrap().len();
    let buckets = app.buckets(&user).await;
    let free: i64 = buckets[0]["bytes_free"].as_str().unwrap().parse().unwrap();
    assert_eq!(free, (68 - final_value) as i64);
}

service_kit::backend_tests!(storage_quota, concurrent_puts_never_exceed_a_bucket);

async fn concurrent_gets_never_exceed_transfer(url: String) {
    let app = spawn_with(url, |s| {
        s.bucket_transfer_bytes = 1000;
        s.free_buckets = 2;
    })
    .await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(app.put(&user, &key, &"t".repeat(100), &nonce).await.0, 201);

    let results = join_all((0..25).map(|_| app.get_key(&key))).await;
    let served = results.iter().filter(|r| r.0 == 200).count();
    assert_eq!(served, 10, "{results:?}");
    for r in results.iter().filter(|r| r.0 != 200) {
        assert_error(r, 402, "Transfer quota used up; buy another bucket");
    }
    // The data is kept, and served again once there is more transfer.
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let (status, body) = app.get_key(&key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["value"].as_str().unwrap().len(), 100);
}

service_kit::backend_tests!(transfer_quota, concurrent_gets_never_exceed_transfer);

async fn expired_buckets_stop_writes_and_move_data(url: String) {
    let app = spawn_with(url, |s| s.free_buckets = 2).await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(app.put(&user, &key, "old data", &nonce).await.0, 201);
    app.execute(format!(
        "UPDATE buckets SET expires_at = 1000 WHERE owner = '{}'",
        user.master
    ))
    .await;
    let refused = app.put(&user, &random_key(), "more", &nonce).await;
    assert_error(&refused, 403, "Insufficient storage space.");
    // Kept; readable only with live transfer, which an expired bucket has not.
    assert_eq!(app.get_key(&key).await.0, 402);

    let (_, body) = app.request_bucket(&user).await;
    let buckets = body["buckets"].as_array().unwrap();
    assert_eq!(buckets.len(), 2);
    assert_eq!(buckets[0]["expired"], true);
    assert_eq!(buckets[0]["bytes_free"], "1048576", "moved out: {body}");
    assert_eq!(buckets[1]["bytes_free"], (1_048_576 - 40).to_string());
    assert_eq!(app.get_key(&key).await.1["value"], "old data");
    assert_eq!(app.put(&user, &random_key(), "more", &nonce).await.0, 201);
}

service_kit::backend_tests!(expiry, expired_buckets_stop_writes_and_move_data);
