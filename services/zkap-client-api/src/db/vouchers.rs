//! The `vouchers` table: one row per voucher holding its whole state machine.

use diesel::prelude::*;
use service_kit::db::DbConnection;

use super::is_unique_violation;
use super::schema::vouchers;
use crate::domain::time::Micros;
use crate::domain::voucher::{Voucher, VoucherState, VoucherStatus};
use crate::error::ApiError;

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
    fn into_status(self) -> Result<VoucherStatus, ApiError> {
        let counter = u32::try_from(self.counter).unwrap_or(0);
        let attempts = u32::try_from(self.attempts).unwrap_or(0);
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
                token_count: u64::try_from(self.token_count).unwrap_or(0),
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
            other => {
                return Err(ApiError::Internal(format!(
                    "voucher row with unknown state {other:?}"
                )));
            }
        };
        Ok(VoucherStatus {
            voucher: Voucher::from_trusted(self.number),
            expected_tokens: u64::try_from(self.expected_tokens).unwrap_or(0),
            created: self.created,
            state,
        })
    }
}

/// Adds a voucher at counter 0, `redeeming` if its redemption starts at once, otherwise
/// `pending`, unless it is already known. Returns the voucher's status and whether it was new.
pub fn add(
    conn: &mut DbConnection,
    voucher: &Voucher,
    expected_tokens: u64,
    starts_now: bool,
    now: Micros,
) -> Result<(VoucherStatus, bool), ApiError> {
    if let Some(existing) = get(conn, voucher)? {
        return Ok((existing, false));
    }
    let inserted = diesel::insert_into(vouchers::table)
        .values((
            vouchers::number.eq(voucher.as_str()),
            vouchers::expected_tokens.eq(i64::try_from(expected_tokens).unwrap_or(i64::MAX)),
            vouchers::created.eq(now),
            vouchers::state.eq(if starts_now { "redeeming" } else { "pending" }),
            vouchers::counter.eq(0),
            vouchers::started.eq(starts_now.then_some(now)),
            vouchers::token_count.eq(0),
            vouchers::sequestered_count.eq(0),
            vouchers::attempts.eq(0),
        ))
        .execute(conn);
    let new = match inserted {
        Ok(_) => true,
        Err(err) if is_unique_violation(&err) => false,
        Err(err) => return Err(err.into()),
    };
    let status = get(conn, voucher)?
        .ok_or_else(|| ApiError::Internal("voucher vanished after insert".into()))?;
    Ok((status, new))
}

pub fn get(conn: &mut DbConnection, voucher: &Voucher) -> Result<Option<VoucherStatus>, ApiError> {
    vouchers::table
        .find(voucher.as_str())
        .select(Row::as_select())
        .first(conn)
        .optional()?
        .map(Row::into_status)
        .transpose()
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<VoucherStatus>, ApiError> {
    vouchers::table
        .order((vouchers::created.asc(), vouchers::number.asc()))
        .select(Row::as_select())
        .load(conn)?
        .into_iter()
        .map(Row::into_status)
        .collect()
}

/// Where a page of `GET voucher` starts: after this (created, number) in list order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    pub created: Micros,
    pub number: String,
}

/// Up to `limit` vouchers in list order (oldest first, then by number) after `after`, and
/// whether more follow.
pub fn page(
    conn: &mut DbConnection,
    after: Option<&After>,
    limit: u32,
) -> Result<(Vec<VoucherStatus>, bool), ApiError> {
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
        .collect::<Result<_, _>>()?;
    Ok((statuses, more))
}

/// Vouchers with redemption work left: what start-up resumes.
pub fn unfinished(conn: &mut DbConnection) -> Result<Vec<Voucher>, ApiError> {
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
) -> Result<(), ApiError> {
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set((
        vouchers::state.eq("redeeming"),
        vouchers::started.eq(Some(now)),
        vouchers::counter.eq(i32::try_from(counter).unwrap_or(i32::MAX)),
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
    pub tokens: (i64, i64),
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
) -> Result<bool, ApiError> {
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
    let updated = diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::counter.eq(i32::try_from(counter).unwrap_or(i32::MAX)))
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set((
        vouchers::state.eq(state),
        vouchers::counter.eq(i32::try_from(next).unwrap_or(i32::MAX)),
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

/// Why a redemption attempt stopped short of `redeemed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setback {
    Unpaid,
    DoubleSpend,
    Error(String),
}

/// Records a failed attempt; unpaid and error get their next retry from `delay(attempts)`.
/// Returns the time of the next retry, if there is one.
pub fn record_setback(
    conn: &mut DbConnection,
    voucher: &Voucher,
    setback: &Setback,
    now: Micros,
    delay: impl Fn(u32) -> Micros,
) -> Result<Option<Micros>, ApiError> {
    let attempts: i32 = vouchers::table
        .find(voucher.as_str())
        .select(vouchers::attempts)
        .first(conn)?;
    let attempts = attempts.saturating_add(1);
    let (state, details, next_retry) = match setback {
        Setback::Unpaid => ("unpaid", None, Some(now)),
        Setback::DoubleSpend => ("double-spend", None, None),
        Setback::Error(details) => ("error", Some(details.clone()), Some(now)),
    };
    let next_retry = next_retry
        .map(|now| now.saturating_add(delay(u32::try_from(attempts).unwrap_or(u32::MAX))));
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.ne_all(FINAL_STATES)),
    )
    .set((
        vouchers::state.eq(state),
        vouchers::finished.eq(Some(now)),
        vouchers::details.eq(details),
        vouchers::attempts.eq(attempts),
        vouchers::next_retry.eq(next_retry),
    ))
    .execute(conn)?;
    Ok(next_retry)
}

/// A client asked again (PUT): retry an unpaid or failed voucher now.
pub fn retry_now(conn: &mut DbConnection, voucher: &Voucher, now: Micros) -> Result<(), ApiError> {
    diesel::update(
        vouchers::table
            .find(voucher.as_str())
            .filter(vouchers::state.eq_any(["unpaid", "error"])),
    )
    .set(vouchers::next_retry.eq(Some(now)))
    .execute(conn)?;
    Ok(())
}
