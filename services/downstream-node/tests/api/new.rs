//! `/new/<addr>` checks in the original's order, `/heartbeat/<token>`, 5 tokens per IP.

use serde_json::json;

use crate::helpers::*;

fn error(message: &str) -> serde_json::Value {
    json!({"status": "error", "message": message})
}

async fn registration_errors(url: String) {
    let app = spawn_app(url).await;
    let farmer = Identity::new(21);
    let path = format!("/new/{}", farmer.address);

    let (status, body) = app.get(&path).await;
    assert_eq!(
        (status, body),
        (
            400,
            error(
                "New token requests must include posted signature proving ownership of farming address"
            )
        )
    );

    let malformed =
        error("Posted data must be JSON encoded object including \"signature\" and \"message\"");
    let (status, body) = app.post_raw(&path, b"not json".to_vec(), false).await;
    assert_eq!((status, body), (400, malformed.clone()));
    let (status, body) = app.post(&path, &json!({"message": "m"})).await;
    assert_eq!((status, body), (400, malformed));

    let long = "x".repeat(1025);
    let (status, body) = app
        .post(
            &path,
            &json!({"message": long, "signature": farmer.signature(&long)}),
        )
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            error("Please restrict your message to less than 1024 bytes.")
        )
    );

    let (status, body) = app
        .post(&path, &json!({"message": "m", "signature": "c2ln"}))
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            error("Your signature is the wrong length.  It should be 88bytes.")
        )
    );

    let other = Identity::new(22);
    let forged = json!({"message": MESSAGE, "signature": other.signature(MESSAGE)});
    let (status, body) = app.post(&path, &forged).await;
    assert_eq!((status, body), (400, error("Signature invalid.")));
    // 88 characters of junk base64.
    let junk = json!({"message": MESSAGE, "signature": "A".repeat(88)});
    assert_eq!(
        app.post(&path, &junk).await,
        (400, error("Signature invalid."))
    );

    // P2SH and garbage addresses: 400, not the original's 500.
    for bad in [
        "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
        "notanaddress",
        "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn",
    ] {
        let (status, body) = app
            .post(&format!("/new/{bad}"), &farmer.signed_body())
            .await;
        assert_eq!(
            (status, body),
            (
                400,
                error("Invalid address given: address is not a valid SJCX address.")
            ),
            "{bad}"
        );
    }

    let not_listed = error("Invalid address given: address must be in whitelist.");
    assert_eq!(
        app.post(&path, &farmer.signed_body()).await,
        (400, not_listed.clone())
    );
    app.whitelist(&farmer.address, 9_999).await;
    assert_eq!(
        app.post(&path, &farmer.signed_body()).await,
        (400, not_listed)
    );
    app.whitelist(&farmer.address, 10_000).await;
    let (status, body) = app.post(&path, &farmer.signed_body()).await;
    assert_eq!(status, 200, "{body}");

    // The reference identity of siggy's README verifies (header byte ignored).
    let reference = "19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jV";
    app.whitelist(reference, 10_000).await;
    let signed = json!({
        "message": "test message",
        "signature": "HyzVUenXXo4pa+kgm1vS8PNJM83eIXFC5r0q86FGbqFcdla6rcw72/ciXiEPfjli3ENfwWuESHhv6K9esI0dl5I="
    });
    let (status, body) = app.post(&format!("/new/{reference}"), &signed).await;
    assert_eq!(status, 200, "{body}");
}

service_kit::backend_tests!(new_errors, registration_errors);

async fn heartbeat_round_trip(url: String) {
    let app = spawn_app(url).await;
    let token = app.register(&Identity::new(23)).await;
    let (status, body) = app.get(&format!("/heartbeat/{token}")).await;
    assert_eq!(status, 200);
    assert_eq!(body["token"], token.as_str());
    assert_eq!(body["type"], "Merkle");
    for unknown in [
        "00112233445566778899aabbccddeeff",
        "nothex",
        "00112233445566778899AABBCCDDEEFF",
    ] {
        let (status, body) = app.get(&format!("/heartbeat/{unknown}")).await;
        assert_eq!((status, body), (404, error("Nonexistent token.")));
    }
}

service_kit::backend_tests!(heartbeat, heartbeat_round_trip);

async fn five_tokens_per_ip(url: String) {
    let app = spawn_app(url).await;
    for seed in 31..36 {
        app.register(&Identity::new(seed)).await;
    }
    let sixth = Identity::new(36);
    app.whitelist(&sixth.address, 10_000).await;
    let (status, body) = app
        .post(&format!("/new/{}", sixth.address), &sixth.signed_body())
        .await;
    assert_eq!(
        (status, body),
        (
            400,
            error("IP Disallowed, only 5 tokens are permitted per IP address")
        )
    );

    // A token registered elsewhere may not move to the full address: /chunk and /answer refuse.
    let roaming = app.register_from(&sixth, "10.1.2.3".parse().unwrap()).await;
    let (status, body) = app.get(&format!("/chunk/{roaming}/1000")).await;
    assert_eq!(
        (status, body),
        (
            400,
            error("IP Disallowed, only 5 tokens are permitted per IP address")
        )
    );
    let (status, _) = app
        .post(&format!("/answer/{roaming}"), &json!({"proofs": []}))
        .await;
    assert_eq!(status, 400);
}

service_kit::backend_tests!(tokens_per_ip, five_tokens_per_ip);

async fn signature_optional_when_configured(url: String) {
    let app = spawn_app_with(url, |s| {
        s.require_signature = false;
        s.require_whitelist = false;
    })
    .await;
    let farmer = Identity::new(37);
    let (status, body) = app.get(&format!("/new/{}", farmer.address)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = app.get("/new/notanaddress").await;
    assert_eq!(
        (status, body),
        (
            400,
            error("Invalid address given: address is not a valid SJCX address.")
        )
    );
}

service_kit::backend_tests!(open_registration, signature_optional_when_configured);

/// Without a whitelist, the first registrations of a new address may arrive together: every
/// one gets its token (one address row), none a 500.
async fn concurrent_first_registrations(url: String) {
    let app = spawn_app_with(url, |s| {
        s.require_whitelist = false;
        s.max_tokens_per_ip = 100;
    })
    .await;
    let farmer = Identity::new(42);
    let body = farmer.signed_body();
    let path = format!("/new/{}", farmer.address);
    let answers = futures_util::future::join_all((0..8).map(|_| app.post(&path, &body))).await;
    for (status, body) in answers {
        assert_eq!(status, 200, "{body}");
    }
}

service_kit::backend_tests!(racing_registrations, concurrent_first_registrations);
