//! Checking a service's hand-written OpenAPI 3.1 document against the service (feature
//! `testing`): the document's operations with their example path parameters filled in, whether
//! a response matches what an operation documents, whether README route tables are documented,
//! and which route patterns [`crate::metrics`] counted requests under.
//!
//! ```
//! use service_kit::testing::openapi::Document;
//!
//! let doc = Document::parse(r#"{"openapi": "3.1.0", "paths": {"/item/{id}": {"get": {
//!     "parameters": [{"name": "id", "in": "path", "example": "a b"}],
//!     "responses": {"200": {"content": {"text/plain": {}}}}}}}}"#).unwrap();
//! let operations = doc.operations().unwrap();
//! assert_eq!(operations[0].concrete_path, "/item/a%20b");
//! assert!(operations[0].allows(200, Some("text/plain; charset=utf-8")));
//! assert!(!operations[0].allows(404, Some("text/plain")));
//! ```

use std::collections::BTreeSet;
use std::fmt;

use serde_json::{Map, Value};

/// The HTTP methods a path item can document, in the order operations are listed.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A document that is not what these helpers expect (unparsable, dangling `$ref`, a path
/// parameter without an example, …).
#[derive(Debug, thiserror::Error)]
#[error("OpenAPI document: {0}")]
pub struct OpenApiError(String);

fn error(message: impl Into<String>) -> OpenApiError {
    OpenApiError(message.into())
}

/// An OpenAPI document (JSON).
#[derive(Debug, Clone)]
pub struct Document {
    value: Value,
}

/// One documented path × method.
#[derive(Debug, Clone)]
pub struct Operation {
    /// The method, lower-case as the document writes it (`get`).
    pub method: String,
    /// The documented path, `{name}` templates included.
    pub path: String,
    /// The path with every path parameter replaced by its example, percent-encoded.
    pub concrete_path: String,
    /// The documented responses by status (`"200"`, `"default"`), `$ref`s resolved.
    pub responses: Map<String, Value>,
    /// The base paths it is served under (the path item's `servers`, else the document's),
    /// without a trailing slash; empty when neither lists any.
    pub servers: Vec<String>,
    /// Its parameters (the path item's, then its own), `$ref`s resolved.
    pub parameters: Vec<Value>,
    /// Whether it needs credentials: its own `security`, else the document's, is non-empty.
    pub secured: bool,
    /// Its `requestBody`, `$ref` resolved.
    pub request_body: Option<Value>,
}

