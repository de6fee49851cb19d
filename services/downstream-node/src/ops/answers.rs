//! Answers: proofs checked against each contract's current challenge.

use std::collections::HashMap;
use std::net::IpAddr;

use super::{check_new_ip, ip_text, locked_token_row, token_row};
use crate::app::AppState;
use crate::db::{contracts, tokens};
use crate::domain::{Answer, Contract, FarmerToken, ProofItem, now_millis};
use crate::error::Error;

/// The outcome for one submitted proof.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    NotFound,
    Corrupted,
    Answered(Answer),
}

/// Checks each proof of `token`'s farmer, in order; one outcome per proof. An accepted proof
/// keeps its contract online one more interval and counts as a heartbeat.
pub async fn answer(
    state: &AppState,
    token: Option<FarmerToken>,
    ip: IpAddr,
    proofs: Vec<ProofItem>,
) -> Result<Vec<Outcome>, Error> {
    let max_tokens_per_ip = state.settings.max_tokens_per_ip;
    let ip_string = ip_text(ip);
    state
        .db
        .write(move |conn| {
            let row = token_row(conn, token)?;
            check_new_ip(conn, &row, &ip_string, max_tokens_per_ip)?;
            let ids: Vec<i64> = proofs.iter().filter_map(|item| item.contract).collect();
            let mut found: HashMap<i64, Contract> = contracts::of_token_by_ids(conn, row.id, &ids)?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            let now = now_millis();
            let mut extended = Vec::new();
            let mut saved = Vec::new();
            let mut accepted = 0;
            let mut outcomes = Vec::with_capacity(proofs.len());
            for item in proofs {
                let Some(contract) = item.contract.and_then(|id| found.get_mut(&id)) else {
                    outcomes.push(Outcome::NotFound);
                    continue;
                };
                let Some(proof) = item.proof else {
                    outcomes.push(Outcome::Corrupted);
                    continue;
                };
                let schedule = &mut contract.schedule;
                let verdict = schedule.answer(&proof, &contract.root, contract.order, now);
                if verdict == Answer::Accepted {
                    if !saved.contains(&contract.id) {
                        saved.push(contract.id);
                    }
                    extended.push(schedule.expiration());
                    accepted += 1;
                }
                outcomes.push(Outcome::Answered(verdict));
            }
            let schedules: Vec<(i64, &_)> = saved
                .iter()
                .filter_map(|id| found.get(id).map(|c| (*id, &c.schedule)))
                .collect();
            contracts::save_schedules(conn, &schedules)?;
            if !extended.is_empty() {
                // Contracts first, then the token: the order every writer locks them in.
                let mut row = locked_token_row(conn, &row)?;
                let mut uptime = row.uptime_state();
                for expiration in &extended {
                    uptime.extended(*expiration);
                }
                row.hbcount += accepted;
                row.set_uptime_state(uptime, now);
                tokens::save_stats(conn, &row)?;
            }
            Ok(outcomes)
        })
        .await
}
