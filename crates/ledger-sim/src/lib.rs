//! Local stand-ins for the ledgers, speaking their real wire protocols, for tests and for
//! `make run`. Never used in production. Each simulator runs in-process on any port (0 in
//! tests) and has admin routes under `/admin/` to set up the state a test needs.

pub mod bitcoin_rpc;
pub mod indy;
pub mod zkap;

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;

/// A simulator serving HTTP in the background of the current Tokio runtime.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    handle: ServerHandle,
}

impl Running {
    /// Binds `bind` (e.g. `127.0.0.1:0`) and serves the routes `configure` registers.
    pub(crate) fn start<F>(bind: &str, configure: F) -> std::io::Result<Self>
    where
        F: Fn(&mut actix_web::web::ServiceConfig) + Send + Clone + 'static,
    {
        let server = actix_web::HttpServer::new(move || {
            actix_web::App::new()
                .route("/health/live", actix_web::web::get().to(live))
                .configure(configure.clone())
        })
        .workers(1)
        .disable_signals()
        .bind(bind)?;
        let addr = server
            .addrs()
            .first()
            .copied()
            .ok_or_else(|| std::io::Error::other("no address bound"))?;
        let server = server.run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self { addr, handle })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting connections; in-flight requests are dropped.
    pub async fn stop(&self) {
        self.handle.stop(false).await;
    }
}

/// Lets container health checks and `make run` see a simulator is up.
async fn live() -> actix_web::HttpResponse {
    actix_web::HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}
