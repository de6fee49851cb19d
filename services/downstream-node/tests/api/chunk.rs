//! `/chunk/<token>[/<size>]`: unknown tokens, the IP change rule, default size.

use serde_json::json;

use crate::helpers::*;

async fn chunk_errors_and_ip_adoption(url: String) {
    let app = spawn_app_with(url, |s| s.default_chunk_size = 5_000).await;
    let (status, body) = app
        .get("/chunk/00112233445566778899aabbccddeeff/1000")
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            json!({"status": "error", "message": "Nonexistent token."})
        )
    );
    let (status, _) = app.get("/chunk/whatever/notanumber").await;
    assert_eq!(status, 404);

    // Registered from another address, used from here: the token adopts this IP.
    let farmer = Identity::new(41);
    let token = app
        .register_from(&farmer, "81.2.69.142".parse().unwrap())
        .await;
    let farmer_id = downstream_node::domain::FarmerToken::parse(&token)
        .unwrap()
        .farmer_id();
    let (_, shown) = app
        .get(&format!("/status/show/{}", farmer_id.as_str()))
        .await;
    assert_eq!(shown["location"]["city"], "London");
    let (status, body) = app.get(&format!("/chunk/{token}")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["chunks"][0]["size"], 5_000);
    let (_, shown) = app
        .get(&format!("/status/show/{}", farmer_id.as_str()))
        .await;
    // 127.0.0.1 is not in the test database: a location of nulls.
    assert_eq!(shown["location"]["city"], serde_json::Value::Null);
    assert_eq!(shown["contracts"], 1);
}

service_kit::backend_tests!(chunk_rules, chunk_errors_and_ip_adoption);
