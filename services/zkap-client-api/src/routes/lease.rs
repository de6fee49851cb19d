//! `GET lease-maintenance` (spendable tokens and the latest run) and `POST lease-maintenance`
//! (a finished run).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::{AppState, json_object};
use crate::db::{lease, tokens};
use crate::domain::time::{self, iso};
use crate::error::ApiError;

fn spending_json(spending: Option<lease::Spending>) -> Value {
    spending.map_or(
        Value::Null,
        |s| json!({ "when": iso(s.when), "count": s.count }),
    )
}

/// Both field sets: `total`/`spending` (the code, GridSync) and `spendable`/
/// `lease-maintenance-spending` (the documentation).
pub async fn get(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let (spendable, latest) = state
        .db
        .run(|conn| Ok::<_, ApiError>((tokens::spendable_count(conn)?, lease::latest(conn)?)))
        .await?;
    let spending = spending_json(latest);
    Ok(HttpResponse::Ok().json(json!({
        "total": spendable,
        "spending": spending,
        "spendable": spendable,
        "lease-maintenance-spending": spending,
    })))
}

/// `{"count": n}`: a run finished now, needing `n` passes.
pub async fn post(state: web::Data<AppState>, body: web::Bytes) -> Result<HttpResponse, ApiError> {
    const USAGE: &str = "request body must be a JSON object {\"count\": <integer >= 0>}";
    let object = json_object(&body, USAGE, USAGE)?;
    let count = match (object.len(), object.get("count").and_then(Value::as_u64)) {
        (1, Some(count)) => i64::try_from(count).map_err(|_| ApiError::bad_request(USAGE))?,
        _ => return Err(ApiError::bad_request(USAGE)),
    };
    let spending = lease::Spending {
        when: time::now(),
        count,
    };
    state
        .db
        .run(move |conn| lease::record(conn, spending))
        .await?;
    Ok(HttpResponse::Ok().json(spending_json(Some(spending))))
}