/// How a response differs from what its operation documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// Neither the status nor `default` is documented.
    Status,
    /// The documented response has content, none in this media type.
    MediaType {
        actual: Option<String>,
        documented: Vec<String>,
    },
    /// The documented response has no content, the response a body.
    Body,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status => write!(f, "which the document does not list"),
            Self::MediaType { actual, documented } => {
                write!(f, "as {actual:?}, documented: {documented:?}")
            }
            Self::Body => write!(f, "with a body the document does not describe"),
        }
    }
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, OpenApiError> {
        serde_json::from_str(text)
            .map(Self::new)
            .map_err(|e| error(format!("not JSON: {e}")))
    }

    pub fn new(value: Value) -> Self {
        Self { value }
    }

    /// The whole document.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// Follows a local `$ref` (`#/components/...`), as many times as needed.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> Result<&'a Value, OpenApiError> {
        while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
            let pointer = reference
                .strip_prefix('#')
                .ok_or_else(|| error(format!("only local references: {reference}")))?;
            value = self
                .value
                .pointer(pointer)
                .ok_or_else(|| error(format!("dangling reference {reference}")))?;
        }
        Ok(value)
    }

    /// Whether the document has `method` (lower-case) on `path`.
    pub fn has_operation(&self, method: &str, path: &str) -> bool {
        self.value["paths"]
            .get(path)
            .and_then(|item| self.resolve(item).ok())
            .is_some_and(|item| item.get(method).is_some())
    }

    /// Every documented path × method: paths in the document's order, methods in [`METHODS`]'
    /// order.
    pub fn operations(&self) -> Result<Vec<Operation>, OpenApiError> {
        let paths = self.value["paths"]
            .as_object()
            .ok_or_else(|| error("no paths"))?;
        let mut operations = Vec::new();
        for (path, item) in paths {
            let item = self.resolve(item)?;
            let servers = match item.get("servers").or_else(|| self.value.get("servers")) {
                None => Vec::new(),
                Some(servers) => servers
                    .as_array()
                    .ok_or_else(|| error(format!("{path}: servers is not a list")))?
                    .iter()
                    .map(|server| {
                        server["url"]
                            .as_str()
                            .map(|url| url.trim_end_matches('/').to_owned())
                            .ok_or_else(|| error(format!("{path}: a server without a url")))
                    })
                    .collect::<Result<_, _>>()?,
            };
            for method in METHODS {
                let Some(operation) = item.get(method) else {
                    continue;
                };
                operations.push(self.operation(method, path, item, operation, &servers)?);
            }
        }
        Ok(operations)
    }

    fn operation(
        &self,
        method: &str,
        path: &str,
        item: &Value,
        operation: &Value,
        servers: &[String],
    ) -> Result<Operation, OpenApiError> {
        let parameters: Vec<Value> = item
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .chain(operation.get("parameters").and_then(Value::as_array))
            .flatten()
            .map(|p| self.resolve(p).cloned())
            .collect::<Result<_, _>>()?;
        let mut concrete_path = path.to_owned();
        for parameter in parameters.iter().filter(|p| p["in"] == "path") {
            let name = parameter["name"]
                .as_str()
                .ok_or_else(|| error(format!("{path}: a path parameter without a name")))?;
            let example = encode_segment(&self.example_of(parameter)?);
            concrete_path = concrete_path.replace(&format!("{{{name}}}"), &example);
        }
        if concrete_path.contains('{') {
            return Err(error(format!("{path}: a path parameter is undeclared")));
        }
        let responses = operation["responses"]
            .as_object()
            .ok_or_else(|| error(format!("{method} {path}: no responses")))?
            .iter()
            .map(|(status, response)| Ok((status.clone(), self.resolve(response)?.clone())))
            .collect::<Result<_, OpenApiError>>()?;
        let security = operation.get("security").unwrap_or(&self.value["security"]);
        let request_body = operation
            .get("requestBody")
            .map(|body| self.resolve(body).cloned())
            .transpose()?;
        Ok(Operation {
            method: method.to_owned(),
            path: path.to_owned(),
            concrete_path,
            responses,
            servers: servers.to_vec(),
            parameters,
            secured: security.as_array().is_some_and(|s| !s.is_empty()),
            request_body,
        })
    }

    /// A parameter's example as text: `x-example`, `example`, its schema's first `examples`,
    /// its schema's `example`.
    pub fn example_of(&self, parameter: &Value) -> Result<String, OpenApiError> {
        let schema = parameter
            .get("schema")
            .map(|s| self.resolve(s))
            .transpose()?;
        let example = parameter
            .get("x-example")
            .or_else(|| parameter.get("example"))
            .or_else(|| {
                schema
                    .and_then(|s| s.get("examples"))
                    .and_then(|e| e.get(0))
            })
            .or_else(|| schema.and_then(|s| s.get("example")))
            .ok_or_else(|| error(format!("parameter without an example: {parameter}")))?;
        Ok(text(example))
    }
}

impl Operation {
    /// The method as sent (`GET`).
    pub fn http_method(&self) -> String {
        self.method.to_ascii_uppercase()
    }

    /// The documented response for `status`, else the `default` one.
    pub fn response(&self, status: u16) -> Option<&Value> {
        self.responses
            .get(&status.to_string())
            .or_else(|| self.responses.get("default"))
    }

