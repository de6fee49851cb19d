//! Status caching and paging metadata: `ETag` + `Cache-Control` + 304 on `status/list`,
//! `status/show` and `status/summary`; `total` in the list body and `X-Total-Count`;
//! `status/summary` totals.

use diesel::prelude::*;
use downstream_node::db::schema::tokens;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::status::seed;

/// (status, ETag, X-Total-Count, Cache-Control, body)
pub(crate) struct Answer {
    pub status: u16,
    pub etag: Option<String>,
    pub total: Option<String>,
    pub cache_control: Option<String>,
    pub body: Value,
}

pub(crate) async fn fetch(app: &TestApp, path: &str, if_none_match: Option<&str>) -> Answer {
    let mut request = app.client.get(format!("{}{path}", app.api));
    if let Some(tag) = if_none_match {
        request = request.header("If-None-Match", tag);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let (etag, total, cache_control) = (
        header("etag"),
        header("x-total-count"),
        header("cache-control"),
    );
    let (status, body) = decode(response).await;
    Answer {
        status,
        etag,
        total,
        cache_control,
        body,
    }
}

async fn etags_totals_and_summary(url: String) {
    let app = spawn_app(url).await;

    // An empty node: zero totals, no division by zero.
    let empty = fetch(&app, "/status/summary", None).await;
    assert_eq!(empty.status, 200, "{}", empty.body);
    assert_eq!(
        empty.body,
        json!({"farmers": 0, "online_farmers": 0, "contracts": 0, "size": 0, "uptime": 0.0})
    );
    let empty_list = fetch(&app, "/status/list", None).await;
    assert_eq!(empty_list.body, json!({"farmers": [], "total": 0}));
    assert_eq!(empty_list.total.as_deref(), Some("0"));

    seed(&app).await;

    // total: after the online filter, before paging; body field and header agree.
    for (path, total, shown) in [
        ("/status/list", 7, 7),
        ("/status/list/3/1", 7, 3),
        ("/status/list/3/5", 7, 0),
        ("/status/list/online/by/d/uptime/2", 4, 2),
        ("/status/list/online/by/d/uptime/2/1", 4, 2),
        ("/status/list/by/d/size/3", 7, 3),
    ] {
        let answer = fetch(&app, path, None).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.body);
        assert_eq!(answer.body["total"], total, "{path}");
        assert_eq!(answer.total, Some(total.to_string()), "{path}");
        assert_eq!(
            answer.body["farmers"].as_array().unwrap().len(),
            shown,
            "{path}"
        );
        assert_eq!(answer.cache_control.as_deref(), Some("public, max-age=5"));
    }

    // ETag / If-None-Match on the three read routes.
    for path in [
        "/status/list/online/by/d/uptime/2",
        "/status/show/aaaaaaaaaaaaaaaaaaa5",
        "/status/summary",
    ] {
        let first = fetch(&app, path, None).await;
        assert_eq!(first.status, 200, "{path}");
        let tag = first.etag.clone().expect("ETag");
        assert!(tag.starts_with('"') && tag.ends_with('"'), "{tag}");
        let again = fetch(&app, path, None).await;
        assert_eq!(
            again.etag.as_ref(),
            Some(&tag),
            "{path}: stable between changes"
        );
        let cached = fetch(&app, path, Some(&tag)).await;
        assert_eq!(cached.status, 304, "{path}");
        assert_eq!(cached.body, Value::String(String::new()));
        assert_eq!(cached.etag.as_ref(), Some(&tag));
        assert_eq!(cached.cache_control.as_deref(), Some("public, max-age=5"));
        assert_eq!(cached.total, first.total);
        let weak_list = format!("\"nope\", W/{tag}");
        assert_eq!(fetch(&app, path, Some(&weak_list)).await.status, 304);
        assert_eq!(fetch(&app, path, Some("\"nope\"")).await.status, 200);
    }

    // Summary over the population of status.rs.
    let summary = fetch(&app, "/status/summary", None).await.body;
    assert_eq!(summary["farmers"], 7);
    assert_eq!(summary["online_farmers"], 4);
    assert_eq!(summary["contracts"], 7);
    assert_eq!(summary["size"], 11_600);
    let mean = (99.5 + 40.0 + 99.5 + 0.0 + 12.345 + 75.0 + 99.5) / 7.0;
    assert!(
        (summary["uptime"].as_f64().unwrap() - mean).abs() < 0.006,
        "{summary}"
    );

    // A statistics change gives a new ETag; the old one no longer matches.
    let before = fetch(&app, "/status/show/aaaaaaaaaaaaaaaaaaa5", None).await;
    let summary_before = fetch(&app, "/status/summary", None).await;
    app.db()
        .run(|conn| {
            diesel::update(tokens::table.filter(tokens::farmer_id.eq("aaaaaaaaaaaaaaaaaaa5")))
                .set((tokens::uptime.eq(50.0), tokens::online.eq(false)))
                .execute(conn)
                .map_err(service_kit::db::DbError::from)
        })
        .await
        .unwrap();
    let after = fetch(
        &app,
        "/status/show/aaaaaaaaaaaaaaaaaaa5",
        before.etag.as_deref(),
    )
    .await;
    assert_eq!(after.status, 200);
    assert_eq!(after.body["uptime"], 50.0);
    assert_ne!(after.etag, before.etag);
    let summary_after = fetch(&app, "/status/summary", summary_before.etag.as_deref()).await;
    assert_eq!(summary_after.status, 200);
    assert_eq!(summary_after.body["online_farmers"], 3);
    let online = fetch(&app, "/status/list/online", None).await;
    assert_eq!(online.body["total"], 3);

    // Errors carry no ETag and are not cached.
    let missing = fetch(&app, "/status/show/ffffffffffffffffffff", None).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.etag, None);
    // The other mount point serves the same.
    let response = app
        .client
        .get(format!("{}/api/downstream/status/summary", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

service_kit::backend_tests!(status_caching, etags_totals_and_summary);

async fn summary_follows_a_real_farmer(url: String) {
    let app = spawn_app(url).await;
    let token = app.register(&Identity::new(81)).await;
    app.register(&Identity::new(82)).await;
    let (status, body) = app.get(&format!("/chunk/{token}/3000")).await;
    assert_eq!(status, 200, "{body}");
    let held: i64 = body["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["size"].as_i64().unwrap())
        .sum();
    let count = body["chunks"].as_array().unwrap().len() as i64;
    let summary = fetch(&app, "/status/summary", None).await.body;
    assert_eq!(summary["farmers"], 2);
    assert_eq!(summary["online_farmers"], 1);
    assert_eq!(summary["contracts"], count);
    assert_eq!(summary["size"], held);
    // Everything expires: nobody online, counters back to zero.
    app.travel(10 * 300_000).await;
    app.sweep().await;
    let summary = fetch(&app, "/status/summary", None).await.body;
    assert_eq!(
        (
            &summary["online_farmers"],
            &summary["contracts"],
            &summary["size"]
        ),
        (&json!(0), &json!(0), &json!(0))
    );
}

service_kit::backend_tests!(summary_farmer, summary_follows_a_real_farmer);
