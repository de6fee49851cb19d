//! `/query`: python-rein's searches over stored documents, each with `block_info`.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::{Value, json};
use service_kit::bitcoin::BitcoinAddress;

use super::{logical_error, success};
use crate::AppState;
use crate::error::Error;
use crate::ops::query::{self, Found};

/// Keys of the answer's envelope, which no sub-query may be named after.
const RESERVED: [&str; 3] = ["block_info", "result", "status"];

pub async fn query(
    state: web::Data<AppState>,
    params: web::Query<HashMap<String, String>>,
) -> Result<HttpResponse, Error> {
    let params = params.into_inner();
    let owner = params.get("owner").ok_or(Error::Missing("owner"))?;
    let owner = BitcoinAddress::parse(owner.trim()).map_err(|e| Error::invalid("owner", e))?;
    let name = params.get("query").cloned().unwrap_or_default();
    // The results come under the key `query` names; it must not overwrite the envelope.
    if RESERVED.contains(&name.as_str()) {
        return Err(Error::invalid(
            "query",
            format!("{name:?} is a reserved name"),
        ));
    }
    let testnet = params
        .get("testnet")
        .is_some_and(|t| t == "True" || t == "1" || t == "true");
    let Some(answer) = query::query(&state, &owner, &name, params, testnet).await? else {
        return Ok(logical_error("Account required to make queries", json!({})));
    };
    let block_info = match answer.block_info {
        Some(info) => json!({"hash": info.hash, "time": info.time, "height": info.height}),
        None => Value::Null,
    };
    let items = match answer.found {
        Found::Values(values) => json!(values),
        Found::Documents(rows) => rows
            .into_iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect(),
        Found::Refused => json!(["error"]),
    };
    let mut body = json!({"block_info": block_info});
    if let Value::Object(fields) = &mut body {
        fields.insert(name, items);
    }
    Ok(success(StatusCode::OK, body))
}
