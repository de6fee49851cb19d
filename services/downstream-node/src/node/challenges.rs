//! `/challenge/<token>`: the current or next challenge of each contract.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Node, seconds_until, token_row};
use crate::db::contracts::{self, ContractRow};
use crate::db::tokens;
use crate::domain::{FarmerToken, Refresh, now_millis};
use crate::error::ApiError;

/// A `file_hash` as the original's `int()` reads it: a JSON integer or a decimal string.
pub fn contract_id(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn not_found(file_hash: &Value) -> Value {
    json!({"file_hash": file_hash, "error": "contract not found"})
}

/// What `/challenge` reports for one contract, after moving its schedule on if due.
pub fn refresh_item(
    conn: &mut service_kit::db::DbConnection,
    node: &Node,
    contract: &mut ContractRow,
    last_due: &mut Option<i64>,
    now: i64,
) -> Result<Value, ApiError> {
    let mut schedule = contract.schedule();
    let id = contract.id;
    Ok(match schedule.refresh(&node.key, now) {
        Refresh::Expired => json!({"file_hash": id, "error": "contract expired"}),
        Refresh::OutOfChallenges => json!({"file_hash": id, "status": "no more challenges"}),
        Refresh::Challenge {
            challenge,
            due,
            answered,
            changed,
        } => {
            if changed {
                contracts::save_schedule(conn, id, &schedule)?;
                contract.issued = i32::try_from(schedule.issued).unwrap_or(i32::MAX);
                contract.chain_seed = schedule.chain_seed.to_vec();
                contract.due_at = schedule.due;
                contract.answered = schedule.answered;
                contract.expiration = schedule.expiration();
                *last_due = Some(last_due.map_or(due, |d| d.max(due)));
            }
            json!({
                "file_hash": id,
                "challenge": challenge,
                "due": seconds_until(due, now),
                "answered": answered,
            })
        }
    })
}

/// `None` selects every contract of the token (GET); otherwise the ids as sent.
pub async fn challenges(
    node: &Node,
    token: Option<FarmerToken>,
    wanted: Option<Vec<Value>>,
) -> Result<Vec<Value>, ApiError> {
    let node = node.clone();
    let db = node.db.clone();
    super::write_transaction(&db, move |conn| {
        let mut row = token_row(conn, token)?;
        let now = now_millis();
        let mut last_due = row.last_due;
        let mut items = Vec::new();
        match wanted {
            None => {
                for mut contract in contracts::for_token(conn, row.id)? {
                    items.push(refresh_item(
                        conn,
                        &node,
                        &mut contract,
                        &mut last_due,
                        now,
                    )?);
                }
            }
            Some(wanted) => {
                let ids: Vec<i64> = wanted.iter().filter_map(contract_id).collect();
                let mut found: HashMap<i64, ContractRow> =
                    contracts::of_token_by_ids(conn, row.id, &ids)?
                        .into_iter()
                        .map(|c| (c.id, c))
                        .collect();
                for value in &wanted {
                    // A duplicate id sees the state its first occurrence left behind.
                    let item = match contract_id(value).and_then(|id| found.get_mut(&id)) {
                        Some(contract) => refresh_item(conn, &node, contract, &mut last_due, now)?,
                        None => not_found(value),
                    };
                    items.push(item);
                }
            }
        }
        if last_due != row.last_due {
            row.last_due = last_due;
            tokens::save_stats(conn, &row)?;
        }
        Ok(items)
    })
    .await
}
