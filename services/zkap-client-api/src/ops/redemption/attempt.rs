//! One attempt at a voucher: its remaining groups, pipelined, until done or a setback.

use ledger_client::zkap::token_count_for_group;
use service_kit::db::column::write;

use super::group::Signed;
use super::{Inner, Setback, micros};
use crate::db::vouchers::{self, SetbackRow};
use crate::domain::time::{self, Micros};
use crate::domain::voucher::{Voucher, VoucherState};
use crate::error::Error;
use crate::ops::{self, Queries as _};

/// What a finished attempt leaves to do.
pub(super) enum Next {
    Done,
    RetryAt(Micros),
}

impl Inner {
    /// Redeems the remaining groups, stopping at the first setback. Pipelined: while group n is
    /// at the issuer, group n+1's random tokens are generated (or loaded), persisted and
    /// blinded, and group n-1's answer is verified, unblinded and stored. Only one request per
    /// voucher is ever in flight, each is sent only after its random tokens are persisted, and
    /// groups are stored in counter order, each in its counter-guarded transaction.
    pub(super) async fn attempt(&self, voucher: &Voucher) -> Result<Next, Error> {
        let Some(status) = self
            .db
            .query({
                let voucher = voucher.clone();
                move |conn| vouchers::get(conn, &voucher)
            })
            .await?
        else {
            return Ok(Next::Done);
        };
        let now = time::now();
        let mut counter = match status.state {
            VoucherState::Redeemed { .. } | VoucherState::DoubleSpend { .. } => {
                return Ok(Next::Done);
            }
            VoucherState::Unpaid {
                next_retry,
                counter,
                ..
            }
            | VoucherState::Error {
                next_retry,
                counter,
                ..
            } => {
                if next_retry > now {
                    return Ok(Next::RetryAt(next_retry));
                }
                counter
            }
            VoucherState::Pending { counter } | VoucherState::Redeeming { counter, .. } => counter,
        };
        let groups = self.config.groups;
        if counter >= groups {
            return Ok(Next::Done);
        }
        let count = |counter| token_count_for_group(groups, status.expected_tokens, counter);
        let marked = voucher.clone();
        ops::write(&self.db, move |conn| {
            Ok(vouchers::mark_redeeming(
                conn,
                &marked,
                counter,
                time::now(),
            )?)
        })
        .await?;
        let mut prepared = self.prepare(voucher, counter, count(counter)).await?;
        // The previous group's answer, signed but not yet verified and stored.
        let mut signed: Option<Signed> = None;
        loop {
            let has_next = counter + 1 < groups;
            let previous = signed.take();
            let (answer, next, finished) = tokio::join!(
                self.send(voucher, &prepared),
                async {
                    if has_next {
                        Some(self.prepare(voucher, counter + 1, count(counter + 1)).await)
                    } else {
                        None
                    }
                },
                async move {
                    match previous {
                        Some(previous) => self.finish(voucher, previous, true).await,
                        None => Ok(None),
                    }
                },
            );
            // In counter order: the previous group's verdict first.
            if let Some(setback) = finished? {
                return self.record(voucher, setback).await;
            }
            match answer? {
                Ok(answer) => {
                    signed = Some(Signed {
                        group: prepared,
                        answer,
                    });
                }
                Err(setback) => return self.record(voucher, setback).await,
            }
            match next {
                Some(next) => {
                    prepared = next?;
                    counter += 1;
                }
                None => break,
            }
        }
        if let Some(last) = signed
            && let Some(setback) = self.finish(voucher, last, false).await?
        {
            return self.record(voucher, setback).await;
        }
        Ok(Next::Done)
    }

    /// Records a failed attempt; unpaid and error get their next retry after a backoff that
    /// grows with the attempts.
    async fn record(&self, voucher: &Voucher, setback: Setback) -> Result<Next, Error> {
        self.metrics.setbacks.inc();
        log::info!("redemption of {voucher} stopped: {setback:?}");
        let config = self.config.clone();
        let voucher = voucher.clone();
        let next = ops::write(&self.db, move |conn| {
            let now = time::now();
            let attempts = vouchers::attempts(conn, &voucher)?.saturating_add(1);
            let delay = || now.saturating_add(micros(config.retry_delay(attempts)));
            let (state, details, next_retry) = match &setback {
                Setback::Unpaid => ("unpaid", None, Some(delay())),
                Setback::DoubleSpend => ("double-spend", None, None),
                Setback::Error(details) => ("error", Some(details.as_str()), Some(delay())),
            };
            let row = SetbackRow {
                state,
                finished: Some(now),
                details,
                attempts: write("vouchers.attempts", attempts)
                    .map_err(diesel::result::Error::from)?,
                next_retry,
            };
            vouchers::record_setback(conn, &voucher, &row)?;
            Ok(next_retry)
        })
        .await?;
        Ok(next.map_or(Next::Done, Next::RetryAt))
    }
}
