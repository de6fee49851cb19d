//! What the node does, one module per operation; routes parse and call these, these run the
//! rules of `domain` inside one database transaction each.

pub mod answers;
pub mod challenges;
pub mod chunks;
pub mod maintenance;
pub mod register;
pub mod status;

use std::net::IpAddr;
use std::sync::Arc;

use diesel::connection::SimpleConnection as _;
use service_kit::db::{Backend, Database, DbConnection};

use crate::db::tokens::{self, TokenRow};
use crate::domain::FarmerToken;
use crate::error::ApiError;
use crate::geoip::GeoIp;
use crate::heartbeat::HeartbeatKey;
use crate::ratelimit::RateLimits;
use crate::settings::Settings;

/// Everything the handlers share. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    pub db: Database,
    pub key: Arc<HeartbeatKey>,
    pub geo: Arc<GeoIp>,
    pub settings: Arc<Settings>,
    /// Per-IP and per-token request budgets, shared by every worker of this process.
    pub limits: Arc<RateLimits>,
}

impl Node {
    pub fn new(db: Database, key: HeartbeatKey, geo: GeoIp, settings: Settings) -> Self {
        Self {
            db,
            key: Arc::new(key),
            geo: Arc::new(geo),
            limits: Arc::new(RateLimits::from_settings(&settings)),
            settings: Arc::new(settings),
        }
    }

    pub(crate) fn interval_millis(&self) -> i64 {
        i64::try_from(self.settings.interval)
            .unwrap_or(i64::MAX / 2_000)
            .saturating_mul(1000)
    }

    pub(crate) fn location_json(&self, ip: IpAddr) -> Option<String> {
        self.geo
            .locate(ip)
            .and_then(|location| serde_json::to_string(&location).ok())
    }
}

/// One transaction for a read-then-write operation. SQLite transactions start deferred, and
/// in WAL mode one that read first and writes second fails at once with SQLITE_BUSY when
/// another writer got in between; taking the write lock up front makes it wait instead.
pub async fn write_transaction<T, F>(db: &Database, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    db.transaction(move |conn| {
        lock_for_write(conn)?;
        work(conn)
    })
    .await
}

/// Takes SQLite's write lock at the start of the current transaction (no-op elsewhere).
pub fn lock_for_write(conn: &mut DbConnection) -> Result<(), diesel::result::Error> {
    if conn.backend() == Backend::Sqlite {
        conn.batch_execute("UPDATE addresses SET id = id WHERE 1 = 0")?;
    }
    Ok(())
}

/// Canonical text of a client address (IPv4-mapped IPv6 shown as IPv4).
pub fn ip_text(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// The token row, or 400 `Nonexistent token.`
pub(crate) fn token_row(
    conn: &mut DbConnection,
    token: Option<FarmerToken>,
) -> Result<TokenRow, ApiError> {
    let Some(token) = token else {
        return Err(ApiError::UnknownToken);
    };
    tokens::find(conn, &token.as_hex())?.ok_or(ApiError::UnknownToken)
}

/// The IP rule: a token used from a new address is refused when that address already holds
/// `max` tokens.
pub(crate) fn check_new_ip(
    conn: &mut DbConnection,
    row: &TokenRow,
    ip: &str,
    max: u32,
) -> Result<bool, ApiError> {
    if row.ip_address == ip {
        return Ok(false);
    }
    if tokens::count_by_ip(conn, ip)? >= i64::from(max) {
        return Err(ApiError::IpDisallowed(max));
    }
    Ok(true)
}

/// Seconds from `now` until `due`, as the float the farmer reads.
pub(crate) fn seconds_until(due: i64, now: i64) -> f64 {
    (due - now) as f64 / 1000.0
}
