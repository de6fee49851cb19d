//! Random tokens (persisted before each issuer request), redemption groups, and the unblinded
//! tokens passes are made from.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use service_kit::db::DbConnection;

use super::is_unique_violation;
use super::schema::{random_token_groups as random, redemption_groups, unblinded_tokens};
use crate::domain::time::Micros;
use crate::domain::voucher::Voucher;
use crate::error::ApiError;

/// Rows per INSERT / ids per DELETE, well below every backend's bind-parameter limit.
const CHUNK: usize = 1000;

fn counter_i32(counter: u32) -> i32 {
    i32::try_from(counter).unwrap_or(i32::MAX)
}

/// The stored random tokens of one group, if any.
pub fn random_tokens(
    conn: &mut DbConnection,
    voucher: &Voucher,
    counter: u32,
) -> Result<Option<String>, ApiError> {
    Ok(random::table
        .find((voucher.as_str(), counter_i32(counter)))
        .select(random::tokens)
        .first(conn)
        .optional()?)
}

/// Stores a group's random tokens unless some are stored already; returns what is stored.
pub fn store_random_tokens(
    conn: &mut DbConnection,
    voucher: &Voucher,
    counter: u32,
    tokens: &str,
) -> Result<String, ApiError> {
    let inserted = diesel::insert_into(random::table)
        .values((
            random::voucher.eq(voucher.as_str()),
            random::counter.eq(counter_i32(counter)),
            random::tokens.eq(tokens),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(tokens.to_owned()),
        Err(err) if is_unique_violation(&err) => random_tokens(conn, voucher, counter)?
            .ok_or_else(|| ApiError::Internal("random tokens vanished".into())),
        Err(err) => Err(err.into()),
    }
}

/// What one redeemed group adds.
pub struct RedeemedGroup<'a> {
    pub voucher: &'a Voucher,
    pub counter: u32,
    pub public_key: &'a str,
    pub spendable: bool,
    pub unblinded: &'a [String],
    pub finished: Micros,
}

#[derive(Insertable)]
#[diesel(table_name = unblinded_tokens)]
struct NewToken<'a> {
    voucher: &'a str,
    counter: i32,
    token: &'a str,
    spendable: bool,
}

/// Adds a redeemed group's tokens and forgets its random tokens. Part of the transaction that
/// advances the voucher (see `vouchers::complete_group`).
pub fn store_group(conn: &mut DbConnection, group: &RedeemedGroup<'_>) -> Result<(), ApiError> {
    let counter = counter_i32(group.counter);
    diesel::insert_into(redemption_groups::table)
        .values((
            redemption_groups::voucher.eq(group.voucher.as_str()),
            redemption_groups::counter.eq(counter),
            redemption_groups::public_key.eq(group.public_key),
            redemption_groups::spendable.eq(group.spendable),
            redemption_groups::token_count
                .eq(i64::try_from(group.unblinded.len()).unwrap_or(i64::MAX)),
            redemption_groups::finished.eq(group.finished),
        ))
        .execute(conn)?;
    for chunk in group.unblinded.chunks(CHUNK) {
        let rows: Vec<NewToken<'_>> = chunk
            .iter()
            .map(|token| NewToken {
                voucher: group.voucher.as_str(),
                counter,
                token,
                spendable: group.spendable,
            })
            .collect();
        // Multi-row INSERT is not available through the MultiConnection: one arm per backend.
        let insert = diesel::insert_into(unblinded_tokens::table).values(&rows);
        match conn {
            DbConnection::Sqlite(c) => insert.execute(c)?,
            DbConnection::Postgresql(c) => insert.execute(c)?,
            DbConnection::Mysql(c) => insert.execute(c)?,
        };
    }
    diesel::delete(random::table.find((group.voucher.as_str(), counter))).execute(conn)?;
    Ok(())
}

pub fn spendable_count(conn: &mut DbConnection) -> Result<u64, ApiError> {
    let count: i64 = unblinded_tokens::table
        .filter(unblinded_tokens::spendable.eq(true))
        .count()
        .get_result(conn)?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[derive(QueryableByName)]
struct TokenRow {
    #[diesel(sql_type = Text)]
    token: String,
}

/// Removes `count` spendable tokens and returns them. Concurrent callers never get the same
/// token. Must run inside a transaction: a shortfall is an error, so nothing is removed.
pub fn take_spendable(conn: &mut DbConnection, count: u64) -> Result<Vec<String>, ApiError> {
    let limit = i64::try_from(count).unwrap_or(i64::MAX);
    let short = |found: usize| ApiError::NotEnoughTokens {
        requested: count,
        spendable: u64::try_from(found).unwrap_or(0),
    };
    let tokens = match conn {
        // One statement under SQLite's single writer lock.
        DbConnection::Sqlite(c) => diesel::sql_query(
            "DELETE FROM unblinded_tokens WHERE id IN \
             (SELECT id FROM unblinded_tokens WHERE spendable = 1 ORDER BY id LIMIT ?) \
             RETURNING token",
        )
        .bind::<BigInt, _>(limit)
        .load::<TokenRow>(c)?
        .into_iter()
        .map(|row| row.token)
        .collect::<Vec<_>>(),
        // Rows another transaction holds are skipped, not waited for and then shared.
        DbConnection::Postgresql(c) => {
            let rows: Vec<(i64, String)> = unblinded_tokens::table
                .filter(unblinded_tokens::spendable.eq(true))
                .order(unblinded_tokens::id)
                .limit(limit)
                .select((unblinded_tokens::id, unblinded_tokens::token))
                .for_update()
                .skip_locked()
                .load(c)?;
            for chunk in rows.chunks(CHUNK) {
                let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
                diesel::delete(unblinded_tokens::table.filter(unblinded_tokens::id.eq_any(ids)))
                    .execute(c)?;
            }
            rows.into_iter().map(|(_, token)| token).collect()
        }
        DbConnection::Mysql(c) => {
            let rows: Vec<(i64, String)> = unblinded_tokens::table
                .filter(unblinded_tokens::spendable.eq(true))
                .order(unblinded_tokens::id)
                .limit(limit)
                .select((unblinded_tokens::id, unblinded_tokens::token))
                .for_update()
                .skip_locked()
                .load(c)?;
            for chunk in rows.chunks(CHUNK) {
                let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
                diesel::delete(unblinded_tokens::table.filter(unblinded_tokens::id.eq_any(ids)))
                    .execute(c)?;
            }
            rows.into_iter().map(|(_, token)| token).collect()
        }
    };
    if tokens.len() as u64 == count {
        Ok(tokens)
    } else {
        Err(short(tokens.len()))
    }
}
