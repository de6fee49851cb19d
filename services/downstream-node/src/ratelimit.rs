//! In-process token buckets for the per-IP and per-token rate limits. State lives in this
//! process only: with several replicas behind a load balancer each replica limits on its own.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::settings::Settings;

/// Above this many tracked keys, buckets that have refilled completely are forgotten (at
/// most once a second), so keys that stopped calling do not accumulate.
const PRUNE_ABOVE: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One bucket per key: `burst` requests at once, refilled at `rate` per second.
#[derive(Debug)]
pub struct RateLimiter<K> {
    rate: f64,
    burst: f64,
    state: Mutex<State<K>>,
}

#[derive(Debug)]
struct State<K> {
    buckets: HashMap<K, Bucket>,
    pruned: Option<Instant>,
}

impl<K: Eq + Hash> RateLimiter<K> {
    /// `None` when `rate` is 0 (unlimited).
    pub fn new(rate: f64, burst: u32) -> Option<Self> {
        (rate > 0.0).then(|| Self {
            rate,
            burst: f64::from(burst.max(1)),
            state: Mutex::new(State {
                buckets: HashMap::new(),
                pruned: None,
            }),
        })
    }

    /// Takes one request from `key`'s bucket at `now`, or says how long until one is there.
    pub fn check(&self, key: K, now: Instant) -> Result<(), Duration> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if state.buckets.len() > PRUNE_ABOVE
            && state
                .pruned
                .is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1))
        {
            let (rate, burst) = (self.rate, self.burst);
            state
                .buckets
                .retain(|_, bucket| refilled(bucket, now, rate, burst) < burst);
            state.pruned = Some(now);
        }
        let bucket = state.buckets.entry(key).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let tokens = refilled(bucket, now, self.rate, self.burst);
        bucket.at = now.max(bucket.at);
        if tokens >= 1.0 {
            bucket.tokens = tokens - 1.0;
            Ok(())
        } else {
            bucket.tokens = tokens;
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }

    pub fn tracked(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .buckets
            .len()
    }
}

fn refilled(bucket: &Bucket, now: Instant, rate: f64, burst: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * rate).min(burst)
}

/// The two limits of the service.
#[derive(Debug)]
pub struct RateLimits {
    pub per_ip: Option<RateLimiter<IpAddr>>,
    pub per_token: Option<RateLimiter<String>>,
}

impl RateLimits {
    pub fn from_settings(settings: &Settings) -> Self {
        Self {
            per_ip: RateLimiter::new(settings.ip_rate_limit, settings.ip_rate_burst),
            per_token: RateLimiter::new(settings.token_rate_limit, settings.token_rate_burst),
        }
    }

    /// Charges one request to `ip` and, when given, to `token`; `Err` holds the wait.
    pub fn check(&self, ip: Option<IpAddr>, token: Option<&str>) -> Result<(), Duration> {
        let now = Instant::now();
        if let (Some(limiter), Some(ip)) = (&self.per_ip, ip) {
            limiter.check(ip, now)?;
        }
        if let (Some(limiter), Some(token)) = (&self.per_token, token) {
            limiter.check(token.to_owned(), now)?;
        }
        Ok(())
    }
}

/// Whole seconds for `Retry-After`, rounded up, at least 1.
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(2.0, 3).unwrap();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check("a", t0), Ok(()));
        }
        let wait = limiter.check("a", t0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        assert_eq!(retry_after_secs(wait), 1);
        // Other keys have their own bucket.
        assert_eq!(limiter.check("b", t0), Ok(()));
        // Half a second later one request is back, not two.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(limiter.check("a", t1), Ok(()));
        assert!(limiter.check("a", t1).is_err());
        // Refill stops at the burst.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check("a", t2), Ok(()));
        }
        assert!(limiter.check("a", t2).is_err());
    }

    #[test]
    fn zero_rate_is_unlimited_and_idle_keys_are_pruned() {
        assert!(RateLimiter::<u32>::new(0.0, 10).is_none());
        let limiter = RateLimiter::new(1.0, 1).unwrap();
        let t0 = Instant::now();
        for key in 0..=PRUNE_ABOVE as u32 {
            limiter.check(key, t0).unwrap();
        }
        assert_eq!(limiter.tracked(), PRUNE_ABOVE + 1);
        // Every bucket has refilled after a second: all but the caller are forgotten.
        limiter
            .check(u32::MAX, t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_secs(2)), 2);
        assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}
