//! `GET /openapi.json` against the real router: every documented path × method, under each of
//! its servers (both mount points), reaches the route of that path (not the 404
//! `{"status":"error","message":"Not found."}` this service answers for any path or method no
//! route has, and the request is counted under that route's pattern) and answers one of its
//! documented statuses in a documented media type; and every route README.md lists is in the
//! document.

use std::collections::BTreeSet;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use service_kit::db::Backend;
use service_kit::testing::TestDatabase;

use crate::helpers::spawn_app;

const README: &str = include_str!("../../README.md");

const PREFIX: &str = "/api/downstream/v1";
const OTHER_PREFIX: &str = "/api/downstream";

/// README.md's API table (paths relative to the mount points): its text there and the
/// operations it names.
const README_ROUTES: [(&str, &[(&str, &str)]); 6] = [
    (
        "| `POST /new/<address>` `{\"message\",\"signature\"}` (GET when signatures are off) |",
        &[("post", "/new/{address}"), ("get", "/new/{address}")],
    ),
    (
        "| `GET /heartbeat/<token>` |",
        &[("get", "/heartbeat/{token}")],
    ),
    (
        "| `GET /chunk/<token>[/<size>]` |",
        &[("get", "/chunk/{token}"), ("get", "/chunk/{token}/{size}")],
    ),
    (
        "| `GET /challenge/<token>`, `POST /challenge/<token>` `{\"hashes\": [ids]}` |",
        &[
            ("get", "/challenge/{token}"),
            ("post", "/challenge/{token}"),
        ],
    ),
    (
        "| `POST /answer/<token>` `{\"proofs\": [{\"file_hash\", \"proof\"}]}` |",
        &[("post", "/answer/{token}")],
    ),
    (
        "| `GET /challenge/<token>/<file_hash>`, `POST /answer/<token>/<file_hash>` `{\"proof\"}` |",
        &[
            ("get", "/challenge/{token}/{file_hash}"),
            ("post", "/answer/{token}/{file_hash}"),
        ],
    ),
];

