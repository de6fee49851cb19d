//! Contracts: one chunk a farmer holds, with its Merkle root and challenge schedule.

use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::schema::contracts;
use crate::domain::Schedule;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contracts)]
pub struct ContractRow {
    pub id: i64,
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

impl ContractRow {
    pub fn schedule(&self) -> Schedule {
        Schedule {
            issued: u32::try_from(self.issued).unwrap_or(0),
            challenges: u32::try_from(self.challenges).unwrap_or(0),
            chain_seed: <[u8; 32]>::try_from(self.chain_seed.as_slice()).unwrap_or_default(),
            due: self.due_at,
            answered: self.answered,
            interval: self.interval_secs.saturating_mul(1000),
        }
    }

    pub fn root(&self) -> [u8; 32] {
        <[u8; 32]>::try_from(self.root.as_slice()).unwrap_or_default()
    }

    pub fn order(&self) -> u32 {
        u32::try_from(self.tree_order).unwrap_or(u32::MAX)
    }
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

pub fn for_token(conn: &mut DbConnection, token_id: i64) -> QueryResult<Vec<ContractRow>> {
    contracts::table
        .filter(contracts::token_id.eq(token_id))
        .order(contracts::id)
        .select(ContractRow::as_select())
        .load(conn)
}

pub fn of_token_by_ids(
    conn: &mut DbConnection,
    token_id: i64,
    ids: &[i64],
) -> QueryResult<Vec<ContractRow>> {
    let mut rows = Vec::with_capacity(ids.len());
    for batch in ids.chunks(super::BATCH) {
        rows.extend(
            contracts::table
                .filter(contracts::token_id.eq(token_id))
                .filter(contracts::id.eq_any(batch))
                .select(ContractRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Writes back the schedule of a contract.
pub fn save_schedule(conn: &mut DbConnection, id: i64, schedule: &Schedule) -> QueryResult<()> {
    diesel::update(contracts::table.find(id))
        .set((
            contracts::issued.eq(i32::try_from(schedule.issued).unwrap_or(i32::MAX)),
            contracts::chain_seed.eq(schedule.chain_seed.to_vec()),
            contracts::due_at.eq(schedule.due),
            contracts::expiration.eq(schedule.expiration()),
            contracts::answered.eq(schedule.answered),
        ))
        .execute(conn)?;
    Ok(())
}
