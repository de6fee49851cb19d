//! The database's disk full (SQLite on a small tmpfs): registration answers 507 in the node's
//! error format, farmers already known keep working, the replica stays ready with its database
//! space reported, and registration works again once space returns.

use service_kit::testing::small_disk::SmallDisk;

use crate::helpers::{Identity, spawn_app_with};

#[actix_web::test]
async fn small_disk_full_is_507_then_recovers() {
    let disk = SmallDisk::mount(8).unwrap();
    let app = spawn_app_with(
        format!("sqlite://{}/node.sqlite", disk.path().display()),
        |s| {
            s.require_whitelist = false;
            s.max_tokens_per_ip = u32::MAX;
            s.ip_rate_limit = 0.0;
        },
    )
    .await;
    let farmer = Identity::new(9);
    let path = format!("/new/{}", farmer.address);
    let (status, body) = app.post(&path, &farmer.signed_body()).await;
    assert_eq!(status, 200, "{body}");
    let known = body["token"].as_str().unwrap().to_owned();

    disk.fill().unwrap();
    let mut refused = false;
    for _ in 0..5000 {
        let (status, body) = app.post(&path, &farmer.signed_body()).await;
        match status {
            200 => continue,
            507 => {
                assert_eq!(body["status"], "error", "{body}");
                assert_eq!(
                    body["message"],
                    "insufficient storage: the database disk is full"
                );
                refused = true;
                break;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert!(refused, "the full disk never refused a registration");
    let (status, body) = app.get(&format!("/heartbeat/{known}")).await;
    assert_eq!(status, 200, "{body}");
    service_kit::testing::assert_ready_reporting_space(&app.root, "database_space").await;

    disk.free().unwrap();
    assert_eq!(app.post(&path, &farmer.signed_body()).await.0, 200);
}
