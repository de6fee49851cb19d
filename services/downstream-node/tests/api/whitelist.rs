//! Whitelist import: the CSV format, deletion of absent addresses, `--keep-missing`.

use std::io::Write as _;

use downstream_node::ops::maintenance::import_whitelist;

use crate::helpers::*;

async fn import_semantics(url: String) {
    let app = spawn_app(url).await;
    let (alice, bob) = (Identity::new(81), Identity::new(82));
    let mut csv = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        csv,
        "address,balance\n{},20000\n{},15000.75",
        alice.address, bob.address
    )
    .unwrap();
    let report = import_whitelist(app.db(), csv.path(), false).await.unwrap();
    assert_eq!((report.added, report.deleted), (2, 0));

    let path = format!("/new/{}", bob.address);
    let (status, body) = app.post(&path, &bob.signed_body()).await;
    assert_eq!(status, 200, "{body}");
    let bob_token = body["token"].as_str().unwrap().to_owned();

    // Bob is absent from the next file; kept with --keep-missing...
    let mut only_alice = tempfile::NamedTempFile::new().unwrap();
    writeln!(only_alice, "address,balance\n{},5", alice.address).unwrap();
    let report = import_whitelist(app.db(), only_alice.path(), true)
        .await
        .unwrap();
    assert_eq!((report.updated, report.deleted), (1, 0));
    assert_eq!(app.get(&format!("/heartbeat/{bob_token}")).await.0, 200);
    // ...and alice is now below the minimum balance.
    let (status, body) = app
        .post(&format!("/new/{}", alice.address), &alice.signed_body())
        .await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (400, "Invalid address given: address must be in whitelist.")
    );

    // ...deleted, with his tokens, without it.
    let report = import_whitelist(app.db(), only_alice.path(), false)
        .await
        .unwrap();
    assert_eq!((report.unchanged, report.deleted), (1, 1));
    let (status, body) = app.get(&format!("/heartbeat/{bob_token}")).await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (404, "Nonexistent token.")
    );

    // A bad row aborts the whole import.
    let mut bad = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        bad,
        "address,balance\n{},1\n3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy,1",
        bob.address
    )
    .unwrap();
    assert!(import_whitelist(app.db(), bad.path(), false).await.is_err());
    assert_eq!(app.post(&path, &bob.signed_body()).await.0, 400);
}

service_kit::backend_tests!(whitelist_import, import_semantics);
