//! Background redemption: one task per voucher walks its groups in order, persisting the random
//! tokens of a group before asking the issuer, so a retry after a crash sends the same blinded
//! tokens and cannot double-spend. Unpaid and failed vouchers are retried with exponential
//! backoff and jitter (error-state vouchers included, unlike the original); unfinished vouchers
//! are resumed at start-up from their next group. Cryptography runs on the blocking pool.

mod attempt;
mod group;

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ledger_client::zkap::ZkapIssuer;
use rand::Rng;
use service_kit::db::Database;
use service_kit::metrics::Counter;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio::task::AbortHandle;

use self::attempt::Next;
use crate::db::vouchers;
use crate::domain::time::{self, Micros};
use crate::domain::voucher::Voucher;
use crate::error::Error;
use crate::ops::Queries as _;

/// Why a redemption attempt stopped short of `redeemed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setback {
    Unpaid,
    DoubleSpend,
    Error(String),
}

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
    pub async fn resume_all(&self) -> Result<usize, Error> {
        let unfinished = self.inner.db.query(vouchers::unfinished).await?;
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
            // A retry time already past means now.
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
}

/// A delay as microseconds; saturates, as a delay past `i64::MAX` µs means "never".
fn micros(duration: Duration) -> Micros {
    i64::try_from(duration.as_micros()).unwrap_or(i64::MAX)
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
