//! Incremental uptime of one farmer.
//!
//! A contract is online from its start until its expiration, and an expiration only ever
//! moves forward while the contract is online. So the union of a farmer's online intervals
//! grows only at its latest connected segment: closed segments are summed once into
//! `closed`, the open one is `[seg_start, seg_end]`, and uptime at `now` needs no history.

use super::Millis;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uptime {
    /// Start of the first contract; `None` until the farmer holds one.
    pub first_start: Option<Millis>,
    /// Online time of segments that ended before `seg_start`.
    pub closed: Millis,
    pub seg_start: Option<Millis>,
    pub seg_end: Option<Millis>,
}

impl Uptime {
    /// A contract starting at `now` and online until `expiration`.
    pub fn contract_started(&mut self, now: Millis, expiration: Millis) {
        self.first_start = Some(self.first_start.map_or(now, |s| s.min(now)));
        match (self.seg_start, self.seg_end) {
            (Some(start), Some(end)) if end >= now => {
                self.seg_start = Some(start);
                self.seg_end = Some(end.max(expiration));
            }
            (Some(start), Some(end)) => {
                self.closed += (end - start).max(0);
                self.seg_start = Some(now);
                self.seg_end = Some(expiration);
            }
            _ => {
                self.seg_start = Some(now);
                self.seg_end = Some(expiration);
            }
        }
    }

    /// An online contract's expiration moved to `expiration` (an accepted answer).
    pub fn extended(&mut self, expiration: Millis) {
        if let Some(end) = self.seg_end {
            self.seg_end = Some(end.max(expiration));
        }
    }

    /// Online time up to `now`.
    pub fn online_millis(&self, now: Millis) -> Millis {
        let open = match (self.seg_start, self.seg_end) {
            (Some(start), Some(end)) => (end.min(now) - start).max(0),
            _ => 0,
        };
        self.closed + open
    }

    /// Percentage of the time since the first contract that the farmer was online.
    pub fn percent(&self, now: Millis) -> f64 {
        match self.first_start {
            Some(start) if now > start => {
                100.0 * self.online_millis(now) as f64 / (now - start) as f64
            }
            _ => 0.0,
        }
    }
}

/// `round(x, 2)`, as the original shows uptime.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_contracts_count_once_and_gaps_do_not_count() {
        let mut up = Uptime::default();
        up.contract_started(0, 300_000);
        up.contract_started(100_000, 400_000);
        assert_eq!(up.online_millis(400_000), 400_000);
        assert_eq!(up.percent(400_000), 100.0);
        // Offline from 400 s to 600 s, then a new contract.
        up.contract_started(600_000, 900_000);
        assert_eq!(up.online_millis(800_000), 600_000);
        assert_eq!(round2(up.percent(800_000)), 75.0);
        up.extended(1_200_000);
        assert_eq!(up.online_millis(1_000_000), 800_000);
        assert_eq!(up.percent(1_000_000), 80.0);
    }

    #[test]
    fn no_contracts_is_zero() {
        assert_eq!(Uptime::default().percent(1_000), 0.0);
        let mut up = Uptime::default();
        up.contract_started(5, 10);
        assert_eq!(up.percent(5), 0.0);
    }
}
