//! Server start-up shared by the services: binding (port 0 allowed), one log line per request
//! with status and latency (secrets in paths shortened), `/health/live`, `/health/ready`,
//! `/metrics`, the request-body limit, and graceful shutdown on SIGTERM/SIGINT.

use std::net::{SocketAddr, TcpListener};
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Logger, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use serde_json::json;

use crate::metrics::Metrics;

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub host: String,
    /// 0 picks a free port; read it back with [`Application::port`].
    pub port: u16,
    /// Largest buffered request body (JSON, forms, bytes); streaming handlers enforce their own.
    pub body_limit: usize,
    /// Worker threads; `None` = one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight requests get to finish after SIGTERM.
    pub shutdown_timeout: u64,
    /// What is left of a body read and discarded after an early answer (see [`crate::body`]).
    pub drain_limit: usize,
}

impl ServerOptions {
    pub fn new(host: &str, port: u16) -> Self {
        Self {
            host: host.to_owned(),
            port,
            body_limit: 1024 * 1024,
            workers: None,
            shutdown_timeout: 30,
            drain_limit: crate::body::DEFAULT_DRAIN_LIMIT,
        }
    }
}

pub use crate::health::Readiness;

/// A bound, not yet awaited, server.
pub struct Application {
    port: u16,
    addr: SocketAddr,
    server: Server,
    readiness: Readiness,
}

impl Application {
    /// Binds and prepares the server; routes come from `configure`, the same function tests use.
    pub fn build<F>(
        options: &ServerOptions,
        metrics: Metrics,
        readiness: Readiness,
        configure: F,
    ) -> std::io::Result<Self>
    where
        F: Fn(&mut web::ServiceConfig) + Send + Clone + 'static,
    {
        let listener = TcpListener::bind((options.host.as_str(), options.port))?;
        let addr = listener.local_addr()?;
        let body_limit = options.body_limit;
        let drain_limit = web::Data::new(crate::body::DrainLimit(options.drain_limit));
        readiness.register_gauges(&metrics);
        let refresher = readiness.clone();
        let metrics = web::Data::new(metrics);
        let readiness = web::Data::new(readiness);
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(metrics.clone())
                .app_data(readiness.clone())
                .app_data(drain_limit.clone())
                .app_data(web::PayloadConfig::new(body_limit))
                .wrap(from_fn(crate::body::hold_unread_bodies))
                .wrap(from_fn(record_metrics))
                .wrap(from_fn(crate::request_id::middleware))
                .wrap(request_logger())
                .route("/health/live", web::get().to(live))
                .route("/health/ready", web::get().to(crate::health::ready))
                .route("/metrics", web::get().to(render_metrics))
                .configure(configure.clone())
        })
        .shutdown_timeout(options.shutdown_timeout)
        .client_disconnect_timeout(crate::body::LINGER)
        .listen(listener)?;
        if let Some(workers) = options.workers {
            server = server.workers(workers);
        }
        let server = server.run();
        Ok(Self {
            port: addr.port(),
            addr,
            server,
            readiness: refresher,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the server from elsewhere (tests, a supervisor).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT (graceful) or [`ServerHandle::stop`].
    pub async fn run(self) -> std::io::Result<()> {
        let refresher = tokio::spawn(self.readiness.refresh_dependencies());
        let result = self.server.await;
        refresher.abort();
        result
    }
}

fn request_logger() -> Logger {
    Logger::new("%{peer}xi \"%{request}xi\" %s %b %Dms id=%{x-request-id}o")
        // The socket's peer: forwarding headers are anyone's to write, and only a service
        // that knows its trusted proxies (downstream-node) may believe them.
        .custom_request_replace("peer", |req| {
            req.peer_addr()
                .map_or_else(|| "-".to_owned(), |addr| addr.ip().to_string())
        })
        .custom_request_replace("request", |req| {
            format!("{} {}", req.method(), redact_path(req.path()))
        })
}

/// Shortens path segments that look like secrets (farmer tokens, vouchers, API tokens: long
/// runs of hex or base64 characters) to their first six characters. Ids with separators such
/// as revocation registry ids stay readable.
pub fn redact_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            let secret_like = segment.len() >= 24
                && segment
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'=' | b'%'));
            match segment.get(..6) {
                Some(prefix) if secret_like => format!("{prefix}…"),
                _ => segment.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let metrics = req.app_data::<web::Data<Metrics>>().cloned();
    let response = next.call(req).await;
    if let Some(metrics) = metrics {
        let status = match &response {
            Ok(res) => res.status(),
            Err(err) => err.as_response_error().status_code(),
        };
        metrics.observe(&method, &route, status.as_u16(), started.elapsed());
    }
    response
}

async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

async fn render_metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// `[time LEVEL target] message`, for people.
    #[default]
    Plain,
    /// One JSON object per line (`time`, `level`, `target`, `message`), for log collectors.
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "plain" | "text" => Ok(LogFormat::Plain),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}: use plain or json")),
        }
    }
}

/// Starts `env_logger` with `RUST_LOG` if set, else `level` (e.g. `info`). Safe to call twice.
pub fn init_logging(level: &str) {
    init_logging_as(level, LogFormat::Plain);
}

/// Logging for a service's `main`: `level` in Rust's or the Python originals' names
/// (`WARNING`, `CRITICAL`...; see [`crate::log_level`]), lines in `format`.
pub fn start_logging(
    level: &str,
    format: LogFormat,
) -> Result<(), crate::log_level::LogLevelError> {
    init_logging_as(&crate::log_level::log_filter(level)?, format);
    Ok(())
}

/// [`init_logging`] in the given format.
pub fn init_logging_as(level: &str, format: LogFormat) {
    let env = env_logger::Env::default().default_filter_or(level);
    let mut builder = env_logger::Builder::from_env(env);
    builder.format_timestamp_millis();
    if format == LogFormat::Json {
        builder.format(|out, record| {
            use std::io::Write as _;
            let line = json!({
                "time": out.timestamp_millis().to_string(),
                "level": record.level().as_str(),
                "target": record.target(),
                "message": record.args().to_string(),
            });
            writeln!(out, "{line}")
        });
    }
    let _ = builder.try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_paths_are_shortened() {
        assert_eq!(
            redact_path("/api/downstream/v1/heartbeat/0123456789abcdef0123456789abcdef"),
            "/api/downstream/v1/heartbeat/012345…"
        );
        assert_eq!(
            redact_path("/voucher/aGVsbG8gd29ybGQgdGhpcyBpcyBhIHZvdWNoZXIhISE="),
            "/voucher/aGVsbG…"
        );
        let rev_reg = "/WgWxqztrNooG92RXvxSTWv:4:WgWxqztrNooG92RXvxSTWv:3:CL:20:tag:CL_ACCUM:0";
        assert_eq!(redact_path(rev_reg), rev_reg);
        assert_eq!(redact_path("/health/ready"), "/health/ready");
    }
}
