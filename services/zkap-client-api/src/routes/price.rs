//! `POST calculate-price`.

use actix_web::{HttpResponse, web};
use serde_json::json;

use super::extract::{Body, Sizes};
use crate::app::AppState;
use crate::error::Error;
use crate::ops::pricing;

pub async fn calculate(
    state: web::Data<AppState>,
    Body(Sizes(sizes)): Body<Sizes>,
) -> Result<HttpResponse, Error> {
    let price = pricing::price(&state, &sizes)?;
    Ok(HttpResponse::Ok().json(json!({ "price": price.passes, "period": price.period })))
}
