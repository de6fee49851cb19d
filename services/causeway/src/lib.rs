//! Causeway: Rein's microhosting server. A key/value store whose writes are authorised by
//! Bitcoin signed messages, sold in buckets of storage and transfer, paid in bitcoin.
//! Compatible with python-rein's wire format and with the seed's parameters.

pub mod db;
pub mod domain;
pub mod error;
pub mod payments;
pub mod routes;
pub mod settings;
pub mod transfer;

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use diesel::Connection as _;
use ledger_client::bitcoin_rpc::BitcoinRpc;
use ledger_client::{Timeouts, http_client};
use service_kit::db::{Backend, Database, DatabaseUrl, PoolOptions};
use service_kit::metrics::Metrics;
use service_kit::server::{self, Readiness, ServerOptions};

pub use routes::configure;
pub use settings::Settings;

use db::buckets::BucketTerms;
use db::kv::Clock;
use db::writer::Writer;
use domain::Sats;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    /// SQLite's group-commit writer; `None` on PostgreSQL and MySQL, which have real
    /// concurrent writers.
    pub writer: Option<Writer>,
    pub ledger: Option<BitcoinRpc>,
    pub settings: Arc<Settings>,
    pub started: Instant,
    /// `/get`'s transfer, counted in memory and written in batches.
    pub transfer: Arc<transfer::Transfer>,
    /// PostgreSQL's put batcher (group commit); `None` elsewhere.
    pub put_batcher: Option<db::put_batch::PutBatcher>,
    /// PostgreSQL's and MySQL's `/get` read batcher; `None` on SQLite.
    pub read_batcher: Option<db::read_batch::ReadBatcher>,
}

impl AppState {
    pub fn clock(&self) -> Clock {
        Clock {
            now: domain::time::now(),
            nonce_ttl: i64::try_from(self.settings.nonce_ttl_secs).unwrap_or(i64::MAX),
        }
    }

    pub fn terms(&self) -> BucketTerms {
        let s = &self.settings;
        BucketTerms {
            bytes: i64::try_from(s.bucket_bytes).unwrap_or(i64::MAX),
            transfer_bytes: i64::try_from(s.bucket_transfer_bytes).unwrap_or(i64::MAX),
            term_days: i64::from(s.bucket_term_days),
        }
    }

    pub fn price(&self) -> Sats {
        Sats(self.settings.price)
    }

    /// Runs `work` as one transaction that leaves nothing on `Err`. On SQLite it runs in the
    /// writer's next batch, in a savepoint of its own; elsewhere in its own transaction on a
    /// pooled connection, where [`db::owners::lock`] serialises writers per owner.
    pub async fn write<T, F>(&self, work: F) -> Result<T, error::ApiError>
    where
        F: FnOnce(&mut service_kit::db::DbConnection) -> Result<T, error::ApiError>
            + Send
            + 'static,
        T: Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.write(work).await,
            None => self.db.run(move |conn| conn.transaction(work)).await,
        }
    }

    /// Runs a verified `/put`: batched with others on PostgreSQL (`db::put_batch`), through
    /// [`AppState::write`] elsewhere.
    pub async fn put(&self, put: db::kv::Put, clock: Clock) -> Result<(), error::ApiError> {
        match &self.put_batcher {
            Some(batcher) => batcher.put(put, clock).await,
            None => self.write(move |conn| db::kv::put(conn, &put, clock)).await,
        }
    }

    /// `/get`'s read: the document and its owner's transfer left; batched with other reads on
    /// PostgreSQL and MySQL (`db::read_batch`), on the pool on SQLite.
    pub async fn read_document(
        &self,
        key: &domain::Key,
        now: i64,
    ) -> Result<Option<db::documents::Readable>, error::ApiError> {
        match &self.read_batcher {
            Some(batcher) => batcher.read(key.as_str().to_owned(), now).await,
            None => {
                let key = key.clone();
                self.query(move |conn| db::documents::read(conn, key.as_str(), now))
                    .await
            }
        }
    }

    /// Runs plain queries off the executor.
    pub async fn query<T, F>(&self, work: F) -> Result<T, error::ApiError>
    where
        F: FnOnce(&mut service_kit::db::DbConnection) -> diesel::QueryResult<T> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| work(conn).map_err(error::ApiError::from))
            .await
    }
}

