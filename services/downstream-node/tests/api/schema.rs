//! A replica started with `--no-migrate` before the migration Job ran waits unready, and is
//! ready once the schema is complete.

use downstream_node::app::connect;
use downstream_node::db::MIGRATIONS;
use downstream_node::{Application, Settings};
use service_kit::testing::{TestServer, assert_waits_for_schema};

async fn waits_for_its_schema(url: String) {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = Settings {
        geoip_db: None,
        key_file: dir.path().join("key"),
        ..Settings::default()
    };
    settings.server.port = 0;
    settings.server.workers = Some(1);
    settings.database.database_url = url;
    settings.database.migrate = false;
    let server = TestServer::start::<Application>(settings.clone())
        .await
        .unwrap();
    let base = server.base.clone();
    assert_waits_for_schema(&base, async {
        connect(&settings).unwrap().migrate(&MIGRATIONS).unwrap();
    })
    .await;
}

service_kit::backend_tests!(unmigrated, waits_for_its_schema);
