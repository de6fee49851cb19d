//! The `vouchers` table: one row per voucher holding its whole state machine.

use diesel::prelude::*;
use service_kit::db::DbConnection;
use service_kit::db::column::{read, write};

use super::corrupt;
use super::schema::vouchers;
use crate::domain::time::Micros;
use crate::domain::voucher::{After, Voucher, VoucherState, VoucherStatus};

/// Database names of the states that need no more work.
const FINAL_STATES: [&str; 2] = ["redeemed", "double-spend"];

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = vouchers)]
struct Row {
    number: String,
    expected_tokens: i64,
    created: i64,
    state: String,
    counter: i32,
    started: Option<i64>,
    finished: Option<i64>,
    token_count: i64,
    details: Option<String>,
    attempts: i32,
    next_retry: Option<i64>,
}

impl Row {
    fn into_status(self) -> QueryResult<VoucherStatus> {
        let counter = read("vouchers.counter", self.counter)?;
        let attempts = read("vouchers.attempts", self.attempts)?;
        let finished = self.finished.unwrap_or(self.created);
        let next_retry = self.next_retry.unwrap_or(finished);
        let state = match self.state.as_str() {
            "pending" => VoucherState::Pending { counter },
            "redeeming" => VoucherState::Redeeming {
                started: self.started.unwrap_or(self.created),
                counter,
            },
            "redeemed" => VoucherState::Redeemed {
                finished,
                token_count: read("vouchers.token_count", self.token_count)?,
            },
            "double-spend" => VoucherState::DoubleSpend { finished },
            "unpaid" => VoucherState::Unpaid {
                finished,
                counter,
                attempts,
                next_retry,
            },
            "error" => VoucherState::Error {
                finished,
                counter,
                details: self.details.unwrap_or_default(),
                attempts,
                next_retry,
            },
            other => return Err(corrupt(format!("voucher row with unknown state {other:?}"))),
        };
        Ok(VoucherStatus {
            voucher: Voucher::from_trusted(self.number),
            expected_tokens: read("vouchers.expected_tokens", self.expected_tokens)?,
            created: self.created,
            state,
        })
    }
}

/// A voucher's first row: counter 0, nothing redeemed yet.
#[derive(Debug, Insertable)]
#[diesel(table_name = vouchers)]
struct NewRow<'a> {
    number: &'a str,
    expected_tokens: i64,
    created: Micros,
    state: &'a str,
    counter: i32,
    started: Option<Micros>,
    token_count: i64,
    sequestered_count: i64,
    attempts: i32,
}

