//! The challenge schedule of one contract (`update_contract` and `verify_proof` of the
//! original). Due times lie on the grid `start + k * interval`.

use super::Millis;
use crate::heartbeat::{self, Challenge, HeartbeatKey, Proof};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Challenges handed out so far; the current one has index `issued - 1`.
    pub issued: u32,
    pub challenges: u32,
    /// The seed of the current challenge (`s_issued` of the seed chain).
    pub chain_seed: [u8; 32],
    pub due: Millis,
    pub answered: bool,
    pub interval: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refresh {
    Expired,
    OutOfChallenges,
    /// The current challenge; `changed` when a new one was just issued.
    Challenge {
        challenge: Challenge,
        due: Millis,
        answered: bool,
        changed: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accepted,
    Expired,
    AlreadyAnswered,
    Invalid,
}

impl Answer {
    /// The report text of a refused answer, as the original words it.
    pub fn error(self) -> Option<&'static str> {
        match self {
            Answer::Accepted => None,
            Answer::Expired => Some("Answer failed: contract expired."),
            Answer::AlreadyAnswered => Some("Challenge already answered."),
            Answer::Invalid => Some("Invalid proof"),
        }
    }
}

impl Schedule {
    /// The first challenge of a contract created at `now`: due one interval later.
    pub fn first(
        key: &HeartbeatKey,
        s0: &[u8; 32],
        challenges: u32,
        now: Millis,
        interval: Millis,
    ) -> Self {
        Self {
            issued: 1,
            challenges,
            chain_seed: heartbeat::next_seed(key, s0),
            due: now + interval,
            answered: false,
            interval,
        }
    }

    /// Online until then; an answered challenge keeps the contract one more interval.
    pub fn expiration(&self) -> Millis {
        if self.answered {
            self.due + self.interval
        } else {
            self.due
        }
    }

    pub fn current(&self) -> Option<Challenge> {
        let index = self.issued.checked_sub(1)?;
        Some(Challenge {
            seed: self.chain_seed,
            index,
        })
    }

    pub fn refresh(&mut self, key: &HeartbeatKey, now: Millis) -> Refresh {
        if self.expiration() <= now {
            return Refresh::Expired;
        }
        if now < self.due
            && let Some(challenge) = self.current()
        {
            return Refresh::Challenge {
                challenge,
                due: self.due,
                answered: self.answered,
                changed: false,
            };
        }
        if self.issued >= self.challenges {
            return Refresh::OutOfChallenges;
        }
        let next_due = self.expiration();
        self.chain_seed = heartbeat::next_seed(key, &self.chain_seed);
        self.issued += 1;
        self.due = next_due;
        self.answered = false;
        Refresh::Challenge {
            challenge: Challenge {
                seed: self.chain_seed,
                index: self.issued - 1,
            },
            due: self.due,
            answered: false,
            changed: true,
        }
    }

    pub fn answer(&mut self, proof: &Proof, root: &[u8; 32], order: u32, now: Millis) -> Answer {
        if now >= self.expiration() {
            return Answer::Expired;
        }
        if self.answered {
            return Answer::AlreadyAnswered;
        }
        let Some(current) = self.current() else {
            return Answer::Invalid;
        };
        if !heartbeat::verify(proof, current.index, root, order) {
            return Answer::Invalid;
        }
        self.answered = true;
        Answer::Accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: HeartbeatKey = HeartbeatKey::from_bytes([1; 32]);

    #[test]
    fn challenges_follow_the_grid_and_run_out() {
        let mut s = Schedule::first(&KEY, &[2; 32], 2, 0, 300_000);
        assert_eq!(s.expiration(), 300_000);
        let Refresh::Challenge {
            challenge,
            changed: false,
            ..
        } = s.refresh(&KEY, 1_000)
        else {
            panic!("current challenge expected");
        };
        assert_eq!(challenge.index, 0);
        assert_eq!(challenge.seed, heartbeat::next_seed(&KEY, &[2; 32]));
        // Unanswered at its due time: expired.
        assert_eq!(s.clone().refresh(&KEY, 300_000), Refresh::Expired);
        s.answered = true;
        assert_eq!(s.expiration(), 600_000);
        let Refresh::Challenge {
            challenge,
            due,
            changed: true,
            ..
        } = s.refresh(&KEY, 300_500)
        else {
            panic!("next challenge expected");
        };
        assert_eq!((challenge.index, due), (1, 600_000));
        s.answered = true;
        assert_eq!(s.refresh(&KEY, 600_000), Refresh::OutOfChallenges);
    }
}
