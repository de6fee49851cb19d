//! `GET /openapi.json` against the real router: every documented path × method reaches the
//! route of that path (neither actix's empty unmatched 404 nor a 405, and the request is counted
//! under that route's pattern, which catches a request swallowed by `/{revoc_reg_id:.*}`) and
//! answers one of its documented statuses in a documented media type; and every route
//! README.md lists is in the document.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use service_kit::testing::openapi::{
    Answer, Document, ReadmeRoute, assert_counted, readme_routes_documented,
};

use crate::helpers::*;

const README: &str = include_str!("../../README.md");

/// The API table of README.md: its text there and the operations it names.
const README_ROUTES: [ReadmeRoute; 8] = [
    ("`PUT /{revoc_reg_id}`", &[("put", "/{revoc_reg_id}")]),
    ("`PUT /hash/{tails_hash}`", &[("put", "/hash/{tails_hash}")]),
    (
        "`GET`, `HEAD /{revoc_reg_id}`",
        &[("get", "/{revoc_reg_id}"), ("head", "/{revoc_reg_id}")],
    ),
    (
        "`GET`, `HEAD /hash/{tails_hash}`",
        &[
            ("get", "/hash/{tails_hash}"),
            ("head", "/hash/{tails_hash}"),
        ],
    ),
    ("`GET /match/{substring}`", &[("get", "/match/{substring}")]),
    ("`GET /health/live`", &[("get", "/health/live")]),
    ("`GET /health/ready`", &[("get", "/health/ready")]),
    ("`GET /metrics`", &[("get", "/metrics")]),
];

#[actix_web::test]
async fn every_documented_operation_is_routed_and_every_readme_route_documented() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(format!("{}/openapi.json", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
    let doc = Document::new(response.json().await.unwrap());
    assert_eq!(doc.value()["openapi"], "3.1.0");

    // README → document.
    readme_routes_documented(README, &doc, "", &README_ROUTES).unwrap_or_else(|e| panic!("{e}"));

    // Document → router.
    let operations = doc.operations().unwrap();
    assert_eq!(operations.len(), 11, "documented operations");
    for op in &operations {
        let url = format!("{}{}", app.url, op.concrete_path);
        let method = Method::from_bytes(op.http_method().as_bytes()).unwrap();
        let answer = Answer::read(app.client.request(method, &url).send().await.unwrap()).await;
        let what = format!(
            "{} {} ({url}) answered {}",
            op.http_method(),
            op.path,
            answer.status
        );
        // actix's own 404 for an unmatched path has neither body nor content type; this
        // service's 404s are text/plain (also on HEAD, which drops only the body).
        answer.assert_answers(op, &what, |a| {
            a.status == 404 && a.content_type.is_none() && a.body.is_empty()
        });
    }

    // Each request was counted under its own route's pattern, not another that also matches.
    let expected: Vec<_> = operations
        .iter()
        .map(|op| (op.http_method(), op.path.clone()))
        .collect();
    assert_counted(&app.client, &app.url, &expected).await;
}
