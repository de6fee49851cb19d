//! Vouchers: adding one (which starts its redemption), listing them, showing one.

use crate::app::AppState;
use crate::db::vouchers;
use crate::domain::time;
use crate::domain::voucher::{After, Page, Voucher, VoucherState, VoucherStatus};
use crate::error::Error;
use crate::ops::{self, Queries as _};

/// Adds the voucher and starts redeeming it. Idempotent: a voucher already redeeming, redeemed
/// or double-spent is left alone; an unpaid or failed one is retried now.
pub async fn redeem(state: &AppState, voucher: Voucher) -> Result<(), Error> {
    let expected = state.default_token_count;
    let permit = state.redeemer.try_reserve();
    let starts_now = permit.is_some();
    let added = voucher.clone();
    let (status, new) = ops::write(&state.db, move |conn| {
        let (status, new) = match vouchers::get(conn, &added)? {
            Some(existing) => (existing, false),
            None => {
                vouchers::insert(conn, &added, expected, starts_now, time::now())?;
                let status = vouchers::get(conn, &added)?.ok_or(diesel::result::Error::NotFound)?;
                (status, true)
            }
        };
        if is_retried(&status.state) {
            vouchers::retry_now(conn, &added, time::now())?;
        }
        Ok((status, new))
    })
    .await?;
    match status.state {
        VoucherState::Unpaid { .. } | VoucherState::Error { .. } => state.redeemer.start(voucher),
        VoucherState::Pending { .. } | VoucherState::Redeeming { .. } => {
            state.redeemer.ensure_running(voucher, permit);
        }
        VoucherState::Redeemed { .. } | VoucherState::DoubleSpend { .. } => {}
    }
    if new {
        log::info!("voucher added");
    }
    Ok(())
}

/// A state a client's new request retries at once.
fn is_retried(state: &VoucherState) -> bool {
    matches!(
        state,
        VoucherState::Unpaid { .. } | VoucherState::Error { .. }
    )
}

/// Every voucher, oldest first.
pub async fn list(state: &AppState) -> Result<Vec<VoucherStatus>, Error> {
    state.db.query(vouchers::list).await
}

/// One page of the list, and where the next starts if there is one.
pub async fn page(
    state: &AppState,
    page: Page,
) -> Result<(Vec<VoucherStatus>, Option<After>), Error> {
    let Page { limit, after } = page;
    let (statuses, more) = state
        .db
        .query(move |conn| vouchers::page(conn, after.as_ref(), limit))
        .await?;
    let next = match statuses.last() {
        Some(last) if more => Some(After {
            created: last.created,
            number: last.voucher.as_str().to_owned(),
        }),
        _ => None,
    };
    Ok((statuses, next))
}

pub async fn show(state: &AppState, voucher: Voucher) -> Result<VoucherStatus, Error> {
    state
        .db
        .query(move |conn| vouchers::get(conn, &voucher))
        .await?
        .ok_or(Error::UnknownVoucher)
}
