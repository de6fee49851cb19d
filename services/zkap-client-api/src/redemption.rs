//! Background redemption: one task per voucher walks its groups in order, persisting the random
//! tokens of a group before asking the issuer, so a retry after a crash sends the same blinded
//! tokens and cannot double-spend. Unpaid and failed vouchers are retried with exponential
//! backoff and jitter (error-state vouchers included, unlike the original); unfinished vouchers
//! are resumed at start-up from their next group. Cryptography runs on the blocking pool.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use challenge_bypass_ristretto::voprf::BlindedToken;
use ledger_client::zkap::token_count_for_group;
use ledger_client::zkap::{RedeemFailure, RedeemOutcome, RedeemRequest, ZkapIssuer};
use rand::Rng;
use service_kit::db::Database;
use service_kit::metrics::Counter;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use crate::db::tokens::{self, RedeemedGroup};
use crate::db::vouchers::{self, Setback};
use crate::domain::time::{self, Micros};
use crate::domain::tokens::{RandomTokens, encode_blinded};
use crate::domain::voucher::{Voucher, VoucherState};
use crate::error::ApiError;

/// Longest `details` kept for an error state: issuer bodies can be large.
const MAX_DETAILS: usize = 500;

#[derive(Debug, Clone)]
pub struct RedemptionConfig {
    pub groups: u32,
    pub allowed_public_keys: HashSet<String>,
    pub retry_initial: Duration,
    pub retry_max: Duration,
    pub max_concurrent: usize,
}

impl RedemptionConfig {
    /// Exponential backoff with "equal jitter": half the delay fixed, half random.
    fn retry_delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self
            .retry_initial
            .saturating_mul(1u32 << doublings)
            .min(self.retry_max);
        let half = delay / 2;
        half + half.mul_f64(rand::thread_rng().r#gen::<f64>())
    }
}

/// Counters for `/metrics`.
#[derive(Debug, Clone, Default)]
pub struct RedemptionMetrics {
    pub groups_redeemed: Counter,
    pub tokens_redeemed: Counter,
    pub setbacks: Counter,
}

/// Starts, wakes and stops the redemption tasks. Cheap to clone.
#[derive(Clone)]
pub struct Redeemer {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    issuer: ZkapIssuer,
    config: RedemptionConfig,
    metrics: RedemptionMetrics,
    /// Tasks run on the runtime that built the service, not on a request worker's.
    runtime: tokio::runtime::Handle,
    /// Caps the vouchers in redemption at once; a voucher waiting here reads `pending`.
    permits: Arc<Semaphore>,
    active: Mutex<HashMap<Voucher, Active>>,
}

struct Active {
    wake: Arc<Notify>,
    task: AbortHandle,
}

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
enum Next {
    Done,
    RetryAt(Micros),
}

impl Redeemer {
    pub fn new(
        db: Database,
        issuer: ZkapIssuer,
        config: RedemptionConfig,
        metrics: RedemptionMetrics,
        runtime: tokio::runtime::Handle,
    ) -> Self {
        let permits = Arc::new(Semaphore::new(config.max_concurrent.max(1)));
        Self {
            inner: Arc::new(Inner {
                db,
                issuer,
                config,
                metrics,
                runtime,
                permits,
                active: Mutex::default(),
            }),
        }
    }

    /// Redeems `voucher` in the background, or wakes its task if it is waiting to retry.
    pub fn start(&self, voucher: Voucher) {
        self.spawn(voucher, true, None);
    }

    /// Redeems `voucher` in the background unless a task already does; `permit` (from
    /// [`Redeemer::try_reserve`]) lets it start at once.
    pub fn ensure_running(&self, voucher: Voucher, permit: Option<OwnedSemaphorePermit>) {
        self.spawn(voucher, false, permit);
    }

    /// A redemption slot, if one is free now: a new voucher then reads `redeeming` rather
    /// than `pending` from the start.
    pub fn try_reserve(&self) -> Option<OwnedSemaphorePermit> {
        self.inner.permits.clone().try_acquire_owned().ok()
    }

    fn spawn(&self, voucher: Voucher, wake_existing: bool, permit: Option<OwnedSemaphorePermit>) {
        let mut active = self.inner.lock_active();
        if let Some(existing) = active.get(&voucher) {
            if wake_existing {
                existing.wake.notify_one();
            }
            return;
        }
        let wake = Arc::new(Notify::new());
        let inner = self.inner.clone();
        let task = self.inner.runtime.spawn({
            let voucher = voucher.clone();
            let wake = wake.clone();
            async move { inner.drive(voucher, wake, permit).await }
        });
        active.insert(
            voucher,
            Active {
                wake,
                task: task.abort_handle(),
            },
        );
    }

    /// Starts every voucher with work left; returns how many.
    pub async fn resume_all(&self) -> Result<usize, ApiError> {
        let unfinished = self.inner.db.run(vouchers::unfinished).await?;
        let count = unfinished.len();
        for voucher in unfinished {
            self.ensure_running(voucher, None);
        }
        Ok(count)
    }

