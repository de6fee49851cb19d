//! `GET lease-maintenance` (spendable tokens and the latest run) and `POST lease-maintenance`
//! (a finished run).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::extract::{Body, LeaseCount};
use crate::app::AppState;
use crate::domain::lease::Spending;
use crate::domain::time::iso;
use crate::error::Error;
use crate::ops::lease;

fn spending_json(spending: Option<Spending>) -> Value {
    spending.map_or(
        Value::Null,
        |s| json!({ "when": iso(s.when), "count": s.count }),
    )
}

/// Both field sets: `total`/`spending` (the code, GridSync) and `spendable`/
/// `lease-maintenance-spending` (the documentation).
pub async fn get(state: web::Data<AppState>) -> Result<HttpResponse, Error> {
    let (spendable, latest) = lease::status(&state).await?;
    let spending = spending_json(latest);
    Ok(HttpResponse::Ok().json(json!({
        "total": spendable,
        "spending": spending,
        "spendable": spendable,
        "lease-maintenance-spending": spending,
    })))
}

/// `{"count": n}`: a run finished now, needing `n` passes.
pub async fn post(
    state: web::Data<AppState>,
    Body(LeaseCount(count)): Body<LeaseCount>,
) -> Result<HttpResponse, Error> {
    let spending = lease::record(&state, count).await?;
    Ok(HttpResponse::Ok().json(spending_json(Some(spending))))
}
