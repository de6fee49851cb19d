//! The whitelist: farming addresses, their crowdsale balance and the contract bytes they hold.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};
use service_kit::db::column;
use service_kit::db::{Backend, DbConnection};

use super::BATCH;
use super::schema::addresses;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = addresses)]
pub struct AddressRow {
    pub id: i64,
    pub address: String,
    pub crowdsale_balance: i64,
    pub allocated_bytes: i64,
}

impl AddressRow {
    /// Bytes the address's online contracts hold.
    pub fn allocated(&self) -> QueryResult<u64> {
        Ok(column::read(
            "addresses.allocated_bytes",
            self.allocated_bytes,
        )?)
    }
}

pub fn find(conn: &mut DbConnection, address: &str) -> QueryResult<Option<AddressRow>> {
    addresses::table
        .filter(addresses::address.eq(address))
        .select(AddressRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_by_id(conn: &mut DbConnection, id: i64) -> QueryResult<AddressRow> {
    addresses::table
        .find(id)
        .select(AddressRow::as_select())
        .first(conn)
}

/// The row of `address`, created with balance 0 when absent (whitelist not required).
pub fn find_or_create(conn: &mut DbConnection, address: &str) -> QueryResult<AddressRow> {
    if let Some(row) = find(conn, address)? {
        return Ok(row);
    }
    let insert = |conn: &mut DbConnection| {
        diesel::insert_into(addresses::table)
            .values((
                addresses::address.eq(address),
                addresses::crowdsale_balance.eq(0),
                addresses::allocated_bytes.eq(0),
            ))
            .execute(conn)
    };
    let inserted = match conn.backend() {
        // The one writer of the file runs this (`Database::write`), so nobody inserts
        // meanwhile; and its transaction is the writer's, which diesel cannot nest in.
        Backend::Sqlite => insert(conn),
        // In a savepoint: a concurrent first registration of the same address may insert it
        // first, and on PostgreSQL a failed statement would otherwise abort the transaction.
        Backend::Postgres | Backend::Mysql => conn.transaction(insert),
    };
    match inserted {
        Ok(_) | Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {}
        Err(err) => return Err(err),
    }
    find(conn, address)?.ok_or(Error::NotFound)
}

/// Adds `bytes` to the address's allocation if that stays within `cap`; one conditional
/// UPDATE, so concurrent requests (and replicas) cannot overshoot.
pub fn reserve(conn: &mut DbConnection, id: i64, bytes: i64, cap: i64) -> QueryResult<bool> {
    let updated = diesel::update(
        addresses::table
            .filter(addresses::id.eq(id))
            .filter(addresses::allocated_bytes.le(cap - bytes)),
    )
    .set(addresses::allocated_bytes.eq(addresses::allocated_bytes + bytes))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn release(conn: &mut DbConnection, id: i64, bytes: i64) -> QueryResult<()> {
    diesel::update(addresses::table.filter(addresses::id.eq(id)))
        .set(addresses::allocated_bytes.eq(addresses::allocated_bytes - bytes))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ImportReport {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub deleted: usize,
}

/// Makes the whitelist hold `entries`; addresses absent from them are deleted (with their
/// tokens and contracts, by cascade) unless `keep_missing`.
pub fn import(
    conn: &mut DbConnection,
    entries: &[(String, i64)],
    keep_missing: bool,
) -> QueryResult<ImportReport> {
    let existing: HashMap<String, (i64, i64)> = addresses::table
        .select((
            addresses::address,
            addresses::id,
            addresses::crowdsale_balance,
        ))
        .load::<(String, i64, i64)>(conn)?
        .into_iter()
        .map(|(address, id, balance)| (address, (id, balance)))
        .collect();
    let mut report = ImportReport::default();
    let mut seen = HashSet::new();
    for (address, balance) in entries {
        seen.insert(address.as_str());
        match existing.get(address) {
            Some((_, old)) if old == balance => report.unchanged += 1,
            Some((id, _)) => {
                diesel::update(addresses::table.find(*id))
                    .set(addresses::crowdsale_balance.eq(*balance))
                    .execute(conn)?;
                report.updated += 1;
            }
            None => {
                diesel::insert_into(addresses::table)
                    .values((
                        addresses::address.eq(address),
                        addresses::crowdsale_balance.eq(*balance),
                        addresses::allocated_bytes.eq(0),
                    ))
                    .execute(conn)?;
                report.added += 1;
            }
        }
    }
    if !keep_missing {
        let missing: Vec<i64> = existing
            .iter()
            .filter(|(address, _)| !seen.contains(address.as_str()))
            .map(|(_, (id, _))| *id)
            .collect();
        for ids in missing.chunks(BATCH) {
            report.deleted +=
                diesel::delete(addresses::table.filter(addresses::id.eq_any(ids))).execute(conn)?;
        }
    }
    Ok(report)
}
