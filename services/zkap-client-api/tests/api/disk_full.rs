//! The database's disk full (SQLite on a small tmpfs): a new voucher answers 507 in the JSON
//! error format and is not kept; what is stored stays readable; the replica stays ready with
//! its database space reported; vouchers are accepted again once space returns.

use service_kit::testing::small_disk::SmallDisk;

use crate::helpers::{Options, random_voucher, spawn_with};

#[actix_web::test]
async fn small_disk_full_is_507_then_recovers() {
    let disk = SmallDisk::mount(8).unwrap();
    let app = spawn_with(Options {
        database_url: Some(format!("sqlite://{}/zkap.sqlite", disk.path().display())),
        ..Options::default()
    })
    .await;
    let kept = app.redeemed_voucher().await;

    disk.fill().unwrap();
    let mut refused = None;
    for _ in 0..5000 {
        let voucher = random_voucher();
        let response = app.put_voucher(&voucher).await;
        match response.status().as_u16() {
            200 => continue,
            507 => {
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(
                    body["error"],
                    "insufficient storage: the database disk is full"
                );
                refused = Some(voucher);
                break;
            }
            other => panic!("{other}: {}", response.text().await.unwrap()),
        }
    }
    let refused = refused.expect("the full disk never refused a voucher");
    let missing = app.get(&format!("voucher/{refused}")).send().await.unwrap();
    assert_eq!(missing.status(), 404, "a refused voucher is not kept");
    assert_eq!(app.voucher(&kept).await["state"]["name"], "redeemed");
    service_kit::testing::assert_ready_reporting_space(&app.root, "database_space").await;

    disk.free().unwrap();
    let voucher = random_voucher();
    assert_eq!(app.put_voucher(&voucher).await.status(), 200);
}
