//! `/bitcoin`: the block lookups and broadcast python-rein asks its servers for.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;
use service_kit::bitcoin::BitcoinAddress;

use super::{logical_error, success};
use crate::AppState;
use crate::error::Error;
use crate::ops::bitcoin::{self, Answer, Height, Lookup, Request};

const LOOKUP_FAILED: &str = "Invalid depth or RPC error";

/// Query-string parameters only, for GET and POST alike (as the original).
pub async fn bitcoin(
    state: web::Data<AppState>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, Error> {
    let request = Request {
        owner: owner(&params),
        lookup: lookup(&params),
    };
    Ok(match bitcoin::bitcoin(&state, request).await? {
        Answer::NoLedger => logical_error("Bitcoin Core not enabled for this server", json!({})),
        Answer::NoAccount => logical_error("Account required to make queries", json!({})),
        Answer::Block { height, hash, time } => {
            let height = match height {
                Height::Number(n) => json!(n),
                Height::Text(text) => json!(text),
            };
            success(
                StatusCode::OK,
                json!({"height": height, "hash": hash, "time": time}),
            )
        }
        Answer::Sent(txid) => success(StatusCode::OK, json!({"txid": txid})),
        Answer::NotFound => logical_error(LOOKUP_FAILED, json!({})),
    })
}

fn owner(params: &HashMap<String, String>) -> Result<BitcoinAddress, Error> {
    let owner = params.get("owner").ok_or(Error::Missing("owner"))?;
    BitcoinAddress::parse(owner.trim()).map_err(|e| Error::invalid("owner", e))
}

fn lookup(params: &HashMap<String, String>) -> Result<Lookup, Error> {
    let number = |name: &'static str| -> Result<u64, Error> {
        params
            .get(name)
            .ok_or(Error::Missing(name))?
            .trim()
            .parse()
            .map_err(|e| Error::invalid(name, e))
    };
    let text = |name: &'static str| -> Result<String, Error> {
        params
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or(Error::Missing(name))
    };
    match params.get("query").map(String::as_str).unwrap_or_default() {
        "getbydepth" => Ok(Lookup::ByDepth(number("depth")?)),
        "getbyheight" => Ok(Lookup::ByHeight {
            height: number("height")?,
            // The original echoed the height as given, a string.
            echo: text("height")?,
        }),
        "getbyhash" => Ok(Lookup::ByHash(text("hash")?)),
        "sendrawtransaction" => Ok(Lookup::Send(text("tx")?)),
        "" => Err(Error::Missing("query")),
        other => Err(Error::invalid(
            "query",
            format!("{other:?} is not getbydepth, getbyheight, getbyhash or sendrawtransaction"),
        )),
    }
}
