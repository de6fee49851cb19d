//! `GET /openapi.json` against the real router: every documented path × method reaches the
//! route of that path (neither a 405 nor the 404 `{"error": "not found"}` this service answers
//! for unknown paths, and the request is counted under that route's pattern), answers one of its
//! documented statuses in a documented media type, and needs the API token exactly when the
//! document says so; and every route README.md lists is in the document.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use serde_json::Value;

use crate::helpers::{BASE, spawn_app};

const README: &str = include_str!("../../README.md");

/// The API table of README.md (paths relative to the base path): (its text there, method,
/// path).
const README_ROUTES: [(&str, &str, &str); 8] = [
    ("| `GET version` |", "get", "/version"),
    ("| `PUT voucher` `{\"voucher\": V}` |", "put", "/voucher"),
    ("| `GET voucher` |", "get", "/voucher"),
    ("| `GET voucher/V` |", "get", "/voucher/{voucher}"),
    ("| `GET lease-maintenance` |", "get", "/lease-maintenance"),
    (
        "| `POST lease-maintenance` `{\"count\": n}` |",
        "post",
        "/lease-maintenance",
    ),
    (
        "| `POST calculate-price` `{\"version\": 1, \"sizes\": [bytes, …]}` |",
        "post",
        "/calculate-price",
    ),
    (
        "| `POST passes` `{\"message\": \"add_lease <si>\", \"count\": n}` |",
        "post",
        "/passes",
    ),
];

/// Routes outside the base path that README.md names, all without a token.
const README_UNPROTECTED: [&str; 3] = ["/health/live", "/health/ready", "/metrics"];

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Operation {
    method: Method,
    /// The documented path, `{name}` templates included.
    path: String,
    /// The path with every parameter replaced by its example, percent-encoded.
    concrete: String,
    /// The documented responses, `$ref`s resolved.
    responses: serde_json::Map<String, Value>,
    /// Whether the operation needs the API token (its own `security`, else the document's).
    secured: bool,
    /// The example of an `application/json` request body, sent as is.
    json_body: Option<Value>,
}

/// Follows a local `$ref` (`#/components/...`), as many times as needed.
fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> &'a Value {
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let pointer = reference
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("only local references: {reference}"));
        value = doc
            .pointer(pointer)
            .unwrap_or_else(|| panic!("dangling reference {reference}"));
    }
    value
}

fn example_of(doc: &Value, parameter: &Value) -> String {
    let schema = parameter.get("schema").map(|s| resolve(doc, s));
    let example = parameter
        .get("x-example")
        .or_else(|| parameter.get("example"))
        .or_else(|| {
            schema
                .and_then(|s| s.get("examples"))
                .and_then(|e| e.get(0))
        })
        .or_else(|| schema.and_then(|s| s.get("example")))
        .unwrap_or_else(|| panic!("path parameter without an example: {parameter}"));
    match example {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment.
fn encode_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:@!$&'()*+,;=".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn operations(doc: &Value) -> Vec<Operation> {
    let paths = doc["paths"].as_object().expect("paths");
    let mut operations = Vec::new();
    for (path, item) in paths {
        let item = resolve(doc, item);
        for method in METHODS {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let parameters: Vec<&Value> = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .chain(operation.get("parameters").and_then(Value::as_array))
                .flatten()
                .map(|p| resolve(doc, p))
                .filter(|p| p["in"] == "path")
                .collect();
            let mut concrete = path.clone();
            for parameter in parameters {
                let name = parameter["name"].as_str().expect("parameter name");
                let example = encode_segment(&example_of(doc, parameter));
                concrete = concrete.replace(&format!("{{{name}}}"), &example);
            }
            assert!(
                !concrete.contains('{'),
                "{path}: a path parameter is undeclared"
            );
            let responses = operation["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{method} {path}: no responses"))
                .iter()
                .map(|(status, response)| (status.clone(), resolve(doc, response).clone()))
                .collect();
            let security = operation.get("security").unwrap_or(&doc["security"]);
            let secured = security.as_array().is_some_and(|s| !s.is_empty());
            let json_body = operation
                .get("requestBody")
                .map(|body| resolve(doc, body))
                .and_then(|body| body.pointer("/content/application~1json/example"))
                .cloned();
            operations.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                path: path.clone(),
                concrete,
                responses,
                secured,
                json_body,
            });
        }
    }
    operations
}

