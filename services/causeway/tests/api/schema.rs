//! A replica started with `--no-migrate` before the migration Job ran waits unready, and is
//! ready once the schema is complete.

use causeway::settings::Command;
use causeway::{Application, Settings};
use service_kit::startup::Service as _;
use service_kit::testing::{TestServer, assert_waits_for_schema};

async fn waits_for_its_schema(url: String) {
    let mut settings = Settings::default();
    settings.server.port = 0;
    settings.server.workers = Some(1);
    settings.database.database_url = url;
    settings.database.migrate = false;
    let server = TestServer::start::<Application>(settings.clone())
        .await
        .unwrap();
    assert_waits_for_schema(&server.base, async {
        Application::command(Command::Migrate, settings)
            .await
            .unwrap();
    })
    .await;
}

service_kit::backend_tests!(unmigrated, waits_for_its_schema);
