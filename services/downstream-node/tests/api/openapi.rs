//! `GET /openapi.json` against the real router: every documented path × method, under each of
//! its servers (both mount points), reaches the route of that path (not the 404
//! `{"status":"error","message":"Not found."}` this service answers for any path or method no
//! route has, and the request is counted under that route's pattern) and answers one of its
//! documented statuses in a documented media type; and every route README.md lists is in the
//! document.

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use service_kit::db::Backend;
use service_kit::testing::TestDatabase;
use service_kit::testing::openapi::{
    Answer, Document, ReadmeRoute, assert_counted, readme_routes_documented,
};

use crate::helpers::spawn_app;

const README: &str = include_str!("../../README.md");

const PREFIX: &str = "/api/downstream/v1";
const OTHER_PREFIX: &str = "/api/downstream";

/// README.md's API table (paths relative to the mount points): its text there and the
/// operations it names.
const README_ROUTES: [ReadmeRoute; 6] = [
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
    let doc = Document::new(response.json().await.unwrap());
    assert_eq!(doc.value()["openapi"], "3.1.0");
    let servers: Vec<&str> = doc.value()["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(servers, [PREFIX, OTHER_PREFIX]);

    // README → document.
    readme_routes_documented(README, &doc, "", &README_ROUTES).unwrap_or_else(|e| panic!("{e}"));
    let has = |method: &str, path: &str| doc.has_operation(method, path);
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
    let root_servers = &doc.value()["paths"]["/"]["servers"];
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
            doc.value()["paths"][path]["servers"][0]["url"],
            "/",
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
    let operations = doc.operations().unwrap();
    assert_eq!(operations.len(), 35, "documented operations");
    let mut requests = Vec::new();
    for op in &operations {
        assert!(
            !op.servers.is_empty(),
            "{} {}: no servers",
            op.method,
            op.path
        );
        let method = Method::from_bytes(op.http_method().as_bytes()).unwrap();
        for server in &op.servers {
            let url = format!("{}{server}{}", app.root, op.concrete_path);
            let mut request = app.client.request(method.clone(), &url);
            if let Some(body) = op.request_example("application/json") {
                request = request.json(body);
            }
            let answer = Answer::read(request.send().await.unwrap()).await;
            let what = format!(
                "{method} {server}{} ({url}) answered {} {}",
                op.path,
                answer.status,
                answer.text()
            );
            answer.assert_answers(op, &what, |a| is_unmatched(a.status, &a.body));
            requests.push((op.http_method(), expected_pattern(server, &op.path)));
        }
    }

    // Each request was counted under its own route's pattern.
    assert_counted(&app.client, &app.root, &requests).await;
}
