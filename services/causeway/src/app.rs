//! The service as a whole: [`Application`] (built from [`Settings`], bound, run by
//! `service_kit::startup`) and [`AppState`], what every handler and operation shares.

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::dev::ServerHandle;
use anyhow::Context as _;
use ledger_client::bitcoin_rpc::BitcoinRpc;
use ledger_client::{Timeouts, http_client};
use service_kit::db::{Backend, Database, DbError};
use service_kit::metrics::Metrics;
use service_kit::server::{self, Readiness};
use service_kit::settings::LogSettings;
use service_kit::startup::Service;

use crate::db::batcher::{self, Batcher, Batches, Limits};
use crate::db::documents::Readable;
use crate::domain::bucket::BucketTerms;
use crate::domain::{Clock, Put, Sats};
use crate::error::Error;
use crate::ops::{kv, put_batch};
use crate::read_cache::{ReadCache, Stale};
use crate::settings::{Command, Flags, Settings};
use crate::{db, routes, transfer};

/// The put batcher of PostgreSQL and MySQL (group commit): a put and its clock, and its
/// outcome.
type PutBatcher = Batcher<(Put, Clock), put_batch::Outcome>;
/// Its serving end, and what `/metrics` counts of its batches.
type PutBatches = (
    Batches<(Put, Clock), put_batch::Outcome>,
    put_batch::Counters,
);
/// `/get`'s read batcher: a key and when it was asked, and what was found.
type ReadBatcher = Batcher<(String, i64), ReadOutcome>;
type ReadOutcome = Result<Option<Readable>, Error>;

/// Reads per query at most, and queries under way at once.
const READS: Limits = Limits {
    queue: 4096,
    max_batch: 64,
    concurrent: 3,
};

/// What every handler and operation shares. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub ledger: Option<BitcoinRpc>,
    pub settings: Arc<Settings>,
    pub started: Instant,
    /// `/get`'s transfer, counted in memory and written in batches.
    pub transfer: Arc<transfer::Transfer>,
    /// PostgreSQL's put batcher; `None` elsewhere.
    pub puts: Option<PutBatcher>,
    /// PostgreSQL's and MySQL's read batcher; `None` on SQLite.
    pub reads: Option<ReadBatcher>,
    /// `/get`'s cache, on SQLite only (see [`crate::read_cache`]).
    pub cache: Option<Arc<ReadCache>>,
    /// The size of a new bucket.
    pub terms: BucketTerms,
    /// How long a nonce lives, in seconds.
    pub nonce_ttl: i64,
}

impl AppState {
    pub fn clock(&self) -> Clock {
        Clock {
            now: crate::domain::time::now(),
            nonce_ttl: self.nonce_ttl,
        }
    }

    pub fn price(&self) -> Sats {
        Sats(self.settings.price)
    }

    /// Runs plain queries off the executor.
    pub async fn query<T, F>(&self, work: F) -> Result<T, Error>
    where
        F: FnOnce(&mut service_kit::db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| work(conn).map_err(Error::from))
            .await
    }

    /// A write that may change what `/get` serves. With a read cache it runs to its end even
    /// when the request is dropped, and once it is over the cache forgets what `stale` says
    /// the outcome changed (a failed write may still have committed: its caller says so).
    pub async fn write_for_get<T, F, S>(&self, work: F, stale: S) -> Result<T, Error>
    where
        F: FnOnce(&mut service_kit::db::DbConnection) -> Result<T, Error> + Send + 'static,
        S: FnOnce(&Result<T, Error>) -> Stale + Send + 'static,
        T: Send + 'static,
    {
        let Some(cache) = self.cache.clone() else {
            return self.db.write(work).await;
        };
        let db = self.db.clone();
        let write = tokio::spawn(async move {
            let outcome = db.write(work).await;
            stale(&outcome).forget(&cache);
            outcome
        });
        write.await.map_err(|_| Error::Db(DbError::Cancelled))?
    }
}

/// A bound causeway server.
pub struct Application {
    server: server::Application,
    state: AppState,
    puts: Option<PutBatches>,
    reads: Option<Batches<(String, i64), ReadOutcome>>,
}

impl Service for Application {
    const NAME: &'static str = "causeway";
    const ABOUT: &'static str =
        "Rein microhosting: signed key/value storage sold in buckets paid in bitcoin";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    type Settings = Settings;
    type Flags = Flags;
    type Command = Command;

    fn log(settings: &Settings) -> &LogSettings {
        &settings.log
    }