/// `text/plain; charset=utf-8` → `text/plain`.
fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// `(method, route pattern)` of every request the server counted, with `{name:regex}`
/// patterns written `{name}` as the document writes them.
fn counted_routes(metrics: &str) -> BTreeSet<(String, String)> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("http_requests_total{"))
        .map(|labels| {
            let label = |name: &str| {
                let start = labels.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
                let end = start + labels[start..].find('"').unwrap();
                labels[start..end].to_owned()
            };
            (label("method"), strip_regexes(&label("route")))
        })
        .collect()
}

fn strip_regexes(pattern: &str) -> String {
    let mut out = String::new();
    let (mut depth, mut in_regex) = (0usize, false);
    for c in pattern.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ':' if depth == 1 => in_regex = true,
            _ => {}
        }
        if depth == 0 {
            in_regex = false;
        }
        if !in_regex {
            out.push(c);
        }
    }
    out
}

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
    let doc: Value = response.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");

    // README → document.
    for (text, method, path) in README_ROUTES {
        assert!(README.contains(text), "README.md no longer lists {text}");
        let path = format!("{BASE}{path}");
        let operation = doc["paths"][&path].get(method);
        assert!(
            operation.is_some(),
            "README lists {text}, the document lacks {method} {path}"
        );
    }
    for path in README_UNPROTECTED {
        assert!(
            README.contains(&format!("`{path}`")),
            "README.md no longer names {path}"
        );
        assert_eq!(
            doc["paths"][path]["get"]["security"],
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
    let operations = operations(&doc);
    assert_eq!(operations.len(), 12, "documented operations");
    for op in &operations {
        let url = format!("{}{}", app.root, op.concrete);
        let request = || {
            let request = app.client.request(op.method.clone(), &url);
            match &op.json_body {
                Some(body) => request.json(body),
                None => request,
            }
        };
        // Without the token: 401 exactly where the document asks for it.
        let response = request().send().await.unwrap();
        let status = response.status().as_u16();
        if op.secured {
            assert_eq!(status, 401, "{} {} without a token", op.method, op.path);
            assert_eq!(
                response.headers()[WWW_AUTHENTICATE],
                "tahoe-lafs realm=\"tahoe-lafs\""
            );
            assert!(
                op.responses.contains_key("401"),
                "{} {}: 401 undocumented",
                op.method,
                op.path
            );
        } else {
            assert_ne!(status, 401, "{} {} needs no token", op.method, op.path);
        }

        let response = if op.secured {
            request()
                .header(AUTHORIZATION, app.auth())
                .send()
                .await
                .unwrap()
        } else {
            request().send().await.unwrap()
        };
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response.bytes().await.unwrap();
        let what = format!(
            "{} {} ({url}) answered {status} {}",
            op.method,
            op.path,
            String::from_utf8_lossy(&body)
        );
        assert_ne!(status, 405, "{what}: the method is not routed");
        assert!(
            !is_unmatched(status, &body),
            "{what}: the router does not know this path"
        );
        let documented = op
            .responses
            .get(&status.to_string())
            .or_else(|| op.responses.get("default"))
            .unwrap_or_else(|| panic!("{what}, which the document does not list"));
        if let Some(content) = documented.get("content").and_then(Value::as_object) {
            let actual = essence(content_type.as_deref().unwrap_or_default());
            assert!(
                content.keys().any(|media| essence(media) == actual),
                "{what} as {content_type:?}, documented: {:?}",
                content.keys().collect::<Vec<_>>()
            );
        } else {
            assert!(
                body.is_empty(),
                "{what} with a body the document does not describe"
            );
        }
    }

    // Each request was counted under its own route's pattern.
    let metrics = app
        .client
        .get(format!("{}/metrics", app.root))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let counted = counted_routes(&metrics);
    for op in &operations {
        let key = (op.method.to_string(), op.path.clone());
        assert!(
            counted.contains(&key),
            "{} {} was not routed to its own route; counted: {counted:?}",
            op.method,
            op.path
        );
    }
}
