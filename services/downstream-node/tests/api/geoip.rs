//! GeoIP from the vendored test database; missing and broken files; IPv6 clients.

use std::net::IpAddr;
use std::path::Path;

use downstream_node::geoip::GeoIp;
use serde_json::json;

use crate::helpers::*;

#[test]
fn locations_from_the_test_database() {
    let geo = GeoIp::open(Some(Path::new(GEOIP_DB)));
    assert!(geo.is_enabled());
    let london = geo.locate("81.2.69.142".parse().unwrap()).unwrap();
    assert_eq!(london.country.as_deref(), Some("United Kingdom"));
    assert_eq!(london.state.as_deref(), Some("England"));
    assert_eq!(london.city.as_deref(), Some("London"));
    assert!(london.lat.is_some() && london.lon.is_some());
    let boxford = geo.locate("2.125.160.216".parse().unwrap()).unwrap();
    assert_eq!(boxford.city.as_deref(), Some("Boxford"));
    assert_eq!(boxford.zip.as_deref(), Some("OX1"));
    let unknown = geo.locate("127.0.0.1".parse().unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(unknown).unwrap(),
        json!({"country": null, "state": null, "city": null, "zip": null, "lat": null, "lon": null})
    );
    let v6: IpAddr = "2001:218::1".parse().unwrap();
    assert!(geo.locate(v6).is_some());
}

#[test]
fn missing_or_broken_databases_give_null_locations() {
    let missing = GeoIp::open(Some(Path::new("/nonexistent/GeoLite2-City.mmdb")));
    assert!(!missing.is_enabled());
    assert_eq!(missing.locate("81.2.69.142".parse().unwrap()), None);
    let broken = GeoIp::open(Some(Path::new(BROKEN_GEOIP_DB)));
    for ip in ["81.2.69.142", "2.125.160.216", "::1"] {
        let _ = broken.locate(ip.parse().unwrap());
    }
}

async fn ipv6_clients(url: String) {
    let app = spawn_app_with(url, |s| s.server.host = "::1".into()).await;
    let farmer = Identity::new(91);
    let token = app.register(&farmer).await;
    let (status, body) = app.get(&format!("/chunk/{token}/2048")).await;
    assert_eq!(status, 200, "{body}");
    let held = Held::from_chunk(&body["chunks"][0]);
    let (_, report) = app
        .post(
            &format!("/answer/{token}"),
            &json!({"proofs": [held.proof_item()]}),
        )
        .await;
    assert_eq!(report["report"][0]["status"], "ok");
    let id = downstream_node::domain::FarmerToken::parse(&token)
        .unwrap()
        .farmer_id();
    let (status, shown) = app.get(&format!("/status/show/{}", id.as_str())).await;
    assert_eq!(status, 200);
    assert_eq!(shown["heartbeats"], 1);
    // The stored address is the full IPv6 text.
    let ip = app
        .db()
        .run(move |conn| {
            use diesel::prelude::*;
            use downstream_node::db::schema::tokens;
            tokens::table
                .filter(tokens::token.eq(&token))
                .select(tokens::ip_address)
                .first::<String>(conn)
                .map_err(service_kit::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(ip, "::1");
}

service_kit::backend_tests!(ipv6, ipv6_clients);
