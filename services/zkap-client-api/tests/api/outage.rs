//! The database restarted under load: vouchers keep arriving while a private PostgreSQL or
//! MariaDB is stopped and started again. Every voucher acknowledged (200) is stored and is
//! redeemed to completion once the database is back; nothing answers 500.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use service_kit::db::Backend;
use service_kit::testing::outage::{Write, outage_drill};
use service_kit::testing::private_db::PrivateServer;

use crate::helpers::{TOKENS, random_voucher, spawn_app_on};

async fn drill(backend: Backend) {
    let server = PrivateServer::start(backend).unwrap();
    let app = Arc::new(spawn_app_on(server.url()).await);
    let vouchers: Arc<Vec<String>> = Arc::new((0..100_000).map(|_| random_voucher()).collect());
    let (writer_app, writer_vouchers) = (app.clone(), vouchers.clone());
    let ready = format!("{}/health/ready", app.root);
    let (drill, _server) = outage_drill(server, &ready, 4, move |n| {
        let (app, vouchers) = (writer_app.clone(), writer_vouchers.clone());
        async move {
            // Paced, so the issuer's work stays small beside the drill.
            tokio::time::sleep(Duration::from_millis(50)).await;
            let voucher = &vouchers[usize::try_from(n).unwrap()];
            app.sim.mark_paid(voucher);
            let sent = app
                .client
                .put(app.url("voucher"))
                .header("authorization", app.auth())
                .json(&json!({ "voucher": voucher }))
                .timeout(Duration::from_secs(30))
                .send()
                .await;
            match sent {
                Ok(response) => Write::of(response).await,
                Err(err) => Write::Wrong(err.to_string()),
            }
        }
    })
    .await;

    for n in &drill.acknowledged {
        let voucher = &vouchers[usize::try_from(*n).unwrap()];
        let status = app.wait_for_state(voucher, "redeemed").await;
        assert_eq!(status["state"]["token-count"], TOKENS, "{voucher}");
    }
    assert_eq!(
        app.spendable().await,
        TOKENS * drill.acknowledged.len() as u64
    );
}

service_kit::server_tests!(drill);
