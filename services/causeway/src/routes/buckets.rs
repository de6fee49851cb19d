//! `/request` (free buckets) and `/buy` (paid ones).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::extract::address_param;
use super::{logical_error, success};
use crate::AppState;
use crate::domain::Registration;
use crate::error::Error;
use crate::ops::buckets;

#[derive(Debug, Deserialize)]
pub struct BucketParams {
    owner: Option<String>,
    delegate: Option<String>,
    contact: Option<String>,
}

impl BucketParams {
    /// The owner, its delegate (the owner itself when none is given) and contact.
    fn registration(&self) -> Result<Registration, Error> {
        let owner = address_param(&self.owner, "owner", None)?;
        let delegate = match self.delegate.as_deref() {
            Some(d) if !d.is_empty() => Some(address_param(
                &self.delegate,
                "delegate",
                Some(owner.network()),
            )?),
            _ => None,
        };
        Registration::new(owner, delegate, self.contact.clone().unwrap_or_default())
    }
}

pub async fn request(
    state: web::Data<AppState>,
    params: web::Query<BucketParams>,
) -> Result<HttpResponse, Error> {
    let request = buckets::request(&state, params.registration()?).await?;
    let fields = json!({"buckets": request.buckets});
    Ok(if request.granted {
        success(StatusCode::OK, fields)
    } else {
        logical_error("Maximum free buckets granted", fields)
    })
}

pub async fn buy(
    state: web::Data<AppState>,
    params: web::Query<BucketParams>,
) -> Result<HttpResponse, Error> {
    let purchase = buckets::buy(&state, params.registration()?).await?;
    let price = purchase.price;
    let mut body = json!({
        "address": purchase.address,
        "price": price.to_btc_string(),
        "price_sats": price.0,
        "bought": purchase.bought,
        "balance_sats": purchase.balance,
        "buckets": purchase.buckets,
    });
    if let (Some(fields), Some(address), Some(due)) =
        (body.as_object_mut(), &purchase.address, purchase.due)
    {
        let message = format!(
            "Pay {} BTC to {address}, then call /buy again",
            due.to_btc_string()
        );
        fields.insert("message".to_owned(), message.into());
        fields.insert("due_sats".to_owned(), due.0.into());
    }
    Ok(success(StatusCode::OK, body))
}
