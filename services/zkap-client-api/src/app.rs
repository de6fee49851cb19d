//! The service as a whole: [`Application`] (built from [`Settings`], bound, run by
//! `service_kit::startup`) and [`AppState`], what every handler and operation shares.

use std::collections::HashSet;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use anyhow::{Context as _, anyhow, bail};
use challenge_bypass_ristretto::voprf::PublicKey;
use ledger_client::zkap::ZkapIssuer;
use ledger_client::{Timeouts, http_client};
use service_kit::auth::ApiToken;
use service_kit::db::Database;
use service_kit::metrics::{Counter, Metrics};
use service_kit::server::Readiness;
use service_kit::settings::{LogSettings, Sources};
use service_kit::startup::Service;

use crate::db;
use crate::domain::pricing::Pricing;
use crate::ops::redemption::{Redeemer, RedemptionConfig, RedemptionMetrics};
use crate::settings::{self, Command, Flags, Settings};

/// What the handlers and operations share. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub redeemer: Redeemer,
    pub pricing: Pricing,
    pub default_token_count: u64,
    pub max_passes_per_request: u32,
    pub passes_issued: Counter,
    /// What clients send as `Authorization: tahoe-lafs TOKEN`.
    pub token: ApiToken,
}

/// The service, bound and ready to run.
pub struct Application {
    server: service_kit::server::Application,
    redeemer: Redeemer,
    resuming: tokio::task::JoinHandle<()>,
}

impl Service for Application {
    const NAME: &'static str = "zkap-client-api";
    const ABOUT: &'static str = env!("CARGO_PKG_DESCRIPTION");
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Settings = Settings;
    type Flags = Flags;
    type Command = Command;

    /// The Tahoe-LAFS node directory is a further source (see [`settings::load`]).
    fn load(sources: Sources<'_>, flags: &Flags) -> anyhow::Result<Settings> {
        Ok(settings::load(sources, flags)?)
    }

    fn log(settings: &Settings) -> &LogSettings {
        &settings.log
    }

    /// Connects (and by default migrates) the database, binds the listener (port 0 allowed),
    /// and resumes every voucher with redemption work left (in the background, once the
    /// schema is complete). Must run inside a Tokio runtime, which then carries the
    /// redemption tasks.
    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let token_file = settings
            .api_auth_token_file
            .as_deref()
            .ok_or_else(|| anyhow!("missing setting: api_auth_token_file (or tahoe_node_dir)"))?;
        let issuer_url = settings
            .ristretto_issuer_root_url
            .as_deref()
            .ok_or_else(|| anyhow!("missing setting: ristretto_issuer_root_url"))?;
        let token = ApiToken::from_file(token_file, "tahoe-lafs", "tahoe-lafs");
        let db = connect(&settings).await?;
        let metrics = Metrics::new(Self::NAME);
        let redeemer = redeemer(&settings, db.clone(), issuer_url, &metrics)?;
        let state = AppState {
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
            token: token.clone(),
        };
        let readiness = readiness(&db, issuer_url, token)?;
        let server = service_kit::server::Application::build(
            &settings.server.options(),
            metrics,
            readiness,
            move |cfg| crate::routes::configure(cfg, state.clone()),
        )
        .context("cannot start the server")?;
        let resuming = tokio::spawn(resume_when_ready(db, redeemer.clone()));
        Ok(Self {
            server,
            redeemer,
            resuming,
        })
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until SIGTERM/SIGINT; redemption in flight is abandoned and resumed at the next
    /// start from its persisted state.
    async fn run(self) -> anyhow::Result<()> {
        let result = self.server.run().await;
        self.resuming.abort();
        self.redeemer.stop();
        Ok(result?)
    }

    async fn command(command: Command, settings: Settings) -> anyhow::Result<()> {
        match command {
            Command::Serve => service_kit::startup::serve::<Self>(settings).await,
            Command::Migrate => {
                let applied = migrate(&settings).await?;
                log::info!("{} migration(s) applied", applied.len());
                Ok(())
            }
        }
    }
}

impl Application {
    /// The redemption tasks; `stop()` abandons them as a crash would (tests).
    pub fn redeemer(&self) -> Redeemer {
        self.redeemer.clone()
    }
}

/// The redemption tasks with their issuer and counters.
fn redeemer(
    settings: &Settings,
    db: Database,
    issuer_url: &str,
    metrics: &Metrics,
) -> anyhow::Result<Redeemer> {
    let client = http_client(Timeouts {
        connect: Duration::from_secs(settings.issuer_connect_timeout_seconds),
        request: Duration::from_secs(settings.issuer_timeout_seconds),
    })?;
    let issuer = ZkapIssuer::new(client, issuer_url)?;
    let counters = RedemptionMetrics {
        groups_redeemed: metrics.counter(
            "zkap_redemption_groups_total",
            "Redemption groups signed, verified and stored.",
        ),
        tokens_redeemed: metrics.counter("zkap_tokens_redeemed_total", "Unblinded tokens stored."),
        setbacks: metrics.counter(
            "zkap_redemption_setbacks_total",
            "Redemption attempts that ended unpaid, double-spent or in error.",
        ),
    };
    let config = RedemptionConfig {
        groups: settings.num_redemption_groups,
        allowed_public_keys: allowed_keys(&settings.allowed_public_keys)?,
        retry_initial: Duration::from_millis(settings.retry_initial_delay_ms),
        retry_max: Duration::from_millis(settings.retry_max_delay_ms),
        max_concurrent: settings.max_concurrent_redemptions,
    };
    Ok(Redeemer::new(
        db,
        issuer,
        config,
        counters,
        tokio::runtime::Handle::current(),
    ))
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
async fn migrate(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let mut settings = settings.clone();
    settings.database.migrate = false;
    let db = connect(&settings).await?;
    Ok(tokio::task::spawn_blocking(move || db.migrate(&db::MIGRATIONS)).await??)
}

async fn connect(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database.database_url.clone();
    let mut options = settings.database.pool();
    options.max_size = options.max_size.max(1);
    let migrate = settings.database.migrate;
    let db = tokio::task::spawn_blocking(move || {
        let db = Database::connect(&url, options)?;
        if migrate {
            db.migrate(&db::MIGRATIONS)?;
        }
        Ok::<_, service_kit::db::DbError>(db)
    })
    .await??;
    Ok(db)
}

fn allowed_keys(keys: &[String]) -> anyhow::Result<HashSet<String>> {
    if keys.is_empty() {
        bail!("missing setting: allowed_public_keys");
    }
    keys.iter()
        .map(|key| match PublicKey::decode_base64(key) {
            Ok(_) => Ok(key.clone()),
            Err(_) => Err(anyhow!(
                "invalid setting: allowed public key {key:?} is not a base64 ristretto public key"
            )),
        })
        .collect()
}

/// Ready when the database answers with the whole schema; degraded when the issuer does not
/// answer HTTP at all.
fn readiness(db: &Database, issuer_url: &str, token: ApiToken) -> anyhow::Result<Readiness> {
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
