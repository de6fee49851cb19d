//! One attempt at a voucher: its remaining groups, pipelined, until done or a setback.

use challenge_bypass_ristretto::voprf::BlindedToken;
use ledger_client::zkap::token_count_for_group;
use ledger_client::zkap::{RedeemFailure, RedeemOutcome, RedeemRequest};
use service_kit::db::column::write;

use super::{Inner, Setback, micros};
use crate::db::tokens::{self, RedeemedGroup};
use crate::db::vouchers::{self, SetbackRow};
use crate::domain::time::{self, Micros};
use crate::domain::tokens::{RandomTokens, encode_blinded};
use crate::domain::voucher::{Voucher, VoucherState};
use crate::error::Error;
use crate::ops::{self, Queries as _};

/// Longest `details` kept for an error state: issuer bodies can be large.
const MAX_DETAILS: usize = 500;

/// A group whose random tokens are persisted, blinded and encoded for the issuer.
struct Prepared {
    counter: u32,
    random: RandomTokens,
    blinded: Vec<BlindedToken>,
    encoded: Vec<String>,
}

/// The issuer's signatures for a group, still base64 and unchecked.
struct Answer {
    public_key: String,
    signatures: Vec<String>,
    proof: String,
}

struct Signed {
    group: Prepared,
    answer: Answer,
}

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

    /// A group ready to send: its random tokens are persisted.
    async fn prepare(
        &self,
        voucher: &Voucher,
        counter: u32,
        count: u64,
    ) -> Result<Prepared, Error> {
        let random = self.random_tokens(voucher, counter, count).await?;
        blocking(move || {
            let blinded = random.blind();
            let encoded = encode_blinded(&blinded);
            Prepared {
                counter,
                random,
                blinded,
                encoded,
            }
        })
        .await
    }

    /// Asks the issuer to sign one group; `Ok(Err(_))` is its verdict against it.
    async fn send(
        &self,
        voucher: &Voucher,
        group: &Prepared,
    ) -> Result<Result<Answer, Setback>, Error> {
        let request = RedeemRequest {
            voucher: voucher.as_str().to_owned(),
            counter: group.counter,
            tokens: group.encoded.clone(),
        };
        log::info!(
            "redeeming {voucher} group {} ({} tokens)",
            group.counter,
            group.random.len()
        );
        Ok(match self.issuer.redeem(&request).await {
            Ok(RedeemOutcome::Signed {
                public_key,
                signatures,
                proof,
            }) => Ok(Answer {
                public_key,
                signatures,
                proof,
            }),
            Ok(RedeemOutcome::Refused(RedeemFailure::Unpaid)) => Err(Setback::Unpaid),
            Ok(RedeemOutcome::Refused(RedeemFailure::DoubleSpend)) => Err(Setback::DoubleSpend),
            Ok(RedeemOutcome::Refused(failure)) => Err(error_setback(&refusal_details(
                &failure,
                group.counter,
                self.config.groups,
                group.random.len(),
            ))),
            Err(err) => Err(error_setback(&err.to_string())),
        })
    }

    /// Verifies and unblinds a signed group and stores it, advancing the counter; `continuing`
    /// says the next group is already at the issuer (the voucher then stays `redeeming`).
    /// `Ok(Some(_))` is the proof's verdict against the group.
    async fn finish(
        &self,
        voucher: &Voucher,
        signed: Signed,
        continuing: bool,
    ) -> Result<Option<Setback>, Error> {
        let Signed { group, answer } = signed;
        let counter = group.counter;
        let Answer {
            public_key,
            signatures,
            proof,
        } = answer;
        let checked = blocking({
            let public_key = public_key.clone();
            move || {
                group
                    .random
                    .verify_and_unblind(&group.blinded, &public_key, &signatures, &proof)
            }
        })
        .await?;
        let unblinded = match checked {
            Ok(unblinded) => unblinded,
            Err(err) => return Ok(Some(error_setback(&err.to_string()))),
        };
        let spendable = self.config.allowed_public_keys.contains(&public_key);
        if !spendable {
            log::warn!(
                "{voucher} group {counter} signed by {public_key}, which is not an allowed key: \
                 its tokens are sequestered"
            );
        }
        let tokens_in_group = unblinded.len() as u64;
        let groups = self.config.groups;
        let voucher_owned = voucher.clone();
        let stored = ops::write(&self.db, move |conn| {
            let n = tokens_in_group;
            let counts = if spendable { (n, 0) } else { (0, n) };
            let finished = time::now();
            if !vouchers::complete_group(
                conn,
                &voucher_owned,
                vouchers::Completed {
                    counter,
                    groups,
                    tokens: counts,
                    continuing,
                },
                finished,
            )? {
                return Ok(false);
            }
            tokens::store_group(
                conn,
                &RedeemedGroup {
                    voucher: &voucher_owned,
                    counter,
                    public_key: &public_key,
                    spendable,
                    unblinded: &unblinded,
                    finished,
                },
            )?;
            Ok(true)
        })
        .await?;
        if stored {
            self.metrics.groups_redeemed.inc();
            self.metrics.tokens_redeemed.add(tokens_in_group);
        } else {
            log::warn!("{voucher} group {counter} was recorded by another redemption");
        }
        Ok(None)
    }

    /// The group's persisted random tokens, generating and persisting them first if needed.
    async fn random_tokens(
        &self,
        voucher: &Voucher,
        counter: u32,
        count: u64,
    ) -> Result<RandomTokens, Error> {
        let stored = self
            .db
            .query({
                let voucher = voucher.clone();
                move |conn| tokens::random_tokens(conn, &voucher, counter)
            })
            .await?;
        if let Some(text) = stored {
            return decode_random(text).await;
        }
        let count =
            usize::try_from(count).map_err(|_| Error::Internal("token count too large".into()))?;
        let (fresh, text) = blocking(move || {
            let fresh = RandomTokens::generate(count);
            let text = fresh.encode();
            (fresh, text)
        })
        .await?;
        let (owner, generated) = (voucher.clone(), text.clone());
        let stored = ops::write(&self.db, move |conn| {
            if let Some(stored) = tokens::random_tokens(conn, &owner, counter)? {
                return Ok(stored);
            }
            tokens::store_random_tokens(conn, &owner, counter, &generated)?;
            Ok(generated.clone())
        })
        .await?;
        // Another redemption of the same voucher may have stored its tokens first.
        if stored == text {
            Ok(fresh)
        } else {
            decode_random(stored).await
        }
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

async fn decode_random(text: String) -> Result<RandomTokens, Error> {
    blocking(move || RandomTokens::decode(&text))
        .await?
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The `details` of an issuer's refusal: its reason, plus what the likely fix is where the
/// reason points at a configuration mismatch.
fn refusal_details(failure: &RedeemFailure, counter: u32, groups: u32, tokens: usize) -> String {
    let hint = match failure {
        RedeemFailure::WrongNumberOfTokens => format!(
            " (sent {tokens} tokens for group {counter} of {groups}: default-token-count and \
             num-redemption-groups must equal the issuer's tokens-per-voucher and \
             num-redemption-groups)"
        ),
        RedeemFailure::CounterOutOfBounds { .. } => {
            format!(" (num-redemption-groups is {groups}: it must equal the issuer's)")
        }
        _ => String::new(),
    };
    format!("issuer refused: {failure}{hint}")
}

fn error_setback(details: &str) -> Setback {
    let details = match details.char_indices().nth(MAX_DETAILS) {
        Some((end, _)) => format!("{}…", details.get(..end).unwrap_or_default()),
        None => details.to_owned(),
    };
    Setback::Error(details)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Error> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("cryptography task failed: {e}")))
}
