//! `/query`: python-rein's searches over stored documents, and the block they are judged at.

use std::collections::HashMap;

use ledger_client::bitcoin_rpc::BitcoinRpc;
use service_kit::bitcoin::BitcoinAddress;
use service_kit::db::DbConnection;

use crate::AppState;
use crate::db::buckets;
use crate::db::search::{Pattern, escape, find};
use crate::error::Error;

const PAGE: i64 = 100;
const USER_PAGE: i64 = 20;
/// `block_info` describes the block this many below the tip, as the original did.
const BLOCK_INFO_DEPTH: u64 = 12;

/// What a sub-query found.
pub enum Found {
    /// The values of the documents found.
    Values(Vec<String>),
    /// The documents found, key and value.
    Documents(Vec<(String, String)>),
    /// The sub-query lacks what it searches by (the original's `["error"]`).
    Refused,
}

/// The block `/query` reports its answers at.
pub struct BlockInfo {
    pub hash: String,
    pub time: u64,
    pub height: u64,
}

/// What `/query` answers: `None` when the owner has no account.
pub struct Answer {
    pub found: Found,
    /// `None` without a ledger, or when it cannot say.
    pub block_info: Option<BlockInfo>,
}

/// Runs the sub-query `name` with its `params` (the request's parameters) for `owner`.
pub async fn query(
    state: &AppState,
    owner: &BitcoinAddress,
    name: &str,
    params: HashMap<String, String>,
    testnet: bool,
) -> Result<Option<Answer>, Error> {
    let (owner, name) = (owner.to_string(), name.to_owned());
    let found = state
        .db
        .run(move |conn| {
            if buckets::count(conn, &owner)? == 0 {
                return Ok(None);
            }
            run(conn, &name, &params, testnet).map(Some)
        })
        .await?;
    let Some(found) = found else {
        return Ok(None);
    };
    let block_info = match &state.ledger {
        Some(rpc) => block_info(rpc).await,
        None => None,
    };
    Ok(Some(Answer { found, block_info }))
}

async fn block_info(rpc: &BitcoinRpc) -> Option<BlockInfo> {
    let info = async {
        let height = rpc.getblockcount().await?.saturating_sub(BLOCK_INFO_DEPTH);
        let hash = rpc.getblockhash(height).await?;
        let header = rpc.getblockheader(&hash).await?;
        Ok::<_, ledger_client::LedgerError>(BlockInfo {
            hash,
            time: header.time,
            height,
        })
    };
    info.await
        .inspect_err(|err| log::warn!("block_info unavailable: {err}"))
        .ok()
}

fn values(rows: Vec<(String, String)>) -> Found {
    Found::Values(rows.into_iter().map(|(_, value)| value).collect())
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
) -> Result<Found, Error> {
    use Pattern::{ILike, Like};
    let net = Some(testnet);
    let arg = |name: &'static str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| escape(v))
            .ok_or(Error::Missing(name))
    };
    let optional = |name: &str| {
        params
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| escape(v))
    };
    let found = match name {
        "mediators" => values(find(
            conn,
            &[ILike("%\nWilling to mediate: True%".into())],
            net,
            PAGE,
        )?),
        "jobs" => values(find(conn, &[Like("%\nRein Job%".into())], net, PAGE)?),
        "bids" => values(find(conn, &[Like("%\nRein Bid%".into())], net, PAGE)?),
        "deliveries" => {
            let creator = arg("job_creator")?;
            let pattern = format!("%Rein Delivery%Job creator public key: {creator}%");
            values(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "in-process" => {
            let pattern = format!("%Worker public key: {}%", arg("worker")?);
            values(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "review" => {
            let pattern = format!("%Mediator public key: {}%", arg("mediator")?);
            values(find(conn, &[ILike(pattern)], net, PAGE)?)
        }
        "by_job_id" => {
            let job_ids = arg("job_ids")?;
            let mut rows = Vec::new();
            for id in ids(&job_ids) {
                let pattern = format!("%Job ID: {id}\n%");
                rows.extend(find(conn, &[ILike(pattern)], net, PAGE)?);
            }
            values(rows)
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
            values(rows)
        }
        "get_user_ratings" => {
            let (dest, source) = (optional("dest"), optional("source"));
            if dest.is_none() && source.is_none() {
                return Ok(Found::Refused);
            }
            let mut patterns = vec![Like("%\nRein Rating%".into())];
            patterns.extend(dest.map(|d| Like(format!("%\nUser msin: {d}%"))));
            patterns.extend(source.map(|s| Like(format!("%\nRater msin: {s}%"))));
            Found::Documents(find(conn, &patterns, net, PAGE)?)
        }
        "get_user_name" => {
            let Some(msin) = optional("msin") else {
                return Ok(Found::Refused);
            };
            let patterns = [
                Like("%\nRein User Enrollment%".into()),
                Like(format!("%\nSecure Identity Number: {msin}%")),
            ];
            Found::Documents(find(conn, &patterns, net, PAGE)?)
        }
        "get_user" => {
            let Some(input) = optional("search_input") else {
                return Ok(Found::Refused);
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
            values(rows)
        }
        _ => Found::Values(Vec::new()),
    };
    Ok(found)
}
