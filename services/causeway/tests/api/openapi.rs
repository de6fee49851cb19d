//! /openapi.json: the served document is the hand-written one, every operation it lists is
//! a route the real router knows (and answers with a documented status), and it lists every
//! route the README lists.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::Value;
use service_kit::testing::openapi::{Document, Operation, essence, text};

use crate::helpers::*;

/// What causeway's default service says for a path, or a method on a path, it has no route for.
const NO_ROUTE: &str = "No such route or method (see /help)";

/// The router's "no such route": causeway's default service (404 in causeway's format with
/// [`NO_ROUTE`]), or actix-web's own answers (an empty 404, a 405) should that default go.
/// A route's own 404 (`Key not found.`) is not one.
fn unmatched(status: u16, body: &str) -> bool {
    match status {
        405 => true,
        404 => {
            body.trim().is_empty()
                || serde_json::from_str::<Value>(body).is_ok_and(|v| v["error"] == NO_ROUTE)
        }
        _ => false,
    }
}

/// The document as the running server serves it, checked against the file.
async fn served_document(app: &TestApp) -> Document {
    let response = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let document: Value = response.json().await.unwrap();
    let file: Value = serde_json::from_str(include_str!("../../openapi.json")).unwrap();
    assert_eq!(
        document, file,
        "the server serves services/causeway/openapi.json"
    );
    assert_eq!(document["openapi"], "3.1.0");
    Document::new(document)
}

/// Sends the operation with its documented example parameters and body.
async fn call(app: &TestApp, operation: &Operation) -> (u16, String, String) {
    let mut query = Vec::new();
    for parameter in &operation.parameters {
        assert_eq!(
            parameter["in"], "query",
            "{} {}: {parameter}",
            operation.method, operation.path
        );
        if let Some(example) = parameter.get("example") {
            query.push((text(&parameter["name"]), text(example)));
        }
    }
    let verb = Method::from_bytes(operation.http_method().as_bytes()).unwrap();
    let mut request = app
        .client
        .request(verb, app.url(&operation.concrete_path))
        .query(&query);
    if let Some(example) = operation.request_example("application/json") {
        request = request.json(example);
    } else if let Some(example) = operation.request_example("application/x-www-form-urlencoded") {
        request = request.form(example);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.unwrap())
}

#[actix_web::test]
async fn openapi_operations_are_all_routed() {
    let app = spawn_sqlite().await;
    let document = served_document(&app).await;

    // The detector recognises the router's own answers: an unknown path, a wrong method.
    for (method, path) in [
        ("GET", "/openapi-no-such-route"),
        ("GET", "/put"),
        ("PUT", "/get"),
    ] {
        let response = app
            .client
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert!(unmatched(status, &body), "{method} {path}: {status} {body}");
    }
    // A route's own 404 is not the router's.
    let (status, body) = app.get_key("NOSUCHKEY").await;
    assert!(!unmatched(status, &body.to_string()), "{status} {body}");

    let operations = document.operations().unwrap();
    assert!(
        operations.len() >= 19,
        "{:?}",
        operations
            .iter()
            .map(|op| (&op.method, &op.path))
            .collect::<Vec<_>>()
    );
    for op in &operations {
        let (status, content_type, body) = call(&app, op).await;
        let what = format!("{} {}: {status} {body}", op.http_method(), op.path);
        assert!(!unmatched(status, &body), "not routed: {what}");
        // Every status listed by number: causeway documents no `default`.
        assert!(
            op.responses.contains_key(&status.to_string()),
            "undocumented status: {what}"
        );
        let media_type = (!content_type.is_empty()).then_some(content_type.as_str());
        if let Err(mismatch) = op.check_response(status, media_type, body.as_bytes()) {
            panic!("{what} {mismatch}");
        }
        if essence(&content_type) == "application/json" {
            serde_json::from_str::<Value>(&body)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {what}"));
        }
    }
}

/// The README's route table: (method, path) of each row, e.g. "`GET`/`POST /bitcoin`".
fn readme_routes() -> Vec<(String, String)> {
    let readme = include_str!("../../README.md");
    let section = readme.split("### Routes").nth(1).unwrap();
    let mut routes = Vec::new();
    let table = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'));
    for line in table {
        let cell = line.split('|').nth(1).unwrap_or_default();
        let (mut methods, mut pending) = (Vec::<String>::new(), Vec::new());
        for span in cell.split('`').skip(1).step_by(2) {
            let mut words = span.split_whitespace();
            let mut path = words.next().unwrap_or_default();
            if !path.starts_with('/') {
                assert!(path.chars().all(|c| c.is_ascii_uppercase()), "{line}");
                pending.push(path.to_lowercase());
                match words.next() {
                    Some(next) => {
                        methods = std::mem::take(&mut pending);
                        path = next;
                    }
                    None => continue,
                }
            }
            assert!(!methods.is_empty(), "{line}");
            routes.extend(methods.iter().map(|m| (m.clone(), path.to_owned())));
        }
    }
    routes
}

#[actix_web::test]
async fn openapi_lists_the_readme_and_info_routes() {
    let app = spawn_sqlite().await;
    let document = served_document(&app).await;
    let listed = |(method, path): &(String, String)| document.has_operation(method, path);

    let readme = readme_routes();
    assert!(readme.len() >= 18, "{readme:?}");
    assert!(readme.contains(&("post".to_owned(), "/bitcoin".to_owned())));
    for route in &readme {
        assert!(listed(route), "README route not documented: {route:?}");
    }

    let (status, info) = app.get("/info", &[]).await;
    assert_eq!(status, 200);
    for path in info.as_array().unwrap() {
        let route = ("get".to_owned(), path.as_str().unwrap().to_owned());
        assert!(listed(&route), "/info route not documented: {route:?}");
    }
}
