//! `/address` (a deposit address, signed) and `/balance` (received minus spent, signed).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{address_param, require, success};
use crate::AppState;
use crate::db::{accounts, buckets, owners};
use crate::domain::signed::{self, address_message, balance_message};
use crate::domain::{Nonce, Sats};
use crate::error::ApiError;
use crate::payments;

#[derive(Debug, Deserialize)]
pub struct AccountParams {
    /// The signer: the owner or its delegate.
    address: Option<String>,
    /// The owner acted for; `address` when absent.
    owner: Option<String>,
    contact: Option<String>,
    nonce: Option<String>,
    signature: Option<String>,
}

/// `address`, `contact`, `signature` over `contact + "," + address`.
pub async fn address(
    state: web::Data<AppState>,
    params: web::Query<AccountParams>,
) -> Result<HttpResponse, ApiError> {
    let signer = address_param(&params.address, "address", None)?;
    let owner = match &params.owner {
        Some(_) => address_param(&params.owner, "owner", Some(signer.network()))?,
        None => signer,
    };
    let contact = params.contact.clone().unwrap_or_default();
    let signature = require(&params.signature, "signature")?.to_owned();
    let message = address_message(&contact, &signer);
    let who = owner.to_string();
    signed::verify(&signer, &signature, &message, ApiError::InvalidSignature)?;
    state
        .db
        .run(move |conn| {
            owners::find(conn, &who)?
                .ok_or(ApiError::UserNotFound)?
                .authorise(&signer)
        })
        .await?;
    let owner = owner.to_string();
    let deposit = payments::deposit_address(&state, &owner).await?;
    Ok(success(
        StatusCode::OK,
        json!({"address": deposit, "owner": owner, "price": state.price().to_btc_string()}),
    ))
}

/// `address`, `nonce`, `signature` over `"balance," + owner + "," + nonce`.
pub async fn balance(
    state: web::Data<AppState>,
    params: web::Query<AccountParams>,
) -> Result<HttpResponse, ApiError> {
    let signer = address_param(&params.address, "address", None)?;
    let owner = match &params.owner {
        Some(_) => address_param(&params.owner, "owner", Some(signer.network()))?,
        None => signer,
    };
    let nonce = Nonce::parse(params.nonce.as_deref().unwrap_or_default())?;
    let signature = require(&params.signature, "signature")?.to_owned();
    let message = balance_message(&owner, &nonce);
    let clock = state.clock();
    signed::verify(&signer, &signature, &message, ApiError::InvalidSignature)?;
    state
        .db
        .run(move |conn| accounts::authorise_read(conn, &owner, &signer, &nonce, clock))
        .await?;
    let owner = owner.to_string();
    let (received, addresses) = payments::received(&state, &owner).await?;
    let who = owner.clone();
    let spent = state.query(move |conn| buckets::spent(conn, &who)).await?;
    let balance = received - spent;
    Ok(success(
        StatusCode::OK,
        json!({
            "owner": owner,
            "received_sats": received,
            "spent_sats": spent,
            "balance_sats": balance,
            "balance": Sats(u64::try_from(balance).unwrap_or(0)).to_btc_string(),
            "addresses": addresses,
        }),
    ))
}
