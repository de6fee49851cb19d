//! Contracts: one chunk a farmer holds, with its Merkle root and challenge schedule.

use diesel::prelude::*;
use service_kit::db::column::{self, Corrupt};
use service_kit::db::prepared::{Bind, PgBind, Statement};
use service_kit::db::{Backend, DbConnection};

use super::schema::contracts;
use crate::domain::{Contract, Schedule};

/// The columns of a contract its challenges and answers need.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contracts)]
struct ContractRow {
    id: i64,
    challenges: i32,
    issued: i32,
    chain_seed: Vec<u8>,
    root: Vec<u8>,
    tree_order: i32,
    interval_secs: i64,
    due_at: i64,
    answered: bool,
}

impl ContractRow {
    /// The contract as the operations use it; a stored value outside its domain is a corrupt
    /// row, reported as an error.
    fn into_contract(self) -> QueryResult<Contract> {
        let interval = self
            .interval_secs
            .checked_mul(1000)
            .ok_or_else(|| Corrupt {
                column: "contracts.interval_secs",
                value: self.interval_secs.to_string(),
                target: "milliseconds in an i64",
            })?;
        Ok(Contract {
            id: self.id,
            schedule: Schedule {
                issued: column::read("contracts.issued", self.issued)?,
                challenges: column::read("contracts.challenges", self.challenges)?,
                chain_seed: bytes32("contracts.chain_seed", &self.chain_seed)?,
                due: self.due_at,
                answered: self.answered,
                interval,
            },
            root: bytes32("contracts.root", &self.root)?,
            order: column::read("contracts.tree_order", self.tree_order)?,
        })
    }
}

fn bytes32(column: &'static str, stored: &[u8]) -> Result<[u8; 32], Corrupt> {
    <[u8; 32]>::try_from(stored).map_err(|_| Corrupt {
        column,
        value: format!("{} bytes", stored.len()),
        target: "[u8; 32]",
    })
}

#[derive(Debug, Insertable)]
#[diesel(table_name = contracts)]
pub struct NewContract {
    pub token_id: i64,
    pub seed: String,
    pub size: i64,
    pub chunksz: i64,
    pub challenges: i32,
    pub issued: i32,
    pub chain_seed: Vec<u8>,
    pub root: Vec<u8>,
    pub tree_order: i32,
    pub interval_secs: i64,
    pub start_at: i64,
    pub due_at: i64,
    pub expiration: i64,
    pub answered: bool,
    pub counted_online: bool,
}

/// Inserts and returns the new id (looked up by the unique seed: MySQL has no RETURNING).
pub fn insert(conn: &mut DbConnection, new: &NewContract) -> QueryResult<i64> {
    diesel::insert_into(contracts::table)
        .values(new)
        .execute(conn)?;
    contracts::table
        .filter(contracts::seed.eq(&new.seed))
        .select(contracts::id)
        .first(conn)
}

pub fn for_token(conn: &mut DbConnection, token_id: i64) -> QueryResult<Vec<Contract>> {
    contracts::table
        .filter(contracts::token_id.eq(token_id))
        .order(contracts::id)
        .select(ContractRow::as_select())
        .load(conn)?
        .into_iter()
        .map(ContractRow::into_contract)
        .collect()
}

pub fn of_token_by_ids(
    conn: &mut DbConnection,
    token_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<Contract>> {
    let mut found = Vec::with_capacity(ids.len());
    for batch in ids.chunks(super::BATCH) {
        let rows = contracts::table
            .filter(contracts::token_id.eq(token_id))
            .filter(contracts::id.eq_any(batch))
            .select(ContractRow::as_select())
            .load(conn)?;
        for row in rows {
            found.push(row.into_contract()?);
        }
    }
    Ok(found)
}

/// Saves the schedules of several contracts (each id once). On PostgreSQL one statement, the
/// rows travelling column by column as array parameters: an answer saves up to a hundred,
/// and a round trip each was most of its time there. SQLite (in process) and MySQL save them
/// one by one.
pub fn save_schedules(conn: &mut DbConnection, saved: &[(i64, &Schedule)]) -> QueryResult<()> {
    if saved.is_empty() {
        return Ok(());
    }
    if conn.backend() != Backend::Postgres {
        for (id, schedule) in saved {
            save_schedule(conn, *id, schedule)?;
        }
        return Ok(());
    }
    let ids: Vec<i64> = saved.iter().map(|(id, _)| *id).collect();
    let issued = saved
        .iter()
        .map(|(_, s)| {
            Ok(i64::from(column::write::<i32, _>(
                "contracts.issued",
                s.issued,
            )?))
        })
        .collect::<QueryResult<Vec<i64>>>()?;
    let seeds: Vec<&[u8]> = saved.iter().map(|(_, s)| &s.chain_seed[..]).collect();
    let due: Vec<i64> = saved.iter().map(|(_, s)| s.due).collect();
    let expirations: Vec<i64> = saved.iter().map(|(_, s)| s.expiration()).collect();
    let answered: Vec<bool> = saved.iter().map(|(_, s)| s.answered).collect();
    let binds = [
        PgBind::Ints(&ids),
        PgBind::Ints(&issued),
        PgBind::Blobs(&seeds),
        PgBind::Ints(&due),
        PgBind::Ints(&expirations),
        PgBind::Bools(&answered),
    ];
    Statement::<(), _>::new(
        "UPDATE contracts SET issued = x.issued, chain_seed = x.seed, due_at = x.due, \
         expiration = x.expiration, answered = x.answered \
         FROM unnest(?, ?, ?, ?, ?, ?) AS x(id, issued, seed, due, expiration, answered) \
         WHERE contracts.id = x.id",
        &binds,
    )
    .execute(conn.postgres()?)?;
    Ok(())
}

pub fn save_schedule(conn: &mut DbConnection, id: i64, schedule: &Schedule) -> QueryResult<()> {
    let issued: i32 = column::write("contracts.issued", schedule.issued)?;
    // Hand-written so it is prepared once per connection: an answer saves up to a hundred
    // schedules, and diesel's `UPDATE` is parsed (and on PostgreSQL planned) on every call.
    let binds = [
        Bind::Int(i64::from(issued)),
        Bind::Bytes(&schedule.chain_seed),
        Bind::Int(schedule.due),
        Bind::Int(schedule.expiration()),
        Bind::Bool(schedule.answered),
        Bind::Int(id),
    ];
    Statement::<()>::new(
        "UPDATE contracts SET issued = ?, chain_seed = ?, due_at = ?, expiration = ?, \
         answered = ? WHERE id = ?",
        &binds,
    )
    .execute(conn)?;
    Ok(())
}
