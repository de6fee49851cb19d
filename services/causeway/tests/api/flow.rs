//! python-rein's `rein request` + `sync_core` + `/query`, request by request.

use serde_json::Value;

use crate::helpers::*;

async fn python_rein_flow(url: String) {
    let app = spawn_app(url).await;
    app.sim.mine(20);
    let user = User::new();

    let (status, body) = app.request_bucket(&user).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    let bucket = &body["buckets"][0];
    assert_eq!(bucket["bytes_free"], "1048576");
    let created = bucket["created"].as_str().unwrap();
    assert!(
        chrono::NaiveDateTime::parse_from_str(created, "%Y-%m-%d %H:%M:%S").is_ok(),
        "{created}"
    );

    // mediators query first, as sync_core does.
    let (status, body) = app
        .get(
            "/query",
            &[
                ("owner", &user.master.to_string()),
                ("query", "mediators"),
                ("testnet", "False"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["mediators"], serde_json::json!([]));

    let nonce = app.nonce(&user).await;
    assert_eq!(nonce.len(), 32);
    // The enrollment signed by the master key (which binds the delegate), then two jobs.
    let documents: Vec<(String, String)> = (0..3)
        .map(|i| {
            let value = if i == 0 {
                user.enrollment()
            } else {
                format!(
                    "-----BEGIN BITCOIN SIGNED MESSAGE-----\nRein Job\nUser: Alice\nJob ID: job{i}\nWilling to mediate: True\n-----END BITCOIN SIGNED MESSAGE-----"
                )
            };
            (random_key(), value)
        })
        .collect();
    for (key, value) in &documents {
        let (status, body) = app.get_key(key).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"], "Key not found.");
        let (status, body) = app.put(&user, key, value, &nonce).await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(body["result"], "success");
        assert_eq!(body["status"], "success");
    }
    for (key, value) in &documents {
        let (status, body) = app.get_key(key).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["key"], key.as_str());
        assert_eq!(body["value"], value.as_str());
    }
    let (status, body) = app
        .get(
            "/nonce",
            &[("address", &user.master.to_string()), ("clear", &nonce)],
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["nonce"], "");

    let (status, body) = app
        .get(
            "/query",
            &[
                ("owner", &user.master.to_string()),
                ("query", "jobs"),
                ("testnet", "False"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"], "success");
    assert_eq!(body["jobs"].as_array().unwrap().len(), 2);
    let info = &body["block_info"];
    assert_eq!(info["height"], 20 - 12);
    assert_eq!(info["hash"].as_str().unwrap().len(), 64);
    assert!(info["time"].as_u64().unwrap() > 0);

    // Storage was debited in bytes: keys and values.
    let used: usize = documents.iter().map(|(k, v)| k.len() + v.len()).sum();
    let buckets = app.buckets(&user).await;
    let free: usize = buckets
        .iter()
        .map(|b| b["bytes_free"].as_str().unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(free, buckets.len() * 1_048_576 - used);
    let _: &Value = &buckets[0];
}

service_kit::backend_tests!(python_rein, python_rein_flow);
