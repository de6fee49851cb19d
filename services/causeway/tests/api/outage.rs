//! The database restarted under load: signed puts keep arriving while a private PostgreSQL or
//! MariaDB is stopped and started again. Every put acknowledged (201) is readable afterwards
//! with its value; nothing answers 500.

use std::sync::Arc;
use std::time::Duration;

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