/// README.md's list grammar, `/status/list[/<limit>[/<page>]]` and
/// `/status/list[/online]/by[/d]/<sort>[/<limit>[/<page>]]`, spelled out.
fn readme_list_paths() -> Vec<String> {
    let tails = ["", "/{limit}", "/{limit}/{page}"];
    let mut paths: Vec<String> = tails.iter().map(|t| format!("/status/list{t}")).collect();
    for online in ["", "/online"] {
        for descending in ["", "/d"] {
            for tail in tails {
                paths.push(format!(
                    "/status/list{online}/by{descending}/{{sort}}{tail}"
                ));
            }
        }
    }
    paths
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

struct Operation {
    method: Method,
    /// The base URL paths it is served under (`servers`, the path item's or the document's),
    /// without a trailing slash.
    servers: Vec<String>,
    /// The documented path, `{name}` templates included.
    path: String,
    /// The path with every parameter replaced by its example, percent-encoded.
    concrete: String,
    /// The documented responses, `$ref`s resolved.
    responses: serde_json::Map<String, Value>,
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
        let servers: Vec<String> = item
            .get("servers")
            .unwrap_or(&doc["servers"])
            .as_array()
            .expect("servers")
            .iter()
            .map(|server| {
                server["url"]
                    .as_str()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_owned()
            })
            .collect();
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
            let json_body = operation
                .get("requestBody")
                .map(|body| resolve(doc, body))
                .and_then(|body| body.pointer("/content/application~1json/example"))
                .cloned();
            operations.push(Operation {
                method: Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                servers: servers.clone(),
                path: path.clone(),
                concrete,
                responses,
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

/// This service's answer to a path or method no route has (its default service).
fn is_unmatched(status: u16, body: &[u8]) -> bool {
    status == 404
        && serde_json::from_slice::<Value>(body)
            .is_ok_and(|b| b == json!({"status": "error", "message": "Not found."}))
}

/// The route pattern a request to `server` + `path` is counted under: every list path goes
/// to the one `/status/list{tail:/.*}` route, whose tail the handler parses.
fn expected_pattern(server: &str, path: &str) -> String {
    if path.starts_with("/status/list/") {
        format!("{server}/status/list{{tail}}")
    } else {
        format!("{server}{path}")
    }
}

#[actix_web::test]
async fn every_documented_operation_is_routed_and_every_readme_route_documented() {
    let db = TestDatabase::create(Backend::Sqlite).unwrap().unwrap();
    let app = spawn_app(db.url().to_owned()).await;
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
    let servers: Vec<&str> = doc["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(servers, [PREFIX, OTHER_PREFIX]);

    // README → document.
    let has = |method: &str, path: &str| doc["paths"][path].get(method).is_some();
    for (text, operations) in README_ROUTES {
        assert!(README.contains(text), "README.md no longer lists {text}");
        for (method, path) in operations {
            assert!(
                has(method, path),
                "README lists {text}, the document lacks {method} {path}"
            );
        }
    }
    assert!(README.contains(
        "| `GET /status/list[/<limit>[/<page>]]`, `/status/list[/online]/by[/d]/<sort>[/<limit>[/<page>]]` |"
    ));
    for path in readme_list_paths() {
        assert!(has("get", &path), "README's list grammar allows {path}");
    }
    assert!(README.contains("| `GET /status/show/<farmer id>` |"));
    assert!(has("get", "/status/show/{id}"));
    assert!(README.contains("| `GET /status/summary` |"));
    assert!(has("get", "/status/summary"));
    assert!(README.contains("`GET /` and `GET /api/downstream/v1/` answer"));
    let root_servers = &doc["paths"]["/"]["servers"];
    for server in ["/", PREFIX] {
        assert!(
            root_servers
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["url"] == server),
            "GET / under {server}"
        );
    }
    assert!(README.contains("`/health/live`, `/health/ready` (database) and `/metrics`"));
    for path in ["/health/live", "/health/ready", "/metrics"] {
        assert!(has("get", path), "{path}");
        assert_eq!(
            doc["paths"][path]["servers"][0]["url"], "/",
            "{path} is at the root"
        );
    }

    // What a path or a method no route has answers: the same 404, never 405.
    for (method, path) in [
        (Method::GET, format!("{PREFIX}/no-such-route")),
        (Method::GET, "/no-such-route".to_owned()),
        (
            Method::PUT,
            format!("{PREFIX}/heartbeat/00112233445566778899aabbccddeeff"),
        ),
        (Method::DELETE, format!("{OTHER_PREFIX}/status/list")),
    ] {
        let response = app
            .client
            .request(method.clone(), format!("{}{path}", app.root))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body = response.bytes().await.unwrap();
        assert!(is_unmatched(status, &body), "{method} {path}: {status}");
    }

    // Document → router, under every server of each path.
    let operations = operations(&doc);
    assert_eq!(operations.len(), 35, "documented operations");
    let mut requests = Vec::new();
    for op in &operations {
        for server in &op.servers {
            let url = format!("{}{server}{}", app.root, op.concrete);
            let mut request = app.client.request(op.method.clone(), &url);
            if let Some(body) = &op.json_body {
                request = request.json(body);
            }
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .map(|v| v.to_str().unwrap().to_owned());
            let body = response.bytes().await.unwrap();
            let what = format!(
                "{} {server}{} ({url}) answered {status} {}",
                op.method,
                op.path,
                String::from_utf8_lossy(&body)
            );
            assert_ne!(status, 405, "{what}: the method is not routed");
            assert!(
                !is_unmatched(status, &body),
                "{what}: the router does not know this route"
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
            requests.push((op.method.to_string(), expected_pattern(server, &op.path)));
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
    for key in &requests {
        assert!(
            counted.contains(key),
            "{key:?} was not routed to its own route; counted: {counted:?}"
        );
    }
}
