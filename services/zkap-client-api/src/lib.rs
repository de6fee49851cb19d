//! ZKAPAuthorizer's client API as a standalone service, compatible with GridSync: voucher
//! redemption against a PaymentServer-compatible issuer, voucher status, prices, lease
//! maintenance, and passes for storage operations. See README.md.

pub mod db;
pub mod domain;
pub mod error;
pub mod redemption;
pub mod routes;
pub mod settings;
mod tahoe_cfg;

use std::collections::HashSet;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::web;
use challenge_bypass_ristretto::voprf::PublicKey;
use ledger_client::zkap::ZkapIssuer;
use ledger_client::{Timeouts, http_client};
use service_kit::auth::ApiToken;
use service_kit::db::{Database, PoolOptions};
use service_kit::metrics::Metrics;
use service_kit::server::{Readiness, ServerOptions};

use crate::domain::pricing::Pricing;
use crate::redemption::{Redeemer, RedemptionConfig, RedemptionMetrics};
use crate::routes::AppState;
use crate::settings::Settings;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("missing setting: {0}")]
    Missing(&'static str),
    #[error("invalid setting: {0}")]
    Invalid(String),
    #[error(transparent)]
    Auth(#[from] service_kit::auth::AuthError),
    #[error(transparent)]
    Db(#[from] service_kit::db::DbError),
    #[error(transparent)]
    Ledger(#[from] ledger_client::LedgerError),
    #[error("cannot start the server: {0}")]
    Io(#[from] std::io::Error),
    #[error("start-up failed: {0}")]
    Other(String),
}

/// The service, bound and ready to run.
pub struct Application {
    server: service_kit::server::Application,
    redeemer: Redeemer,
    resuming: tokio::task::JoinHandle<()>,
}

impl Application {
    /// Connects (and by default migrates) the database, binds the listener (port 0 allowed),
    /// and resumes every voucher with redemption work left (in the background, once the
    /// schema is complete). Must run inside a Tokio runtime,
    /// which then carries the redemption tasks.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let token_file = settings
            .api_auth_token_file
            .as_deref()
            .ok_or(StartupError::Missing(
                "api_auth_token_file (or tahoe_node_dir)",
            ))?;
        let issuer_url = settings
            .ristretto_issuer_root_url
            .as_deref()
            .ok_or(StartupError::Missing("ristretto_issuer_root_url"))?;
        let allowed_public_keys = allowed_keys(&settings.allowed_public_keys)?;
        let token = ApiToken::from_file(token_file, "tahoe-lafs", "tahoe-lafs");

        let db = connect(settings).await?;
        let client = http_client(Timeouts {
            connect: Duration::from_secs(settings.issuer_connect_timeout_seconds),
            request: Duration::from_secs(settings.issuer_timeout_seconds),
        })?;
        let issuer = ZkapIssuer::new(client, issuer_url)?;

        let metrics = Metrics::new("zkap-client-api");
        let redemption_metrics = RedemptionMetrics {
            groups_redeemed: metrics.counter(
                "zkap_redemption_groups_total",
                "Redemption groups signed, verified and stored.",
            ),
            tokens_redeemed: metrics
                .counter("zkap_tokens_redeemed_total", "Unblinded tokens stored."),
            setbacks: metrics.counter(
                "zkap_redemption_setbacks_total",
                "Redemption attempts that ended unpaid, double-spent or in error.",
            ),
        };
        let redeemer = Redeemer::new(
            db.clone(),
            issuer,
            RedemptionConfig {
                groups: settings.num_redemption_groups,
                allowed_public_keys,
                retry_initial: Duration::from_millis(settings.retry_initial_delay_ms),
                retry_max: Duration::from_millis(settings.retry_max_delay_ms),
                max_concurrent: settings.max_concurrent_redemptions,
            },
            redemption_metrics,
            tokio::runtime::Handle::current(),
        );
        let state = web::Data::new(AppState {
            db: db.clone(),
            redeemer: redeemer.clone(),
            pricing: Pricing {
                shares_needed: settings.shares_needed,
                shares_total: settings.shares_total,
                pass_value: settings.pass_value,
                lease_min_time_remaining: settings.lease_min_time_remaining,
            },
            default_token_count: settings.default_token_count,
            max_passes_per_request: settings.max_passes_per_request,
            passes_issued: metrics.counter("zkap_passes_issued_total", "Passes handed out."),
        });
        let token = web::Data::new(token);

        let readiness = readiness(&db, issuer_url, token.get_ref().clone())?;
        let mut options = ServerOptions::new(&settings.host, settings.port);
        options.body_limit = settings.body_limit;
        let server =
            service_kit::server::Application::build(&options, metrics, readiness, move |cfg| {
                routes::configure(cfg, state.clone(), token.clone())
            })?;
        let resuming = tokio::spawn(resume_when_ready(db, redeemer.clone()));
        Ok(Self {
            server,
            redeemer,
            resuming,
        })
    }

    pub fn port(&self) -> u16 {
        self.server.port()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// The redemption tasks; `stop()` abandons them as a crash would (tests).
    pub fn redeemer(&self) -> Redeemer {
        self.redeemer.clone()
    }

    /// Serves until SIGTERM/SIGINT; redemption in flight is abandoned and resumed at the next
    /// start from its persisted state.
    pub async fn run(self) -> std::io::Result<()> {
        let result = self.server.run().await;
        self.resuming.abort();
        self.redeemer.stop();
        result
    }
}

/// How often a replica waiting for its schema or its database looks again.
const RESUME_RETRY: Duration = Duration::from_secs(2);

/// Resumes every voucher with redemption work left, once the schema is complete (a replica
/// started with `--no-migrate` before the migration Job finished waits, unready, instead of
/// exiting) and the database answers.
async fn resume_when_ready(db: Database, redeemer: Redeemer) {
    loop {
        let outcome = match db.pending_migrations(&db::MIGRATIONS).await {
            Ok(pending) if pending.is_empty() => redeemer
                .resume_all()
                .await
                .map_err(|e| service_kit::error::cause_chain(&e)),
            Ok(pending) => Err(format!("{} migration(s) not applied yet", pending.len())),
            Err(err) => Err(err.to_string()),
        };
        match outcome {
            Ok(0) => return,
            Ok(resumed) => {
                log::info!("resuming redemption of {resumed} voucher(s)");
                return;
            }
            Err(reason) => log::warn!("redemption not resumed yet: {reason}"),
        }
        tokio::time::sleep(RESUME_RETRY).await;
    }
}

/// `migrate`: applies the pending migrations and returns their versions.
pub async fn migrate(settings: &Settings) -> Result<Vec<String>, StartupError> {
    let mut settings = settings.clone();
    settings.migrate = false;
    let db = connect(&settings).await?;
    blocking(move || db.migrate(&db::MIGRATIONS).map_err(StartupError::from)).await
}

async fn connect(settings: &Settings) -> Result<Database, StartupError> {
    let url = settings.database_url.clone();
    let options = PoolOptions {
        max_size: settings.pool_size.max(1),
        ..PoolOptions::default()
    };
    let migrate = settings.migrate;
    blocking(move || {
        let db = Database::connect(&url, options)?;
        if migrate {
            db.migrate(&db::MIGRATIONS)?;
        }
        Ok(db)
    })
    .await
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StartupError> + Send + 'static,
) -> Result<T, StartupError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| StartupError::Other(e.to_string()))?
}

fn allowed_keys(keys: &[String]) -> Result<HashSet<String>, StartupError> {
    if keys.is_empty() {
        return Err(StartupError::Missing("allowed_public_keys"));
    }
    keys.iter()
        .map(|key| match PublicKey::decode_base64(key) {
            Ok(_) => Ok(key.clone()),
            Err(_) => Err(StartupError::Invalid(format!(
                "allowed public key {key:?} is not a base64 ristretto public key"
            ))),
        })
        .collect()
}

/// Ready when the database answers with the whole schema; degraded when the issuer does not
/// answer HTTP at all.
fn readiness(db: &Database, issuer_url: &str, token: ApiToken) -> Result<Readiness, StartupError> {
    let probe = http_client(Timeouts {
        connect: Duration::from_secs(2),
        request: Duration::from_secs(4),
    })?;
    let issuer_url = issuer_url.to_owned();
    Ok(Readiness::new()
        .database(db, &db::MIGRATIONS)
        .check("api_token", move || std::future::ready(token.has_token()))
        .dependency("issuer", move || {
            let request = probe.get(&issuer_url);
            async move {
                request
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("issuer unreachable: {e}"))
            }
        }))
}