    /// The example of the request body in `media_type`, if documented.
    pub fn request_example(&self, media_type: &str) -> Option<&Value> {
        self.request_body
            .as_ref()?
            .get("content")?
            .get(media_type)?
            .get("example")
    }

    /// Whether `status` is documented (or a `default`) and, when that response has content,
    /// `media_type` (parameters ignored) is one of its media types.
    pub fn allows(&self, status: u16, media_type: Option<&str>) -> bool {
        self.check_media_type(status, media_type).is_ok()
    }

    fn check_media_type(&self, status: u16, media_type: Option<&str>) -> Result<bool, Mismatch> {
        let documented = self.response(status).ok_or(Mismatch::Status)?;
        let Some(content) = documented.get("content").and_then(Value::as_object) else {
            return Ok(false);
        };
        let actual = essence(media_type.unwrap_or_default());
        if content.keys().any(|media| essence(media) == actual) {
            Ok(true)
        } else {
            Err(Mismatch::MediaType {
                actual: media_type.map(str::to_owned),
                documented: content.keys().cloned().collect(),
            })
        }
    }

    /// [`Self::allows`], and no body where the documented response has no content.
    pub fn check_response(
        &self,
        status: u16,
        media_type: Option<&str>,
        body: &[u8],
    ) -> Result<(), Mismatch> {
        let has_content = self.check_media_type(status, media_type)?;
        if !has_content && !body.is_empty() {
            return Err(Mismatch::Body);
        }
        Ok(())
    }
}

