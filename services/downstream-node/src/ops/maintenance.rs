//! Background and command-line upkeep: statistics sweeps, `cleandb`, whitelist import.

use std::path::Path;

use service_kit::db::{Backend, Database, in_transaction};

use crate::db::addresses::{self, ImportReport};
use crate::db::lock::{self, Upkeep};
use crate::db::stats::{self, SweepReport};
use crate::domain::{Millis, SjcxAddress, now_millis};
use crate::error::Error;

pub async fn sweep(db: &Database) -> Result<SweepReport, Error> {
    sweep_at(db, now_millis()).await
}

pub async fn sweep_at(db: &Database, now: Millis) -> Result<SweepReport, Error> {
    let expired = db
        .write(move |conn| Ok::<_, Error>(stats::expire_contracts(conn, now)?))
        .await?;
    let refreshed = refresh_uptime(db, now).await?;
    Ok(SweepReport { expired, refreshed })
}

/// Deletes contracts expired more than a minute ago and refreshes every farmer's uptime.
/// Safe beside other replicas doing the same (each contract is taken and deleted once).
pub async fn cleandb(db: &Database) -> Result<usize, Error> {
    let now = now_millis();
    let deleted = db
        .write(move |conn| Ok::<_, Error>(stats::delete_expired(conn, now)?))
        .await?;
    refresh_uptime(db, now).await?;
    Ok(deleted)
}

/// Every farmer's uptime, in a write of its own: it locks every token, which it must not
/// wait for while holding the addresses an expiry released (`/chunk` locks a token, then its
/// address).
async fn refresh_uptime(db: &Database, now: Millis) -> Result<usize, Error> {
    db.write(move |conn| Ok::<_, Error>(stats::refresh_uptime(conn, now)?))
        .await
}

/// [`cleandb`] unless another replica is running it right now (then `None`, at once): what
/// the scheduled run of every replica calls, so one of them does the work at a time.
pub async fn cleandb_exclusive(db: &Database) -> Result<Option<usize>, Error> {
    if db.backend() == Backend::Sqlite {
        // One file, one writer: there is no other replica to keep out.
        return cleandb(db).await.map(Some);
    }
    let now = now_millis();
    // The lock belongs to a session, so both steps run on this one connection, each in a
    // transaction of its own as `cleandb` runs them.
    db.run(move |conn| {
        lock::exclusive(conn, Upkeep::Cleandb, |conn| {
            let deleted = in_transaction(conn, |conn| {
                Ok::<_, Error>(stats::delete_expired(conn, now)?)
            })?;
            stats::refresh_uptime(conn, now)?;
            Ok(deleted)
        })
    })
    .await
}

#[derive(Debug, thiserror::Error)]
pub enum WhitelistError {
    #[error("cannot read {0}: {1}")]
    Read(String, #[source] std::io::Error),
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error(transparent)]
    Db(#[from] Error),
}

/// Parses the whitelist CSV: a header row, then `address,balance` rows (blank lines
/// ignored, balances may have decimals and are truncated to whole SJCX).
pub fn parse_whitelist(text: &str) -> Result<Vec<(String, i64)>, WhitelistError> {
    let mut entries = Vec::new();
    for (index, raw) in text.lines().enumerate().skip(1) {
        let line = index + 1;
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let bad = |reason: String| WhitelistError::Line { line, reason };
        let mut fields = raw.split(',').map(|f| f.trim().trim_matches('"'));
        let (Some(address), Some(balance)) = (fields.next(), fields.next()) else {
            return Err(bad("expected address,balance".into()));
        };
        let address = SjcxAddress::parse(address)
            .ok_or_else(|| bad(format!("{address:?} is not a valid SJCX address")))?;
        let balance: f64 = balance
            .parse()
            .map_err(|_| bad(format!("{balance:?} is not a number")))?;
        if !balance.is_finite() || balance < 0.0 || balance >= i64::MAX as f64 {
            return Err(bad(format!("balance {balance} is out of range")));
        }
        entries.push((address.to_string(), balance.trunc() as i64));
    }
    Ok(entries)
}

pub async fn import_whitelist(
    db: &Database,
    path: &Path,
    keep_missing: bool,
) -> Result<ImportReport, WhitelistError> {
    let text = std::fs::read_to_string(path)
        .map_err(|err| WhitelistError::Read(path.display().to_string(), err))?;
    let entries = parse_whitelist(&text)?;
    let report = db
        .write(move |conn| Ok::<_, Error>(addresses::import(conn, &entries, keep_missing)?))
        .await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows() {
        let text = "address,balance\n19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jV,12000.5\n\n";
        assert_eq!(
            parse_whitelist(text).unwrap(),
            vec![("19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jV".to_owned(), 12000)]
        );
        assert!(matches!(
            parse_whitelist("h\n3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy,1\n"),
            Err(WhitelistError::Line { line: 2, .. })
        ));
        assert!(parse_whitelist("h\n19qVgG8C6eXwKMMyvVegsi3xCsKyk3Z3jV,lots\n").is_err());
    }
}
