//! `/answer/<token>`: proofs checked against each contract's current challenge.

use std::collections::HashMap;
use std::net::IpAddr;

use serde_json::{Value, json};

use super::challenges::{contract_id, not_found};
use super::{Node, check_new_ip, ip_text, token_row};
use crate::db::contracts::{self, ContractRow};
use crate::db::tokens;
use crate::domain::{Answer, FarmerToken, now_millis};
use crate::error::ApiError;
use crate::heartbeat::Proof;

/// The outcome for one submitted proof.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    NotFound,
    Corrupted,
    Answered(Answer),
}

pub async fn answer(
    node: &Node,
    token: Option<FarmerToken>,
    ip: IpAddr,
    items: Vec<Value>,
) -> Result<Vec<(Value, Outcome)>, ApiError> {
    let settings = node.settings.clone();
    let ip_string = ip_text(ip);
    super::write_transaction(&node.db, move |conn| {
        let mut row = token_row(conn, token)?;
        check_new_ip(conn, &row, &ip_string, settings.max_tokens_per_ip)?;
        let ids: Vec<i64> = items
            .iter()
            .filter_map(|item| item.get("file_hash").and_then(contract_id))
            .collect();
        let mut found: HashMap<i64, ContractRow> = contracts::of_token_by_ids(conn, row.id, &ids)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        let now = now_millis();
        let mut uptime = row.uptime_state();
        let mut accepted = 0;
        let mut outcomes = Vec::with_capacity(items.len());
        for item in items {
            let file_hash = item.get("file_hash").cloned().unwrap_or(Value::Null);
            let Some(contract) = contract_id(&file_hash).and_then(|id| found.get_mut(&id)) else {
                outcomes.push((file_hash, Outcome::NotFound));
                continue;
            };
            let proof = item
                .get("proof")
                .cloned()
                .and_then(|p| serde_json::from_value::<Proof>(p).ok());
            let Some(proof) = proof else {
                outcomes.push((file_hash, Outcome::Corrupted));
                continue;
            };
            let mut schedule = contract.schedule();
            let verdict = schedule.answer(&proof, &contract.root(), contract.order(), now);
            if verdict == Answer::Accepted {
                contracts::save_schedule(conn, contract.id, &schedule)?;
                contract.answered = true;
                contract.expiration = schedule.expiration();
                uptime.extended(schedule.expiration());
                accepted += 1;
            }
            outcomes.push((file_hash, Outcome::Answered(verdict)));
        }
        if accepted > 0 {
            row.hbcount += accepted;
            row.set_uptime_state(uptime, now);
            tokens::save_stats(conn, &row)?;
        }
        Ok(outcomes)
    })
    .await
}

/// The batch report item for one outcome.
pub fn report_item(file_hash: Value, outcome: &Outcome) -> Value {
    match outcome {
        Outcome::NotFound => not_found(&file_hash),
        Outcome::Corrupted => json!({"file_hash": file_hash, "error": "Proof corrupted"}),
        Outcome::Answered(answer) => match answer.error() {
            None => json!({"file_hash": file_hash, "status": "ok"}),
            Some(error) => json!({"file_hash": file_hash, "error": error}),
        },
    }
}
