//! A replica started with `--no-migrate` before the migration Job ran starts (it used to
//! exit), waits unready, and is ready once the schema is complete.

use service_kit::startup::Service as _;
use service_kit::testing::assert_waits_for_schema;
use zkap_client_api::Application;
use zkap_client_api::settings::Command;

use crate::helpers::{Options, spawn_with};

async fn waits_for_its_schema(url: String) {
    let app = spawn_with(Options {
        database_url: Some(url),
        migrate: Some(false),
        ..Options::default()
    })
    .await;
    assert_waits_for_schema(&app.root, async {
        Application::command(Command::Migrate, app.settings.clone())
            .await
            .unwrap();
    })
    .await;
}

service_kit::backend_tests!(unmigrated, waits_for_its_schema);
