//! What the node does, one module per operation: each takes the shared state and domain
//! types, runs the rules of `domain` inside one database transaction, and returns a domain
//! outcome or [`Error`]; the routes turn those into the wire format.

pub mod answers;
pub mod challenges;
pub mod chunks;
pub mod maintenance;
pub mod register;
pub mod status;

use std::net::IpAddr;

use service_kit::db::{Database, DbConnection};

use crate::db::lock;
use crate::db::tokens::{self, TokenRow};
use crate::domain::FarmerToken;
use crate::error::Error;

/// One transaction for a read-then-write operation.
pub async fn write<T, F>(db: &Database, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut DbConnection) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    db.transaction(move |conn| {
        lock::for_write(conn)?;
        work(conn)
    })
    .await
}

/// Canonical text of a client address (IPv4-mapped IPv6 shown as IPv4).
pub fn ip_text(ip: IpAddr) -> String {
    ip.to_canonical().to_string()
}

/// The token row, or `Nonexistent token.`
pub(crate) fn token_row(
    conn: &mut DbConnection,
    token: Option<FarmerToken>,
) -> Result<TokenRow, Error> {
    let Some(token) = token else {
        return Err(Error::UnknownToken);
    };
    tokens::find(conn, &token.as_hex())?.ok_or(Error::UnknownToken)
}

/// The token row as it is now, locked until the transaction ends: what an operation reads
/// before it writes the token's statistics back, so that no other writer's update between
/// the read and the write is lost.
pub(crate) fn locked_token_row(conn: &mut DbConnection, row: &TokenRow) -> Result<TokenRow, Error> {
    tokens::lock(conn, row.id)?;
    tokens::find(conn, &row.token)?.ok_or(Error::UnknownToken)
}

/// The IP rule: a token used from a new address is refused when that address already holds
/// `max` tokens. `true` when the address is new.
pub(crate) fn check_new_ip(
    conn: &mut DbConnection,
    row: &TokenRow,
    ip: &str,
    max: u32,
) -> Result<bool, Error> {
    if row.ip_address == ip {
        return Ok(false);
    }
    if tokens::count_by_ip(conn, ip)? >= i64::from(max) {
        return Err(Error::IpDisallowed(max));
    }
    Ok(true)
}

/// Seconds from `now` until `due`, as the float the farmer reads.
pub(crate) fn seconds_until(due: i64, now: i64) -> f64 {
    (due - now) as f64 / 1000.0
}