/// Connects to the database (applying migrations unless told not to) and the ledger.
pub fn connect(settings: &Settings) -> anyhow::Result<(Database, Option<BitcoinRpc>)> {
    let pool = PoolOptions {
        max_size: settings.pool_size,
        ..PoolOptions::default()
    };
    let db = Database::connect(&settings.database_url, pool)?;
    if settings.migrate {
        db.migrate(&db::MIGRATIONS)?;
    }
    let ledger = match &settings.bitcoind_url {
        Some(url) => {
            let password = settings.bitcoind_password()?;
            let client = http_client(Timeouts::default())?;
            Some(BitcoinRpc::new(
                client,
                url,
                &settings.bitcoind_user,
                &password,
            )?)
        }
        None => None,
    };
    Ok((db, ledger))
}

/// Applies pending migrations (the `migrate` subcommand); returns the versions applied.
pub fn migrate(settings: &Settings) -> anyhow::Result<Vec<String>> {
    let db = Database::connect(&settings.database_url, PoolOptions::default())?;
    Ok(db.migrate(&db::MIGRATIONS)?)
}

/// A bound causeway server.
pub struct Application {
    inner: server::Application,
    state: AppState,
    batches: Option<db::put_batch::Batches>,
    reads: Option<db::read_batch::Reads>,
}

impl Application {
    /// Binds `settings.host:settings.port` (0 picks a free port, see [`Application::port`]).
    pub fn build(settings: Settings) -> anyhow::Result<Self> {
        let (db, ledger) = connect(&settings)?;
        let mut options = ServerOptions::new(&settings.host, settings.port);
        options.body_limit = settings.body_limit;
        options.workers = settings.workers;
        let readiness = readiness(&db, ledger.as_ref());
        let writer = start_writer(&settings.database_url, db.backend())?;
        let transfer = transfer::Transfer::new(
            settings.transfer_flush_bytes,
            Duration::from_millis(settings.transfer_flush_ms),
        );
        let (put_batcher, batches) = match db.backend() {
            Backend::Postgres => {
                let (batcher, batches) = db::put_batch::channel();
                (Some(batcher), Some(batches))
            }
            _ => (None, None),
        };
        let (read_batcher, reads) = match db.backend() {
            Backend::Postgres | Backend::Mysql => {
                let (batcher, reads) = db::read_batch::channel();
                (Some(batcher), Some(reads))
            }
            _ => (None, None),
        };
        let state = AppState {
            put_batcher,
            read_batcher,
            db,
            writer,
            ledger,
            settings: Arc::new(settings),
            started: Instant::now(),
            transfer: Arc::new(transfer),
        };
        let inner = server::Application::build(
            &options,
            Metrics::new("causeway"),
            readiness,
            configure(state.clone()),
        )
        .with_context(|| format!("cannot listen on {}:{}", options.host, options.port))?;
        Ok(Self {
            inner,
            state,
            batches,
            reads,
        })
    }

    pub fn port(&self) -> u16 {
        self.inner.port()
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.inner.handle()
    }

    /// Serves until stopped (SIGTERM, SIGINT or the handle), writing `/get`'s transfer
    /// meanwhile; once the last request is answered, writes what is left.
    pub async fn run(self) -> std::io::Result<()> {
        let Self {
            inner,
            state,
            batches,
            reads,
        } = self;
        if let Some(batches) = batches {
            tokio::spawn(batches.run(state.db.clone()));
        }
        if let Some(reads) = reads {
            tokio::spawn(reads.run(state.db.clone()));
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let flusher = {
            let state = state.clone();
            tokio::spawn(async move { state.transfer.run(state.clone(), stopped).await })
        };
        let served = inner.run().await;
        let _ = stop.send(true);
        if let Err(err) = flusher.await {
            log::error!("transfer flusher failed: {err}");
        }
        if let Err(err) = state.transfer.flush(&state).await {
            log::error!("transfer served before shutdown not written: {err}");
        }
        served
    }
}

/// On SQLite, the group-commit writer on a connection of its own.
fn start_writer(url: &str, backend: Backend) -> anyhow::Result<Option<Writer>> {
    if backend != Backend::Sqlite {
        return Ok(None);
    }
    let conn = DatabaseUrl::parse(url)?.connect()?;
    Ok(Some(Writer::start(conn)?))
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