/// A JSON value as text: strings without quotes, anything else as JSON.
pub fn text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Percent-encodes a path segment (RFC 3986 `pchar`s, `:` and `@` included, stay literal).
pub fn encode_segment(text: &str) -> String {
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

/// A media type without its parameters, lower-case: `text/plain; charset=utf-8` → `text/plain`.
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A README route table row: its text in README.md and the `(method, path)` operations it
/// names (lower-case methods, paths as the document writes them, relative to a prefix).
pub type ReadmeRoute<'a> = (&'a str, &'a [(&'a str, &'a str)]);

/// Checks that README.md still has each row's text and that the document has each operation
/// the row names, at `prefix` + its path. Lists every problem.
pub fn readme_routes_documented(
    readme: &str,
    doc: &Document,
    prefix: &str,
    routes: &[ReadmeRoute<'_>],
) -> Result<(), String> {
    let mut problems = Vec::new();
    for (text, operations) in routes {
        if !readme.contains(text) {
            problems.push(format!("README.md no longer lists {text}"));
        }
        for (method, path) in *operations {
            let path = format!("{prefix}{path}");
            if !doc.has_operation(method, &path) {
                problems.push(format!(
                    "README lists {text}, the document lacks {method} {path}"
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// An answer as the checks need it: status, media type and body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Answer {
    /// Reads the whole response; a transport failure is the test's failure.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = match response.bytes().await {
            Ok(bytes) => bytes.to_vec(),
            Err(err) => panic!("cannot read the answer's body: {err}"),
        };
        Self {
            status,
            content_type,
            body,
        }
    }

    /// The body as text, for failure messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The checks every service makes of its answer to a documented operation (`what` names
    /// the request in failure messages): the method is routed, the router knows the path
    /// (`unmatched` recognises the service's answer to a path it does not know), and the
    /// answer is one the document lists.
    pub fn assert_answers(&self, op: &Operation, what: &str, unmatched: impl Fn(&Answer) -> bool) {
        assert_ne!(self.status, 405, "{what}: the method is not routed");
        assert!(
            !unmatched(self),
            "{what}: the router does not know this path"
        );
        if let Err(mismatch) =
            op.check_response(self.status, self.content_type.as_deref(), &self.body)
        {
            panic!("{what} {mismatch}");
        }
    }
}

/// Asserts that `/metrics` at `base` counted a request under each expected `(method, route
/// pattern)`: a request swallowed by another route that also matches fails here.
pub async fn assert_counted(client: &reqwest::Client, base: &str, expected: &[(String, String)]) {
    let metrics = match client.get(format!("{base}/metrics")).send().await {
        Ok(response) => response.text().await.unwrap_or_default(),
        Err(err) => panic!("cannot read {base}/metrics: {err}"),
    };
    let counted = match counted_routes(&metrics) {
        Ok(counted) => counted,
        Err(err) => panic!("unreadable metrics: {err}"),
    };
    for key in expected {
        assert!(
            counted.contains(key),
            "{key:?} was not routed to its own route; counted: {counted:?}"
        );
    }
}

/// `(method, route pattern)` of every request [`crate::metrics`] counted
/// (`http_requests_total`), with `{name:regex}` patterns written `{name}` as OpenAPI paths
/// write them.
pub fn counted_routes(metrics: &str) -> Result<BTreeSet<(String, String)>, OpenApiError> {
    metrics
        .lines()
        .filter_map(|line| line.strip_prefix("http_requests_total{"))
        .map(|labels| {
            let label = |name: &str| {
                let key = format!("{name}=\"");
                let start = labels.find(&key).map(|i| i + key.len());
                start
                    .and_then(|start| Some(&labels[start..start + labels[start..].find('"')?]))
                    .ok_or_else(|| error(format!("no {name} label in {labels}")))
            };
            Ok((label("method")?.to_owned(), strip_regexes(label("route")?)))
        })
        .collect()
}

/// An actix-web route pattern with the regexes of its segments dropped: `/{id:.*}` → `/{id}`.
pub fn strip_regexes(pattern: &str) -> String {
    let mut out = String::new();
    let (mut depth, mut in_regex) = (0usize, false);
    for c in pattern.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_fill_examples_and_resolve_references() {
        let doc = Document::parse(
            r##"{"openapi": "3.1.0", "security": [{"token": []}],
            "components": {
                "parameters": {"Id": {"name": "id", "in": "path", "schema": {"$ref": "#/components/schemas/Id"}}},
                "schemas": {"Id": {"type": "string", "examples": ["a/b"]}},
                "responses": {"NotFound": {"content": {"text/plain": {}}}}
            },
            "paths": {
                "/x/{id}": {"parameters": [{"$ref": "#/components/parameters/Id"}],
                    "get": {"security": [], "responses": {"404": {"$ref": "#/components/responses/NotFound"}}},
                    "head": {"responses": {"200": {}}}}
            }}"##,
        )
        .unwrap();
        let ops = doc.operations().unwrap();
        assert_eq!(ops.len(), 2);
        let (get, head) = (&ops[0], &ops[1]);
        assert_eq!((get.method.as_str(), head.method.as_str()), ("get", "head"));
        assert_eq!(get.concrete_path, "/x/a%2Fb");
        assert!(!get.secured && head.secured);
        assert!(get.allows(404, Some("Text/Plain; charset=utf-8")));
        assert!(!get.allows(404, Some("application/json")));
        assert!(!get.allows(200, None));
        assert_eq!(head.check_response(200, None, b""), Ok(()));
        assert_eq!(head.check_response(200, None, b"x"), Err(Mismatch::Body));
        assert_eq!(get.check_response(500, None, b""), Err(Mismatch::Status));
        assert!(doc.has_operation("head", "/x/{id}"));
        assert!(!doc.has_operation("put", "/x/{id}"));
    }

    #[test]
    fn a_path_parameter_needs_an_example() {
        let doc = Document::parse(
            r#"{"paths": {"/x/{id}": {"get": {"parameters": [{"name": "id", "in": "path"}],
            "responses": {}}}}}"#,
        )
        .unwrap();
        assert!(doc.operations().is_err());
    }

    #[test]
    fn counted_routes_drop_regexes() {
        let metrics = "http_requests_total{method=\"GET\",route=\"/{id:.*}/x\",status=\"200\"} 1\n";
        let counted = counted_routes(metrics).unwrap();
        assert!(counted.contains(&("GET".to_owned(), "/{id}/x".to_owned())));
    }
}
