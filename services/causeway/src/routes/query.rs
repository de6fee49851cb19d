//! `/query`: python-rein's searches over stored documents, each with `block_info`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ledger_client::bitcoin_rpc::BitcoinRpc;
use serde_json::{Value, json};
use service_kit::bitcoin::BitcoinAddress;
use service_kit::db::DbConnection;

use super::{logical_error, success};
use crate::AppState;
use crate::db::buckets;
use crate::db::search::{Pattern, escape, find};
use crate::error::ApiError;

const PAGE: i64 = 100;
const USER_PAGE: i64 = 20;
/// `block_info` describes the block this many below the tip, as the original did.
const BLOCK_INFO_DEPTH: u64 = 12;
/// Keys of the answer's envelope, which no sub-query may be named after.
const RESERVED: [&str; 3] = ["block_info", "result", "status"];

pub async fn query(
    state: web::Data<AppState>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let params = params.into_inner();
    let owner = params.get("owner").ok_or(ApiError::Missing("owner"))?;
    let owner = BitcoinAddress::parse(owner.trim())
        .map_err(|e| ApiError::invalid("owner", e))?
        .to_string();
    let name = params.get("query").cloned().unwrap_or_default();
    // The results come under the key `query` names; it must not overwrite the envelope.
    if RESERVED.contains(&name.as_str()) {
        return Err(ApiError::invalid(
            "query",
            format!("{name:?} is a reserved name"),
        ));
    }
    let testnet = params
        .get("testnet")
        .is_some_and(|t| t == "True" || t == "1" || t == "true");
    let key = name.clone();
    let answer = state
        .db
        .run(move |conn| {
            if buckets::count(conn, &owner)? == 0 {
                return Ok(None);
            }
            run(conn, &key, &params, testnet).map(Some)
        })
        .await?;
    let Some(items) = answer else {
        return Ok(logical_error("Account required to make queries", json!({})));
    };
    let block_info = match &state.ledger {
        Some(rpc) => block_info(rpc).await,
        None => Value::Null,
    };
    let mut body = json!({"block_info": block_info});
    if let Value::Object(fields) = &mut body {
        fields.insert(name, items);
    }
    Ok(success(StatusCode::OK, body))
}

async fn block_info(rpc: &BitcoinRpc) -> Value {
    let info = async {
        let height = rpc.getblockcount().await?.saturating_sub(BLOCK_INFO_DEPTH);
        let hash = rpc.getblockhash(height).await?;
        let header = rpc.getblockheader(&hash).await?;
        Ok::<_, ledger_client::LedgerError>(
            json!({"hash": hash, "time": header.time, "height": height}),
        )
    };
    info.await.unwrap_or_else(|err| {
        log::warn!("block_info unavailable: {err}");
        Value::Null
    })
}

fn strings(rows: Vec<(String, String)>) -> Value {
    rows.into_iter()
        .map(|(_, value)| Value::String(value))
        .collect()
}

fn objects(rows: Vec<(String, String)>) -> Value {
    rows.into_iter()
        .map(|(key, value)| json!({"key": key, "value": value}))
        .collect()
}

fn ids(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|id| !id.is_empty())
}

/// One sub-query; the patterns are the original's, with user input escaped.
fn run(
    conn: &mut DbConnection,
    name: &str,
    params: &HashMap<String, String>,
    testnet: bool,
) -> Result<Value, ApiError> {
    use Pattern::{ILike, Like};
    let net = Some(testnet);
    let arg = |name: &'static str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| escape(v))
            .ok_or(ApiError::Missing(name))
    };
    let optional = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| escape(v))
    };
    let items = match name {
        "mediators" => strings(find(
            conn,
            &[ILike("%\nWilling to mediate: True%".into())],
            net,
            PAGE,
        )?),
        "jobs" => strings(find(conn, &[Like("%\nRein Job%".into())], net, PAGE)?),
        "bids" => strings(find(conn, &[Like("%\nRein Bid%".into())], net, PAGE)?),
        "deliveries" => {
            let creator = arg("job_creator")?;
            let pattern = format!("%Rein Delivery%Job creator public key: {creator}%");
            strings(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "in-process" => {
            let pattern = format!("%Worker public key: {}%", arg("worker")?);
            strings(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "review" => {
            let pattern = format!("%Mediator public key: {}%", arg("mediator")?);
            strings(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "by_job_id" => {
            let job_ids = arg("job_ids")?;
            let mut rows = Vec::new();
            for id in ids(&job_ids) {
                let pattern = format!("%Job ID: {id}\n%");
                rows.extend(find(conn, &[ILike(pattern)], net, PAGE)?);
            }
            strings(rows)
        }
        "dispute" => {
            let job_ids = arg("job_ids")?;
            let mut rows = Vec::new();
            for id in ids(&job_ids) {
                let delivery = find(conn, &[Like(format!("%Rein Delivery%{id}\n%"))], None, PAGE)?;
                if delivery.is_empty() {
                    rows.extend(find(
                        conn,
                        &[Like(format!("%Rein Offer%{id}\n%"))],
                        None,
                        PAGE,
                    )?);
                } else {
                    rows.extend(delivery);
                }
            }
            strings(rows)
        }
        "get_user_ratings" => {
            let (dest, source) = (optional("dest"), optional("source"));
            if dest.is_none() && source.is_none() {
                return Ok(json!(["error"]));
            }
            let mut patterns = vec![Like("%\nRein Rating%".into())];
            patterns.extend(dest.map(|d| Like(format!("%\nUser msin: {d}%"))));
            patterns.extend(source.map(|s| Like(format!("%\nRater msin: {s}%"))));
            objects(find(conn, &patterns, net, PAGE)?)
        }
        "get_user_name" => {
            let Some(msin) = optional("msin") else {
                return Ok(json!(["error"]));
            };
            let patterns = [
                Like("%\nRein User Enrollment%".into()),
                Like(format!("%\nSecure Identity Number: {msin}%")),
            ];
            objects(find(conn, &patterns, net, PAGE)?)
        }
        "get_user" => {
            let Some(input) = optional("search_input") else {
                return Ok(json!(["error"]));
            };
            let enrollment = || Like("%\nRein User Enrollment%".into());
            let attempts = [
                Like(format!("%\nSecure Identity Number: {input}%")),
                Like(format!("%\nMaster signing address: {input}%")),
                Like(format!("%\nDelegate signing address: {input}%")),
                ILike(format!("%User: %{input}%")),
                ILike(format!("%Contact: %{input}%")),
            ];
            let mut rows = Vec::new();
            for attempt in attempts {
                rows = find(conn, &[enrollment(), attempt], net, USER_PAGE)?;
                if !rows.is_empty() {
                    break;
                }
            }
            strings(rows)
        }
        _ => json!([]),
    };
    Ok(items)
}