    /// Connects the database (applying migrations unless told not to) and the ledger, and
    /// binds the listener (port 0 picks a free one).
    async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Database::connect(&settings.database.database_url, settings.database.pool())?;
        if settings.database.migrate {
            db.migrate(&db::MIGRATIONS)?;
        }
        let ledger = ledger(&settings)?;
        let options = settings.server.options();
        let readiness = readiness(&db, ledger.as_ref());
        let transfer = transfer::Transfer::new(
            settings.transfer_flush_bytes,
            Duration::from_millis(settings.transfer_flush_ms),
        );
        let (puts, put_batches) = match db.backend() {
            Backend::Postgres | Backend::Mysql => split(batcher::channel(put_batch::LIMITS)),
            Backend::Sqlite => (None, None),
        };
        let (reads, read_batches) = match db.backend() {
            Backend::Postgres | Backend::Mysql => split(batcher::channel(READS)),
            Backend::Sqlite => (None, None),
        };
        // Settings beyond i64 mean "without limit": they saturate.
        let saturated = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let metrics = Metrics::new(Self::NAME);
        let batch_counters = put_batch::Counters::registered(&metrics);
        let cache = match db.backend() {
            Backend::Sqlite if settings.read_cache_bytes > 0 => Some(ReadCache::registered(
                usize::try_from(settings.read_cache_bytes).unwrap_or(usize::MAX),
                &metrics,
            )),
            _ => None,
        };
        let state = AppState {
            cache,
            terms: BucketTerms {
                bytes: saturated(settings.bucket_bytes),
                transfer_bytes: saturated(settings.bucket_transfer_bytes),
                term_days: i64::from(settings.bucket_term_days),
            },
            nonce_ttl: saturated(settings.nonce_ttl_secs),
            puts,
            reads,
            db,
            ledger,
            settings: Arc::new(settings),
            started: Instant::now(),
            transfer: Arc::new(transfer),
        };
        let routes = state.clone();
        let server = server::Application::build(&options, metrics, readiness, move |cfg| {
            routes::configure(cfg, routes.clone())
        })
        .with_context(|| format!("cannot listen on {}:{}", options.host, options.port))?;
        Ok(Self {
            server,
            state,
            puts: put_batches.map(|batches| (batches, batch_counters)),
            reads: read_batches,
        })
    }

    fn port(&self) -> u16 {
        self.server.port()
    }

    fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGTERM, SIGINT or the handle), writing `/get`'s transfer
    /// meanwhile; once the last request is answered, writes what is left.
    async fn run(self) -> anyhow::Result<()> {
        let Self {
            server,
            state,
            puts,
            reads,
        } = self;
        if let Some((puts, counters)) = puts {
            tokio::spawn(puts.run(state.db.clone(), move |conn, jobs| {
                put_batch::run(conn, jobs, &counters)
            }));
        }
        if let Some(reads) = reads {
            tokio::spawn(reads.run(state.db.clone(), kv::read_batch));
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(crate::read_cache::watch_foreign_writes(
            state.clone(),
            stopped.clone(),
        ));
        let flusher = {
            let state = state.clone();
            tokio::spawn(async move { state.transfer.run(state.clone(), stopped).await })
        };
        let served = server.run().await;
        let _ = stop.send(true);
        if let Err(err) = flusher.await {
            log::error!("transfer flusher failed: {err}");
        }
        if let Err(err) = state.transfer.flush(&state).await {
            log::error!("transfer served before shutdown not written: {err}");
        }
        Ok(served?)
    }

    async fn command(command: Command, settings: Settings) -> anyhow::Result<()> {
        match command {
            Command::Serve => service_kit::startup::serve::<Self>(settings).await,
            Command::Migrate => {
                let db =
                    Database::connect(&settings.database.database_url, settings.database.pool())?;
                let applied = db.migrate(&db::MIGRATIONS)?;
                log::info!("{} migration(s) applied", applied.len());
                Ok(())
            }
        }
    }
}

fn split<B, Q>((batcher, batches): (B, Q)) -> (Option<B>, Option<Q>) {
    (Some(batcher), Some(batches))
}

/// Bitcoin Core, when configured.
fn ledger(settings: &Settings) -> anyhow::Result<Option<BitcoinRpc>> {
    let Some(url) = &settings.bitcoind_url else {
        return Ok(None);
    };
    let password = settings.bitcoind_password()?;
    let client = http_client(Timeouts::default())?;
    Ok(Some(BitcoinRpc::new(
        client,
        url,
        &settings.bitcoind_user,
        &password,
    )?))
}

fn readiness(db: &Database, ledger: Option<&BitcoinRpc>) -> Readiness {
    let mut checks = Readiness::new().database(db, &db::MIGRATIONS);
    if let Some(ledger) = ledger {
        let ledger = ledger.clone();
        checks = checks.dependency("bitcoind", move || {
            let ledger = ledger.clone();
            async move {
                ledger
                    .getblockcount()
                    .await
                    .map(drop)
                    .map_err(|e| e.to_string())
            }
        });
    }
    checks
}
