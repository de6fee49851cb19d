//! Behind a proxy or Ingress: `X-Forwarded-For` / `Forwarded` name the client only when the
//! socket peer is one of `trusted_proxies`; everywhere a client IP counts (tokens per IP,
//! rate limits, GeoIP, the stored address) it is that client.

use diesel::prelude::*;
use downstream_node::db::schema::tokens;
use downstream_node::domain::TrustedProxies;
use serde_json::Value;

use crate::helpers::*;

const REFUSED: &str = "IP Disallowed, only 5 tokens are permitted per IP address";

/// `POST /new/<address>` for a fresh whitelisted identity with extra headers.
async fn register_with(app: &TestApp, seed: u8, headers: &[(&str, &str)]) -> (u16, Value) {
    let farmer = Identity::new(seed);
    app.whitelist(&farmer.address, 10_000).await;
    let mut request = app
        .client
        .post(format!("{}/new/{}", app.api, farmer.address))
        .json(&farmer.signed_body());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    decode(request.send().await.unwrap()).await
}

async fn stored(app: &TestApp, token: &str) -> (String, Option<String>) {
    let token = token.to_owned();
    app.db()
        .run(move |conn| {
            tokens::table
                .filter(tokens::token.eq(&token))
                .select((tokens::ip_address, tokens::location))
                .first::<(String, Option<String>)>(conn)
                .map_err(service_kit::db::DbError::from)
        })
        .await
        .unwrap()
}

fn trusting(cidrs: &'static str) -> impl FnOnce(&mut downstream_node::settings::Settings) {
    move |s| s.trusted_proxies = TrustedProxies::parse(cidrs).unwrap()
}

async fn spoofed_headers_ignored(url: String, cidrs: &'static str, seed: u8) {
    let app = spawn_app_with(url, trusting(cidrs)).await;
    for n in 0..5u8 {
        let spoofed = format!("203.0.113.{n}");
        let (status, body) = register_with(
            &app,
            seed + n,
            &[
                ("X-Forwarded-For", spoofed.as_str()),
                ("Forwarded", "for=198.51.100.7"),
            ],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let (ip, _) = stored(&app, body["token"].as_str().unwrap()).await;
        assert_eq!(ip, "127.0.0.1");
    }
    let (status, body) =
        register_with(&app, seed + 5, &[("X-Forwarded-For", "203.0.113.99")]).await;
    assert_eq!((status, body["message"].as_str()), (400, Some(REFUSED)));
}

/// Nothing trusted (the default).
async fn spoofed_headers_without_trusted_proxies(url: String) {
    spoofed_headers_ignored(url, "", 100).await
}

/// A list that does not hold the peer 127.0.0.1.
async fn spoofed_headers_from_an_untrusted_peer(url: String) {
    spoofed_headers_ignored(url, "10.0.0.0/8, fd00::/8", 110).await
}

service_kit::backend_tests!(no_trusted_proxies, spoofed_headers_without_trusted_proxies);
service_kit::backend_tests!(untrusted_peer, spoofed_headers_from_an_untrusted_peer);

async fn six_farmers_behind_a_trusted_proxy(url: String) {
    let app = spawn_app_with(url, trusting("127.0.0.1/32")).await;
    let mut registered = Vec::new();
    for n in 0..6u8 {
        // A client-written entry on the left is never reached: the proxy appended the peer.
        let chain = format!("6.6.6.6, 198.51.100.{n}");
        let (status, body) =
            register_with(&app, 120 + n, &[("X-Forwarded-For", chain.as_str())]).await;
        assert_eq!(status, 200, "farmer {n}: {body}");
        let token = body["token"].as_str().unwrap().to_owned();
        let (ip, _) = stored(&app, &token).await;
        assert_eq!(ip, format!("198.51.100.{n}"));
        registered.push(token);
    }
    // RFC 7239 Forwarded, and the GeoIP location of the forwarded client (London in the
    // vendored test database), not of the proxy.
    let (status, body) = register_with(
        &app,
        126,
        &[("Forwarded", "for=81.2.69.142;proto=https, for=127.0.0.1")],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let token = body["token"].as_str().unwrap().to_owned();
    let (ip, location) = stored(&app, &token).await;
    assert_eq!(ip, "81.2.69.142");
    assert!(location.unwrap().contains("London"));

    // /chunk moves a token to the address its proxy names now, with the same rule.
    let (status, body) = app
        .client
        .get(format!("{}/chunk/{}/1000", app.api, registered[0]))
        .header("X-Forwarded-For", "2.125.160.216")
        .send()
        .await
        .map(decode)
        .unwrap()
        .await;
    assert_eq!(status, 200, "{body}");
    let (ip, location) = stored(&app, &registered[0]).await;
    assert_eq!(ip, "2.125.160.216");
    assert!(location.unwrap().contains("Boxford"));
}

service_kit::backend_tests!(trusted_proxy, six_farmers_behind_a_trusted_proxy);

async fn malformed_headers_fall_back_to_the_peer(url: String) {
    let app = spawn_app_with(url, trusting("127.0.0.1/32")).await;
    let garbage: [(&str, &str); 6] = [
        ("X-Forwarded-For", "not-an-address"),
        ("X-Forwarded-For", "198.51.100.1, "),
        ("X-Forwarded-For", "198.51.100.1:99999"),
        ("Forwarded", "for=unknown"),
        ("Forwarded", "for=_hidden;proto=https"),
        ("X-Forwarded-For", ""),
    ];
    for (n, header) in garbage.iter().enumerate() {
        let (status, body) = register_with(&app, 130 + n as u8, &[*header]).await;
        if n < 5 {
            assert_eq!(status, 200, "{header:?}: {body}");
            let (ip, _) = stored(&app, body["token"].as_str().unwrap()).await;
            assert_eq!(ip, "127.0.0.1", "{header:?}");
        } else {
            // All six counted against the peer: the sixth is refused.
            assert_eq!(
                (status, body["message"].as_str()),
                (400, Some(REFUSED)),
                "{header:?}"
            );
        }
    }
}

service_kit::backend_tests!(
    malformed_forwarding,
    malformed_headers_fall_back_to_the_peer
);

/// The per-IP rate limit counts each forwarded client on its own behind a trusted proxy,
/// and every spoofer together otherwise.
#[actix_web::test]
async fn rate_limits_follow_the_forwarded_client() {
    let db = service_kit::testing::TestDatabase::require(service_kit::db::Backend::Sqlite);
    for trusted in [true, false] {
        let app = spawn_app_with(db.url().to_owned(), |s| {
            s.ip_rate_limit = 0.001;
            s.ip_rate_burst = 2;
            if trusted {
                s.trusted_proxies = TrustedProxies::parse("127.0.0.1/32").unwrap();
            }
        })
        .await;
        let get = |client: &'static str| {
            app.client
                .get(format!("{}/status/summary", app.api))
                .header("X-Forwarded-For", client)
                .send()
        };
        for client in ["198.51.100.1", "198.51.100.1"] {
            assert_eq!(get(client).await.unwrap().status(), 200);
        }
        assert_eq!(get("198.51.100.1").await.unwrap().status(), 429);
        let other = get("198.51.100.2").await.unwrap().status();
        assert_eq!(other, if trusted { 200 } else { 429 }, "trusted: {trusted}");
    }
}
