//! `GET /openapi.json` against the real router: every documented path × method reaches the
//! route of that path (neither a 405 nor the 404 `{"error": "not found"}` this service answers
//! for unknown paths, and the request is counted under that route's pattern), answers one of its
//! documented statuses in a documented media type, and needs the API token exactly when the
//! document says so; and every route README.md lists is in the document.

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;
use service_kit::testing::openapi::{
    Answer, Document, ReadmeRoute, assert_counted, readme_routes_documented,
};

use crate::helpers::{BASE, spawn_app};

const README: &str = include_str!("../../README.md");

/// The API table of README.md (paths relative to the base path): its text there and the
/// operations it names.
const README_ROUTES: [ReadmeRoute; 8] = [
    ("| `GET version` |", &[("get", "/version")]),
    (
        "| `PUT voucher` `{\"voucher\": V}` |",
        &[("put", "/voucher")],
    ),
    ("| `GET voucher` |", &[("get", "/voucher")]),
    ("| `GET voucher/V` |", &[("get", "/voucher/{voucher}")]),
    (
        "| `GET lease-maintenance` |",
        &[("get", "/lease-maintenance")],
    ),
    (
        "| `POST lease-maintenance` `{\"count\": n}` |",
        &[("post", "/lease-maintenance")],
    ),
    (
        "| `POST calculate-price` `{\"version\": 1, \"sizes\": [bytes, …]}` |",
        &[("post", "/calculate-price")],
    ),
    (
        "| `POST passes` `{\"message\": \"add_lease <si>\", \"count\": n}` |",
        &[("post", "/passes")],
    ),
];

/// Routes outside the base path that README.md names, all without a token.
const README_UNPROTECTED: [&str; 3] = ["/health/live", "/health/ready", "/metrics"];

/// This service's answer to a path no route has (inside the base path or outside it).
fn is_unmatched(status: u16, body: &[u8]) -> bool {
    status == 404
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|b| b == serde_json::json!({"error": "not found"}))
}

#[actix_web::test]
async fn every_documented_operation_is_routed_and_every_readme_route_documented() {
    let app = spawn_app().await;
    // The document needs no token.
    let response = app
        .client
        .get(format!("{}/openapi.json", app.root))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let doc = Document::new(response.json().await.unwrap());
    assert_eq!(doc.value()["openapi"], "3.1.0");

    // README → document.
    readme_routes_documented(README, &doc, BASE, &README_ROUTES).unwrap_or_else(|e| panic!("{e}"));
    for path in README_UNPROTECTED {
        assert!(
            README.contains(&format!("`{path}`")),
            "README.md no longer names {path}"
        );
        assert_eq!(
            doc.value()["paths"][path]["get"]["security"],
            serde_json::json!([]),
            "{path}"
        );
    }

    // What an unknown path answers, with the token, inside and outside the base path.
    for path in [format!("{BASE}/no-such-route"), "/no-such-route".to_owned()] {
        let response = app
            .client
            .get(format!("{}{path}", app.root))
            .header(AUTHORIZATION, app.auth())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        assert!(
            is_unmatched(status, &response.bytes().await.unwrap()),
            "{path}"
        );
    }

    // Document → router.
    let operations = doc.operations().unwrap();
    assert_eq!(operations.len(), 12, "documented operations");
    for op in &operations {
        let url = format!("{}{}", app.root, op.concrete_path);
        let method = Method::from_bytes(op.http_method().as_bytes()).unwrap();
        let request = || {
            let request = app.client.request(method.clone(), &url);
            match op.request_example("application/json") {
                Some(body) => request.json(body),
                None => request,
            }
        };
        // Without the token: 401 exactly where the document asks for it.
        let response = request().send().await.unwrap();
        let status = response.status().as_u16();
        if op.secured {
            assert_eq!(status, 401, "{method} {} without a token", op.path);
            assert_eq!(
                response.headers()[WWW_AUTHENTICATE],
                "tahoe-lafs realm=\"tahoe-lafs\""
            );
            assert!(
                op.responses.contains_key("401"),
                "{method} {}: 401 undocumented",
                op.path
            );
        } else {
            assert_ne!(status, 401, "{method} {} needs no token", op.path);
        }

        let request = if op.secured {
            request().header(AUTHORIZATION, app.auth())
        } else {
            request()
        };
        let answer = Answer::read(request.send().await.unwrap()).await;
        let what = format!(
            "{method} {} ({url}) answered {} {}",
            op.path,
            answer.status,
            answer.text()
        );
        answer.assert_answers(op, &what, |a| is_unmatched(a.status, &a.body));
    }

    // Each request was counted under its own route's pattern.
    let expected: Vec<_> = operations
        .iter()
        .map(|op| (op.http_method(), op.path.clone()))
        .collect();
    assert_counted(&app.client, &app.root, &expected).await;
}
