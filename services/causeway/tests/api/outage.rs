//! The database restarted under load: signed puts keep arriving while a private PostgreSQL or
//! MariaDB is stopped and started again. Every put acknowledged (201) is readable afterwards
//! with its value; nothing answers 500.

use std::sync::Arc;
use std::time::{Duration, Instant};

use service_kit::db::Backend;
use service_kit::testing::outage::{Write, outage_drill};
use service_kit::testing::private_db::PrivateServer;

use crate::helpers::{User, random_key, spawn_app};

async fn drill(backend: Backend) {
    let server = PrivateServer::start(backend).unwrap();
    let app = Arc::new(spawn_app(server.url()).await);
    let user = Arc::new(User::new());
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = Arc::new(app.nonce(&user).await);
    let keys: Arc<Vec<String>> = Arc::new((0..100_000).map(|_| random_key()).collect());
    let (writer_app, writer_keys) = (app.clone(), keys.clone());
    let ready = format!("{}/health/ready", app.base);
    let (drill, _server) = outage_drill(server, &ready, 4, move |n| {
        let (app, keys, user, nonce) = (
            writer_app.clone(),
            writer_keys.clone(),
            user.clone(),
            nonce.clone(),
        );
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let key = &keys[usize::try_from(n).unwrap()];
            let body = user.put_body_by_master(key, &format!("value {n}"), &nonce);
            match app.client.post(app.url("/put")).json(&body).send().await {
                Ok(response) => Write::of(response).await,
                Err(err) => Write::Wrong(err.to_string()),
            }
        }
    })
    .await;

    for n in &drill.acknowledged {
        let key = &keys[usize::try_from(*n).unwrap()];
        let (status, body) = app.get_key(key).await;
        assert_eq!(status, 200, "write {n}: {body}");
        assert_eq!(body["value"], format!("value {n}"), "write {n}: {body}");
    }
}

service_kit::server_tests!(drill);

/// Only reads arrive, and nothing probes readiness: the batched reads' own failures must be
/// enough for the pool to drop its dead connections once the database is back. (No read
/// before the stop: its transfer flush, failing during the outage, would have the pool
/// check its connections and hide a batcher that reports nothing. On MariaDB this failed,
/// 503 for good, before the batcher reported its failures.)
async fn reads_recover_unprobed(backend: Backend) {
    let mut server = PrivateServer::start(backend).unwrap();
    let app = spawn_app(server.url()).await;
    let user = User::new();
    assert_eq!(app.request_bucket(&user).await.0, 200);
    let nonce = app.nonce(&user).await;
    let key = random_key();
    assert_eq!(app.put(&user, &key, "kept", &nonce).await.0, 201);

    server.stop().unwrap();
    server.resume().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, body) = app.get_key(&key).await;
        if status == 200 {
            assert_eq!(body["value"], "kept");
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "reads still fail: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

mod unprobed {
    service_kit::server_tests!(super::reads_recover_unprobed);
}
