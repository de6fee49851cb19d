//! `/status/list...` and `/status/show/<id>` over a seeded population: sorting, ties,
//! paging, the online filter before paging.

use diesel::prelude::*;
use downstream_node::db::schema::tokens;
use downstream_node::db::tokens::NewToken;
use serde_json::{Value, json};

use crate::helpers::*;

/// (farmer id, heartbeats, online contracts, bytes, online, uptime)
const POPULATION: [(&str, i64, i64, i64, bool, f64); 7] = [
    ("aaaaaaaaaaaaaaaaaaa1", 10, 2, 2000, true, 99.5),
    ("aaaaaaaaaaaaaaaaaaa2", 30, 0, 0, false, 40.0),
    ("aaaaaaaaaaaaaaaaaaa3", 20, 1, 500, true, 99.5),
    ("aaaaaaaaaaaaaaaaaaa4", 0, 0, 0, false, 0.0),
    ("aaaaaaaaaaaaaaaaaaa5", 5, 3, 9000, true, 12.345),
    ("aaaaaaaaaaaaaaaaaaa6", 7, 1, 100, true, 75.0),
    ("aaaaaaaaaaaaaaaaaaa7", 1, 0, 0, false, 99.5),
];

pub(crate) async fn seed(app: &TestApp) {
    let farmer = Identity::new(71);
    app.whitelist(&farmer.address, 10_000).await;
    let address = farmer.address.clone();
    app.db()
        .run(move |conn| {
            let address_id = downstream_node::db::addresses::find(conn, &address)?
                .unwrap()
                .id;
            for (i, (id, hb, contracts, size, online, uptime)) in POPULATION.iter().enumerate() {
                let token = format!("{:032x}", i + 1);
                downstream_node::db::tokens::insert(
                    conn,
                    &NewToken {
                        token: &token,
                        farmer_id: id,
                        address_id,
                        address: &format!("addr{}", 7 - i),
                        ip_address: "127.0.0.2",
                        location: None,
                        message: "",
                        signature: "",
                        created_at: 0,
                        hbcount: *hb,
                        online_contracts: *contracts,
                        online_size: *size,
                        online: *online,
                        uptime: *uptime,
                        upsum_closed: 0,
                    },
                )?;
                diesel::update(tokens::table.filter(tokens::farmer_id.eq(id)))
                    .set(tokens::last_due.eq(Some(1_420_070_400_000 + i as i64)))
                    .execute(conn)?;
            }
            Ok::<_, service_kit::db::DbError>(())
        })
        .await
        .unwrap();
}

fn ids(body: &Value) -> Vec<String> {
    body["farmers"]
        .as_array()
        .unwrap_or_else(|| panic!("{body}"))
        .iter()
        .map(|f| f["id"].as_str().unwrap()[19..].to_owned())
        .collect()
}

async fn sorting_paging_and_filters(url: String) {
    let app = spawn_app(url).await;
    seed(&app).await;
    let list = |path: &str| {
        let path = format!("/status/list{path}");
        let app = &app;
        async move {
            let (status, body) = app.get(&path).await;
            assert_eq!(status, 200, "{path}: {body}");
            ids(&body)
        }
    };
    assert_eq!(list("").await, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(list("/").await, ["1", "2", "3", "4", "5", "6", "7"]);
    assert_eq!(list("/3").await, ["1", "2", "3"]);
    assert_eq!(list("/3/1").await, ["4", "5", "6"]);
    // Ties on uptime broken by farmer id, in the sort's direction.
    assert_eq!(
        list("/by/d/uptime").await,
        ["7", "3", "1", "6", "2", "5", "4"]
    );
    assert_eq!(
        list("/by/uptime").await,
        ["4", "5", "2", "6", "1", "3", "7"]
    );
    assert_eq!(list("/by/d/uptime/2/1").await, ["1", "6"]);
    assert_eq!(
        list("/by/heartbeats").await,
        ["4", "7", "5", "6", "1", "3", "2"]
    );
    assert_eq!(
        list("/by/d/contracts").await,
        ["5", "1", "6", "3", "7", "4", "2"]
    );
    assert_eq!(list("/by/d/size/3").await, ["5", "1", "3"]);
    assert_eq!(
        list("/by/address").await,
        ["7", "6", "5", "4", "3", "2", "1"]
    );
    assert_eq!(
        list("/by/d/online").await,
        ["6", "5", "3", "1", "7", "4", "2"]
    );
    assert_eq!(list("/by/id/2/3").await, ["7"]);
    // The online filter applies before paging: page 0 holds two online farmers.
    assert_eq!(list("/online/by/d/uptime/2").await, ["3", "1"]);
    assert_eq!(list("/online/by/d/uptime/2/1").await, ["6", "5"]);
    assert_eq!(list("/online/by/id").await, ["1", "3", "5", "6"]);

    let (status, body) = app.get("/status/list/by/d/bogus").await;
    assert_eq!(
        (status, body),
        (400, json!({"status": "error", "message": "Invalid sort."}))
    );
    let (status, _) = app.get("/status/list/by/d/uptime/x").await;
    assert_eq!(status, 404);

    // Show and list agree field for field; uptime rounded to two places; online a boolean.
    let (_, all) = app.get("/status/list/").await;
    for farmer in all["farmers"].as_array().unwrap() {
        let (status, shown) = app
            .get(&format!("/status/show/{}", farmer["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, 200);
        assert_eq!(&shown, farmer);
        assert!(shown["online"].is_boolean());
    }
    let (_, five) = app.get("/status/show/aaaaaaaaaaaaaaaaaaa5").await;
    assert_eq!(five["uptime"], 12.35);
    assert_eq!(five["last_due"], "2015-01-01T00:00:00Z");
    assert_eq!(five["location"], Value::Null);
    let (status, body) = app.get("/status/show/ffffffffffffffffffff").await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"status": "error", "message": "Nonexistant farmer id."})
        )
    );
    let (status, _) = app.get("/status/show/nonsense").await;
    assert_eq!(status, 404);
}

service_kit::backend_tests!(status_listing, sorting_paging_and_filters);

async fn fresh_farmer_has_zero_uptime(url: String) {
    let app = spawn_app(url).await;
    let token = app.register(&Identity::new(72)).await;
    let id = downstream_node::domain::FarmerToken::parse(&token)
        .unwrap()
        .farmer_id();
    app.sweep().await;
    let (_, shown) = app.get(&format!("/status/show/{}", id.as_str())).await;
    assert_eq!(shown["uptime"], 0.0);
    assert_eq!(shown["online"], false);
    assert_eq!(shown["last_due"], Value::Null);

    // Online for 300 s, then offline for 300 s: 50 %.
    app.get(&format!("/chunk/{token}/1000")).await;
    app.travel(600_000).await;
    app.sweep().await;
    let (_, shown) = app.get(&format!("/status/show/{}", id.as_str())).await;
    assert_eq!(shown["uptime"], 50.0);
    assert_eq!(shown["online"], false);
    assert_eq!(shown["contracts"], 0);
}

service_kit::backend_tests!(uptime, fresh_farmer_has_zero_uptime);
