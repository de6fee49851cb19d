//! /nonce: reusable until cleared, cleared only with the current nonce.

use crate::helpers::*;

#[actix_web::test]
async fn nonce_lifecycle() {
    let app = spawn_sqlite().await;
    let user = User::new();
    let master = user.master.to_string();
    assert_error(
        &app.get("/nonce", &[("address", &master)]).await,
        403,
        "User not found",
    );
    assert_eq!(app.get("/nonce", &[("address", "junk")]).await.0, 400);
    assert_eq!(app.request_bucket(&user).await.0, 200);

    let first = app.nonce(&user).await;
    assert_eq!(first.len(), 32);
    assert!(
        first
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert_eq!(app.nonce(&user).await, first, "reusable until cleared");

    // A wrong clear changes nothing.
    let (_, body) = app
        .get(
            "/nonce",
            &[
                ("address", &master),
                ("clear", "00000000000000000000000000000000"),
            ],
        )
        .await;
    assert_eq!(body["nonce"], first.as_str());
    let (_, body) = app
        .get("/nonce", &[("address", &master), ("clear", "")])
        .await;
    assert_eq!(body["nonce"], first.as_str());

    let (status, body) = app
        .get("/nonce", &[("address", &master), ("clear", &first)])
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["nonce"], "");
    let second = app.nonce(&user).await;
    assert_ne!(second, first);
    assert_eq!(second.len(), 32);
}

#[actix_web::test]
async fn nonces_expire() {
    let app = spawn_sqlite_with(|s| s.nonce_ttl_secs = 60).await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    app.execute(format!(
        "UPDATE nonces SET created_at = created_at - 61 WHERE owner = '{}'",
        user.master
    ))
    .await;
    assert_error(
        &app.put(&user, &random_key(), "v", &nonce).await,
        401,
        "Bad nonce",
    );
    let fresh = app.nonce(&user).await;
    assert_ne!(fresh, nonce);
    assert_eq!(app.put(&user, &random_key(), "v", &fresh).await.0, 201);
}
