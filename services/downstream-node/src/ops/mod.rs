//! What the node does, one module per operation: each takes the shared state and domain
//! types, runs the rules of `domain` inside one `Database::write` (a transaction; on SQLite
//! one of the group-commit writer's), and returns a domain outcome or [`Error`]; the routes
//! turn those into the wire format.

pub mod answers;
pub mod challenges;
pub mod chunks;
pub mod maintenance;
pub mod register;
pub mod status;

use std::net::IpAddr;

use service_kit::db::{Backend, DbConnection};

use crate::db::tokens::{self, TokenRow};
use crate::domain::FarmerToken;
use crate::error::Error;

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

/// The token row `row` (read earlier in this same write) as it is now, locked until the
/// transaction ends: what an operation reads before it writes the token's statistics back,
/// so that no other writer's update between the read and the write is lost.
pub(crate) fn locked_token_row(conn: &mut DbConnection, row: &TokenRow) -> Result<TokenRow, Error> {
    if conn.backend() == Backend::Sqlite {
        // The file's one writer runs this write: the row as read is the row as it is.
        return Ok(row.clone());
    }
    tokens::find_locked(conn, row.id)?.ok_or(Error::UnknownToken)
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
