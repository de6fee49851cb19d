//! Challenges: the current or next challenge of each contract.

use std::collections::HashMap;

use service_kit::db::DbConnection;

use super::{locked_token_row, seconds_until, token_row};
use crate::app::AppState;
use crate::db::contracts;
use crate::db::tokens::{self, TokenRow};
use crate::domain::{Contract, FarmerToken, Millis, Refresh, now_millis};
use crate::error::Error;
use crate::heartbeat::{Challenge, HeartbeatKey};

/// What one contract asks of its farmer now.
#[derive(Debug, Clone, PartialEq)]
pub enum Challenged {
    NotFound,
    Expired,
    OutOfChallenges,
    Current {
        challenge: Challenge,
        /// Seconds until it is due.
        due: f64,
        answered: bool,
    },
}

/// Every contract of the token, by id.
pub async fn all(
    state: &AppState,
    token: Option<FarmerToken>,
) -> Result<Vec<(i64, Challenged)>, Error> {
    let key = state.key.clone();
    state
        .db
        .write(move |conn| {
            let row = token_row(conn, token)?;
            let mut refresher = Refresher::new(&key);
            let mut items = Vec::new();
            for mut contract in contracts::for_token(conn, row.id)? {
                let challenged = refresher.refresh(conn, &mut contract)?;
                items.push((contract.id, challenged));
            }
            refresher.record_last_due(conn, &row)?;
            Ok(items)
        })
        .await
}

/// The contracts `ids` name (`None` names none), one outcome each, in order. A duplicate id
/// sees the state its first occurrence left behind.
pub async fn selected(
    state: &AppState,
    token: Option<FarmerToken>,
    ids: Vec<Option<i64>>,
) -> Result<Vec<Challenged>, Error> {
    let key = state.key.clone();
    state
        .db
        .write(move |conn| {
            let row = token_row(conn, token)?;
            let wanted: Vec<i64> = ids.iter().flatten().copied().collect();
            let mut found: HashMap<i64, Contract> =
                contracts::of_token_by_ids(conn, row.id, &wanted)?
                    .into_iter()
                    .map(|c| (c.id, c))
                    .collect();
            let mut refresher = Refresher::new(&key);
            let mut items = Vec::with_capacity(ids.len());
            for id in ids {
                items.push(match id.and_then(|id| found.get_mut(&id)) {
                    Some(contract) => refresher.refresh(conn, contract)?,
                    None => Challenged::NotFound,
                });
            }
            refresher.record_last_due(conn, &row)?;
            Ok(items)
        })
        .await
}

/// Moves schedules on at one instant and remembers the latest due time it issued.
struct Refresher<'a> {
    key: &'a HeartbeatKey,
    now: Millis,
    latest_due: Option<Millis>,
}

impl<'a> Refresher<'a> {
    fn new(key: &'a HeartbeatKey) -> Self {
        Self {
            key,
            now: now_millis(),
            latest_due: None,
        }
    }

    fn refresh(
        &mut self,
        conn: &mut DbConnection,
        contract: &mut Contract,
    ) -> Result<Challenged, Error> {
        Ok(match contract.schedule.refresh(self.key, self.now) {
            Refresh::Expired => Challenged::Expired,
            Refresh::OutOfChallenges => Challenged::OutOfChallenges,
            Refresh::Challenge {
                challenge,
                due,
                answered,
                changed,
            } => {
                if changed {
                    contracts::save_schedule(conn, contract.id, &contract.schedule)?;
                    self.latest_due = Some(self.latest_due.map_or(due, |d| d.max(due)));
                }
                Challenged::Current {
                    challenge,
                    due: seconds_until(due, self.now),
                    answered,
                }
            }
        })
    }

    /// The token's `last_due` moved on to the latest due time issued, if that is later.
    fn record_last_due(&self, conn: &mut DbConnection, row: &TokenRow) -> Result<(), Error> {
        let Some(due) = self.latest_due else {
            return Ok(());
        };
        let mut row = locked_token_row(conn, row)?;
        if row.last_due.is_some_and(|last| last >= due) {
            return Ok(());
        }
        row.last_due = Some(due);
        tokens::save_stats(conn, &row)?;
        Ok(())
    }
}
