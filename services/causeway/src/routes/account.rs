//! `/address` (a deposit address, signed) and `/balance` (received minus spent, signed).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use service_kit::bitcoin::BitcoinAddress;

use super::extract::{address_param, require};
use super::success;
use crate::AppState;
use crate::domain::{Nonce, Sats};
use crate::error::Error;
use crate::ops::accounts::{self, AddressRequest, BalanceRequest};

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

impl AccountParams {
    /// The signer, and the owner it acts for (on the signer's network).
    fn parties(&self) -> Result<(BitcoinAddress, BitcoinAddress), Error> {
        let signer = address_param(&self.address, "address", None)?;
        let owner = match &self.owner {
            Some(_) => address_param(&self.owner, "owner", Some(signer.network()))?,
            None => signer,
        };
        Ok((signer, owner))
    }
}

/// `address`, `contact`, `signature` over `contact + "," + address`.
pub async fn address(
    state: web::Data<AppState>,
    params: web::Query<AccountParams>,
) -> Result<HttpResponse, Error> {
    let (signer, owner) = params.parties()?;
    let request = AddressRequest {
        signer,
        owner,
        contact: params.contact.clone().unwrap_or_default(),
        signature: require(&params.signature, "signature")?.to_owned(),
    };
    let deposit = accounts::address(&state, request).await?;
    Ok(success(
        StatusCode::OK,
        json!({"address": deposit, "owner": owner.to_string(),
               "price": state.price().to_btc_string()}),
    ))
}

/// `address`, `nonce`, `signature` over `"balance," + owner + "," + nonce`.
pub async fn balance(
    state: web::Data<AppState>,
    params: web::Query<AccountParams>,
) -> Result<HttpResponse, Error> {
    let (signer, owner) = params.parties()?;
    let request = BalanceRequest {
        signer,
        owner,
        nonce: Nonce::parse(params.nonce.as_deref().unwrap_or_default())?,
        signature: require(&params.signature, "signature")?.to_owned(),
    };
    let found = accounts::balance(&state, request).await?;
    let balance = found.received - found.spent;
    Ok(success(
        StatusCode::OK,
        json!({
            "owner": found.owner,
            "received_sats": found.received,
            "spent_sats": found.spent,
            "balance_sats": balance,
            // Spent beyond what was received (bought while buckets were free) shows as 0.
            "balance": Sats(balance.max(0).unsigned_abs()).to_btc_string(),
            "addresses": found.addresses,
        }),
    ))
}