    /// Whether a task for `voucher` is running or waiting to retry.
    pub fn is_active(&self, voucher: &Voucher) -> bool {
        self.inner.lock_active().contains_key(voucher)
    }

    /// Abandons every task where it stands, as a crash would; the database keeps what each
    /// finished, and the next start resumes from there.
    pub fn stop(&self) {
        for (_, active) in self.inner.lock_active().drain() {
            active.task.abort();
        }
    }
}

impl Inner {
    fn lock_active(&self) -> MutexGuard<'_, HashMap<Voucher, Active>> {
        self.active.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn drive(
        self: Arc<Self>,
        voucher: Voucher,
        wake: Arc<Notify>,
        mut reserved: Option<OwnedSemaphorePermit>,
    ) {
        let mut db_failures = 0u32;
        loop {
            let permit = match reserved.take() {
                Some(permit) => permit,
                None => match self.permits.clone().acquire_owned().await {
                    Ok(permit) => permit,
                    Err(_) => break,
                },
            };
            let next = self.attempt(&voucher).await;
            drop(permit);
            let retry_at = match next {
                Ok(Next::Done) => break,
                Ok(Next::RetryAt(at)) => {
                    db_failures = 0;
                    at
                }
                Err(err) => {
                    db_failures = db_failures.saturating_add(1);
                    let delay = self.config.retry_delay(db_failures);
                    log::error!(
                        "redemption of {voucher} failed locally ({}); retrying in {delay:?}",
                        service_kit::error::cause_chain(&err)
                    );
                    time::now().saturating_add(micros(delay))
                }
            };
            let wait = Duration::from_micros(
                u64::try_from(retry_at.saturating_sub(time::now())).unwrap_or(0),
            );
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = wake.notified() => {}
            }
        }
        self.lock_active().remove(&voucher);
    }

    /// Redeems the remaining groups, stopping at the first setback. Pipelined: while group n is
    /// at the issuer, group n+1's random tokens are generated (or loaded), persisted and
    /// blinded, and group n-1's answer is verified, unblinded and stored. Only one request per
    /// voucher is ever in flight, each is sent only after its random tokens are persisted, and
    /// groups are stored in counter order, each in its counter-guarded transaction.
    async fn attempt(&self, voucher: &Voucher) -> Result<Next, ApiError> {
        let Some(status) = self
            .db
            .run({
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
        self.db
            .run({
                let voucher = voucher.clone();
                move |conn| vouchers::mark_redeeming(conn, &voucher, counter, time::now())
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
    ) -> Result<Prepared, ApiError> {
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
    ) -> Result<Result<Answer, Setback>, ApiError> {
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
    ) -> Result<Option<Setback>, ApiError> {
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
        let stored = self
            .db
            .transaction(move |conn| {
                let n = i64::try_from(unblinded.len()).unwrap_or(i64::MAX);
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
                Ok::<_, ApiError>(true)
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
    ) -> Result<RandomTokens, ApiError> {
        let stored = self
            .db
            .run({
                let voucher = voucher.clone();
                move |conn| tokens::random_tokens(conn, &voucher, counter)
            })
            .await?;
        if let Some(text) = stored {
            return decode_random(text).await;
        }
        let count = usize::try_from(count)
            .map_err(|_| ApiError::Internal("token count too large".into()))?;
        let (fresh, text) = blocking(move || {
            let fresh = RandomTokens::generate(count);
            let text = fresh.encode();
            (fresh, text)
        })
        .await?;
        let stored = self
            .db
            .run({
                let voucher = voucher.clone();
                let text = text.clone();
                move |conn| tokens::store_random_tokens(conn, &voucher, counter, &text)
            })
            .await?;
        // Another redemption of the same voucher may have stored its tokens first.
        if stored == text {
            Ok(fresh)
        } else {
            decode_random(stored).await
        }
    }

    async fn record(&self, voucher: &Voucher, setback: Setback) -> Result<Next, ApiError> {
        self.metrics.setbacks.inc();
        log::info!("redemption of {voucher} stopped: {setback:?}");
        let config = self.config.clone();
        let next = self
            .db
            .run({
                let voucher = voucher.clone();
                move |conn| {
                    vouchers::record_setback(conn, &voucher, &setback, time::now(), |attempts| {
                        micros(config.retry_delay(attempts))
                    })
                }
            })
            .await?;
        Ok(next.map_or(Next::Done, Next::RetryAt))
    }
}

async fn decode_random(text: String) -> Result<RandomTokens, ApiError> {
    blocking(move || RandomTokens::decode(&text))
        .await?
        .map_err(|e| ApiError::Internal(e.to_string()))
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

fn micros(duration: Duration) -> Micros {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::Internal(format!("cryptography task failed: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let config = RedemptionConfig {
            groups: 16,
            allowed_public_keys: HashSet::new(),
            retry_initial: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
            max_concurrent: 1,
        };
        for (attempts, full) in [(1, 1), (2, 2), (3, 4), (7, 60), (1000, 60)] {
            let delay = config.retry_delay(attempts);
            let full = Duration::from_secs(full);
            assert!(delay >= full / 2 && delay <= full, "{attempts}: {delay:?}");
        }
    }
}
