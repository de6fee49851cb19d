//! `/bitcoin`: the block lookups and broadcast python-rein asks its servers for.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use ledger_client::LedgerError;
use ledger_client::bitcoin_rpc::BitcoinRpc;
use serde_json::{Value, json};
use service_kit::bitcoin::BitcoinAddress;

use super::{logical_error, success};
use crate::AppState;
use crate::db::buckets;
use crate::error::ApiError;

const LOOKUP_FAILED: &str = "Invalid depth or RPC error";

/// Query-string parameters only, for GET and POST alike (as the original).
pub async fn bitcoin(
    state: web::Data<AppState>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, ApiError> {
    let Some(rpc) = state.ledger.clone() else {
        return Ok(logical_error(
            "Bitcoin Core not enabled for this server",
            json!({}),
        ));
    };
    let owner = params.get("owner").ok_or(ApiError::Missing("owner"))?;
    let owner = BitcoinAddress::parse(owner.trim())
        .map_err(|e| ApiError::invalid("owner", e))?
        .to_string();
    if state
        .query(move |conn| buckets::count(conn, &owner))
        .await?
        == 0
    {
        return Ok(logical_error("Account required to make queries", json!({})));
    }
    let number = |name: &'static str| -> Result<u64, ApiError> {
        params
            .get(name)
            .ok_or(ApiError::Missing(name))?
            .trim()
            .parse()
            .map_err(|e| ApiError::invalid(name, e))
    };
    let text = |name: &'static str| -> Result<&str, ApiError> {
        params
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .ok_or(ApiError::Missing(name))
    };
    let query = params.get("query").map(String::as_str).unwrap_or_default();
    let answer = match query {
        "getbydepth" => {
            let depth = number("depth")?;
            let tip = rpc.getblockcount().await.map_err(ApiError::Ledger)?;
            match tip.checked_sub(depth) {
                Some(height) => by_height(&rpc, height, json!(height)).await?,
                None => None,
            }
        }
        "getbyheight" => {
            let height = number("height")?;
            // The original echoed the height as given, a string.
            let echo = json!(text("height")?);
            by_height(&rpc, height, echo).await?
        }
        "getbyhash" => {
            let hash = text("hash")?;
            lookup(rpc.getblockheader(hash).await)?.map(
                |header| json!({"height": header.height, "hash": header.hash, "time": header.time}),
            )
        }
        "sendrawtransaction" => {
            let tx = text("tx")?;
            let txid = lookup(rpc.sendrawtransaction(tx).await)?;
            return Ok(success(StatusCode::OK, json!({"txid": txid})));
        }
        "" => return Err(ApiError::Missing("query")),
        other => {
            return Err(ApiError::invalid(
                "query",
                format!(
                    "{other:?} is not getbydepth, getbyheight, getbyhash or sendrawtransaction"
                ),
            ));
        }
    };
    Ok(match answer {
        Some(fields) => success(StatusCode::OK, fields),
        None => logical_error(LOOKUP_FAILED, json!({})),
    })
}

async fn by_height(rpc: &BitcoinRpc, height: u64, echo: Value) -> Result<Option<Value>, ApiError> {
    let Some(hash) = lookup(rpc.getblockhash(height).await)? else {
        return Ok(None);
    };
    Ok(lookup(rpc.getblockheader(&hash).await)?
        .map(|header| json!({"height": echo, "hash": hash, "time": header.time})))
}

/// The ledger's "no" (unknown block, rejected transaction) is an answer; an unreachable
/// ledger is a 502.
fn lookup<T>(result: Result<T, LedgerError>) -> Result<Option<T>, ApiError> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(LedgerError::NotFound | LedgerError::Refused(_)) => Ok(None),
        Err(err) => Err(ApiError::Ledger(err)),
    }
}