/// Adds a voucher at counter 0, `redeeming` if its redemption starts at once, otherwise
/// `pending`.
pub fn insert(
    conn: &mut DbConnection,
    voucher: &Voucher,
    expected_tokens: u64,
    starts_now: bool,
    now: Micros,
) -> QueryResult<()> {
    let row = NewRow {
        number: voucher.as_str(),
        expected_tokens: write("vouchers.expected_tokens", expected_tokens)?,
        created: now,
        state: if starts_now { "redeeming" } else { "pending" },
        counter: 0,
        started: starts_now.then_some(now),
        token_count: 0,
        sequestered_count: 0,
        attempts: 0,
    };
    diesel::insert_into(vouchers::table)
        .values(&row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConnection, voucher: &Voucher) -> QueryResult<Option<VoucherStatus>> {
    vouchers::table
        .find(voucher.as_str())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_status)
        .transpose()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<VoucherStatus>> {
    vouchers::table
        .order((vouchers::created.asc(), vouchers::number.asc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_status)
        .collect()
}

/// Up to `limit` vouchers in list order (oldest first, then by number) after `after`, and
/// whether more follow.
pub fn page(
    conn: &mut DbConnection,
    after: Option<&After>,
    limit: u32,
) -> QueryResult<(Vec<VoucherStatus>, bool)> {
    let mut query = vouchers::table
        .order((vouchers::created.asc(), vouchers::number.asc()))
        .select(Row::as_select())
        .limit(i64::from(limit) + 1)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(
            vouchers::created.gt(after.created).or(vouchers::created
                .eq(after.created)
                .and(vouchers::number.gt(after.number.clone()))),
        );
    }
    let mut rows = query.load(conn)?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let statuses = rows
        .into_iter()
        .map(Row::into_status)
        .collect::<QueryResult<_>>()?;
    Ok((statuses, more))
}

/// Vouchers with redemption work left: what start-up resumes.
pub fn unfinished(conn: &mut DbConnection) -> QueryResult<Vec<Voucher>> {
    Ok(vouchers::table
        .filter(vouchers::state.ne_all(FINAL_STATES))
        .order(vouchers::created.asc())
        .select(vouchers::number)
        .load::<String>(conn)?
        .into_iter()
        .map(Voucher::from_trusted)
        .collect())
}

/// Group `counter` is about to be sent.
pub fn mark_redeeming(
    conn: &mut DbConnection,
    voucher: &Voucher,
    counter: u32,
    now: Micros,
) -> QueryResult<()> {
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set((
        vouchers::state.eq("redeeming"),
        vouchers::started.eq(Some(now)),
        vouchers::counter.eq(write::<i32, _>("vouchers.counter", counter)?),
    ))
    .execute(conn)?;
    Ok(())
}

/// A redeemed group about to be stored.
#[derive(Debug, Clone, Copy)]
pub struct Completed {
    pub counter: u32,
    pub groups: u32,
    /// (spendable, sequestered)
    pub tokens: (u64, u64),
    /// The next group is already at the issuer: stay `redeeming` (started now) rather than
    /// `pending`.
    pub continuing: bool,
}

/// Group `counter` is done: advance to the next group (or to `redeemed` after the last),
/// counting its tokens. Returns false, changing nothing, if another redemption already
/// recorded this group.
pub fn complete_group(
    conn: &mut DbConnection,
    voucher: &Voucher,
    group: Completed,
    now: Micros,
) -> QueryResult<bool> {
    let Completed {
        counter,
        groups,
        tokens: (spendable, sequestered),
        continuing,
    } = group;
    let next = counter.saturating_add(1);
    let state = if next >= groups {
        "redeemed"
    } else if continuing {
        "redeeming"
    } else {
        "pending"
    };
    let spendable: i64 = write("vouchers.token_count", spendable)?;
    let sequestered: i64 = write("vouchers.sequestered_count", sequestered)?;
    let updated = diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::counter.eq(write::<i32, _>("vouchers.counter", counter)?))
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set((
        vouchers::state.eq(state),
        vouchers::counter.eq(write::<i32, _>("vouchers.counter", next)?),
        vouchers::finished.eq(Some(now)),
        vouchers::started.eq(if continuing { Some(now) } else { None }),
        vouchers::token_count.eq(vouchers::token_count + spendable),
        vouchers::sequestered_count.eq(vouchers::sequestered_count + sequestered),
        vouchers::details.eq(None::<String>),
        vouchers::attempts.eq(0),
        vouchers::next_retry.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// The failed attempts recorded for a voucher so far.
pub fn attempts(conn: &mut DbConnection, voucher: &Voucher) -> QueryResult<u32> {
    let attempts: i32 = vouchers::table
        .find(voucher.as_str())
        .select(vouchers::attempts)
        .first(conn)?;
    Ok(read("vouchers.attempts", attempts)?)
}

/// A failed attempt as stored.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = vouchers, treat_none_as_null = true)]
pub struct SetbackRow<'a> {
    pub state: &'a str,
    pub finished: Option<Micros>,
    pub details: Option<&'a str>,
    pub attempts: i32,
    pub next_retry: Option<Micros>,
}

/// Records a failed attempt unless the voucher reached a final state meanwhile.
pub fn record_setback(
    conn: &mut DbConnection,
    voucher: &Voucher,
    row: &SetbackRow<'_>,
) -> QueryResult<()> {
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set(row)
    .execute(conn)?;
    Ok(())
}

/// A client asked again (PUT): retry an unpaid or failed voucher now.
pub fn retry_now(conn: &mut DbConnection, voucher: &Voucher, now: Micros) -> QueryResult<()> {
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.eq_any(["unpaid", "error"])),
    )
    .set(vouchers::next_retry.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}
