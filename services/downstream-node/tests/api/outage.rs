//! The database restarted under load: farmers keep registering while a private PostgreSQL or
//! MariaDB is stopped and started again. Every token handed out (200) is known to the node
//! afterwards; nothing answers 500.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use service_kit::db::Backend;
use service_kit::testing::outage::{Write, outage_drill};
use service_kit::testing::private_db::PrivateServer;

use crate::helpers::{Identity, decode, spawn_app_with};

async fn drill(backend: Backend) {
    let server = PrivateServer::start(backend).unwrap();
    let app = Arc::new(
        spawn_app_with(server.url(), |settings| {
            settings.require_whitelist = false;
            settings.max_tokens_per_ip = u32::MAX;
            settings.ip_rate_limit = 0.0;
        })
        .await,
    );
    let farmer = Arc::new(Identity::new(7));
    let tokens = Arc::new(Mutex::new(HashMap::new()));
    let (writer_app, writer_tokens) = (app.clone(), tokens.clone());
    let ready = format!("{}/health/ready", app.root);
    let (drill, _server) = outage_drill(server, &ready, 4, move |n| {
        let (app, tokens, farmer) = (writer_app.clone(), writer_tokens.clone(), farmer.clone());
        async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let sent = app
                .client
                .post(format!("{}/new/{}", app.api, farmer.address))
                .json(&farmer.signed_body())
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            let response = match sent {
                Ok(response) if response.status().is_success() => response,
                Ok(response) => return Write::of(response).await,
                Err(err) => return Write::Wrong(err.to_string()),
            };
            let (_, body) = decode(response).await;
            match body["token"].as_str() {
                Some(token) => {
                    tokens.lock().unwrap().insert(n, token.to_owned());
                    Write::Acknowledged
                }
                None => Write::Wrong(format!("200 without a token: {body}")),
            }
        }
    })
    .await;

    let tokens = tokens.lock().unwrap().clone();
    for n in &drill.acknowledged {
        let token = &tokens[n];
        let (status, body) = app.get(&format!("/heartbeat/{token}")).await;
        assert_eq!(status, 200, "token {token} of write {n}: {body}");
    }
}

service_kit::server_tests!(drill);
