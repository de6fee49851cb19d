//! Random tokens (persisted before each issuer request), redemption groups, and the unblinded
//! tokens passes are made from.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use service_kit::db::DbConnection;
use service_kit::db::column::{read, write};

use super::schema::{random_token_groups as random, redemption_groups, unblinded_tokens};
use crate::domain::time::Micros;
use crate::domain::voucher::Voucher;

/// Rows per INSERT / ids per DELETE, well below every backend's bind-parameter limit.
const CHUNK: usize = 1000;

fn counter(counter: u32) -> QueryResult<i32> {
    Ok(write("counter", counter)?)
}

/// The stored random tokens of one group, if any.
pub fn random_tokens(
    conn: &mut DbConnection,
    voucher: &Voucher,
    group: u32,
) -> QueryResult<Option<String>> {
    random::table
        .find((voucher.as_str(), counter(group)?))
        .select(random::tokens)
        .first(conn)
        .optional()
}

#[derive(Insertable)]
#[diesel(table_name = random)]
struct NewRandom<'a> {
    voucher: &'a str,
    counter: i32,
    tokens: &'a str,
}

/// Stores a group's random tokens.
pub fn store_random_tokens(
    conn: &mut DbConnection,
    voucher: &Voucher,
    group: u32,
    tokens: &str,
) -> QueryResult<()> {
    let row = NewRandom {
        voucher: voucher.as_str(),
        counter: counter(group)?,
        tokens,
    };
    diesel::insert_into(random::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
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
#[diesel(table_name = redemption_groups)]
struct NewGroup<'a> {
    voucher: &'a str,
    counter: i32,
    public_key: &'a str,
    spendable: bool,
    token_count: i64,
    finished: Micros,
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
pub fn store_group(conn: &mut DbConnection, group: &RedeemedGroup<'_>) -> QueryResult<()> {
    let counter = counter(group.counter)?;
    let voucher = group.voucher.as_str();
    diesel::insert_into(redemption_groups::table)
        .values(&NewGroup {
            voucher,
            counter,
            public_key: group.public_key,
            spendable: group.spendable,
            token_count: write("redemption_groups.token_count", group.unblinded.len())?,
            finished: group.finished,
        })
        .execute(conn)?;
    for chunk in group.unblinded.chunks(CHUNK) {
        let rows: Vec<NewToken<'_>> = chunk
            .iter()
            .map(|token| NewToken {
                voucher,
                counter,
                token,
                spendable: group.spendable,
            })
            .collect();
        // Multi-row INSERT is not available through the MultiConnection: one arm per backend
        // (on SQLite diesel inserts row by row inside a savepoint of its own).
        let insert = diesel::insert_into(unblinded_tokens::table).values(&rows);
        match conn {
            DbConnection::Sqlite(c) => {
                insert.execute(c)?;
            }
            DbConnection::Postgresql(c) => {
                insert.execute(c)?;
            }
            DbConnection::Mysql(c) => {
                insert.execute(c)?;
            }
        }
    }
    diesel::delete(random::table.find((voucher, counter))).execute(conn)?;
    Ok(())
}

pub fn spendable_count(conn: &mut DbConnection) -> QueryResult<u64> {
    let count: i64 = unblinded_tokens::table
        .filter(unblinded_tokens::spendable.eq(true))
        .count()
        .get_result(conn)?;
    Ok(read("count(unblinded_tokens)", count)?)
}

#[derive(QueryableByName)]
struct TokenRow {
    #[diesel(sql_type = Text)]
    token: String,
}

/// Selects up to `$limit` spendable tokens `FOR UPDATE SKIP LOCKED` (rows another transaction
/// holds are skipped, not waited for and then shared) and deletes them. The query is the same
/// on PostgreSQL and MySQL, but locking clauses need the backend's own connection type.
macro_rules! take_skip_locked {
    ($c:expr, $limit:expr) => {{
        let rows: Vec<(i64, String)> = unblinded_tokens::table
            .filter(unblinded_tokens::spendable.eq(true))
            .order(unblinded_tokens::id)
            .limit($limit)
            .select((unblinded_tokens::id, unblinded_tokens::token))
            .for_update()
            .skip_locked()
            .load($c)?;
        for chunk in rows.chunks(CHUNK) {
            let ids: Vec<i64> = chunk.iter().map(|(id, _)| *id).collect();
            diesel::delete(unblinded_tokens::table.filter(unblinded_tokens::id.eq_any(ids)))
                .execute($c)?;
        }
        rows.into_iter().map(|(_, token)| token).collect()
    }};
}

/// Removes up to `count` spendable tokens and returns them. Concurrent callers never get the
/// same token. Run it inside a transaction, so that a shortfall can be rolled back.
pub fn take_spendable(conn: &mut DbConnection, count: u64) -> QueryResult<Vec<String>> {
    let limit: i64 = write("LIMIT", count)?;
    Ok(match conn {
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
        .collect(),
        DbConnection::Postgresql(c) => take_skip_locked!(c, limit),
        DbConnection::Mysql(c) => take_skip_locked!(c, limit),
    })
}
