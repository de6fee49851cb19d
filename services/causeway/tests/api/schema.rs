//! A replica started with `--no-migrate` before the migration Job ran waits unready, and is
//! ready once the schema is complete.

use causeway::{Application, Settings};
use service_kit::testing::assert_waits_for_schema;

async fn waits_for_its_schema(url: String) {
    let settings = Settings {
        port: 0,
        database_url: url,
        migrate: false,
        workers: Some(1),
        ..Settings::default()
    };
    let app = Application::build(settings.clone()).unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run());
    assert_waits_for_schema(&base, async {
        causeway::migrate(&settings).unwrap();
    })
    .await;
}

service_kit::backend_tests!(unmigrated, waits_for_its_schema);
