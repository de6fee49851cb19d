//! `/request` (free buckets) and `/buy` (paid ones).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{address_param, logical_error, success};
use crate::AppState;
use crate::db::{accounts, owners};
use crate::domain::Sats;
use crate::domain::bucket::{Bucket, BucketView};
use crate::error::ApiError;
use crate::payments;

const MAX_CONTACT_CHARS: usize = 256;

#[derive(Debug, Deserialize)]
pub struct BucketParams {
    owner: Option<String>,
    delegate: Option<String>,
    contact: Option<String>,
}

/// The owner, registered with its delegate (the owner itself when none is given) if new.
async fn register(state: &AppState, params: &BucketParams) -> Result<String, ApiError> {
    let owner = address_param(&params.owner, "owner", None)?;
    let delegate = match params.delegate.as_deref() {
        Some(d) if !d.is_empty() => {
            address_param(&params.delegate, "delegate", Some(owner.network()))?
        }
        _ => owner,
    };
    let contact = params.contact.clone().unwrap_or_default();
    if contact.chars().count() > MAX_CONTACT_CHARS {
        return Err(ApiError::invalid(
            "contact",
            format!("longer than {MAX_CONTACT_CHARS} characters"),
        ));
    }
    let (owner, delegate) = (owner.to_string(), delegate.to_string());
    let now = state.clock().now;
    let registered = owner.clone();
    state
        .write(move |conn| Ok(owners::ensure(conn, &owner, &delegate, &contact, now)?))
        .await?;
    Ok(registered)
}

fn views(buckets: &[Bucket], now: i64) -> Vec<BucketView> {
    buckets.iter().map(|b| b.view(now)).collect()
}

pub async fn request(
    state: web::Data<AppState>,
    params: web::Query<BucketParams>,
) -> Result<HttpResponse, ApiError> {
    let owner = register(&state, &params).await?;
    let (limit, terms, now) = (
        state.settings.free_buckets,
        state.terms(),
        state.clock().now,
    );
    let (granted, buckets) = state
        .write(move |conn| accounts::request_free(conn, &owner, limit, terms, now))
        .await?;
    let buckets = views(&buckets, now);
    Ok(if granted {
        success(StatusCode::OK, json!({"buckets": buckets}))
    } else {
        logical_error("Maximum free buckets granted", json!({"buckets": buckets}))
    })
}

pub async fn buy(
    state: web::Data<AppState>,
    params: web::Query<BucketParams>,
) -> Result<HttpResponse, ApiError> {
    let owner = register(&state, &params).await?;
    let price = state.price();
    let (received, address) = if price.0 == 0 {
        (0, None)
    } else {
        let address = payments::deposit_address(&state, &owner).await?;
        (payments::received(&state, &owner).await?.0, Some(address))
    };
    let (terms, now) = (state.terms(), state.clock().now);
    let who = owner.clone();
    let purchase = state
        .write(move |conn| accounts::buy(conn, &who, price, received, terms, now))
        .await?;
    let mut body = json!({
        "address": address,
        "price": price.to_btc_string(),
        "price_sats": price.0,
        "bought": purchase.bought,
        "balance_sats": purchase.balance,
        "buckets": views(&purchase.buckets, now),
    });
    if !purchase.bought
        && let (Some(fields), Some(address)) = (body.as_object_mut(), &address)
    {
        let due = Sats(u64::try_from(price.as_i64() - purchase.balance).unwrap_or(0));
        let message = format!(
            "Pay {} BTC to {address}, then call /buy again",
            due.to_btc_string()
        );
        fields.insert("message".to_owned(), message.into());
        fields.insert("due_sats".to_owned(), due.0.into());
    }
    Ok(success(StatusCode::OK, body))
}
