//! `/address` and `/balance`: an owner's deposits, asked for by a signed request of the owner
//! or its delegate.

use service_kit::bitcoin::BitcoinAddress;

use crate::AppState;
use crate::db::{buckets, nonces, owners};
use crate::domain::Nonce;
use crate::domain::signed::{address_message, balance_message, verify};
use crate::error::Error;
use crate::payments;

/// `/address`, as signed: `signature` over `contact + "," + signer`.
pub struct AddressRequest {
    pub signer: BitcoinAddress,
    pub owner: BitcoinAddress,
    pub contact: String,
    pub signature: String,
}

/// The owner's deposit address (see [`payments::deposit_address`]).
pub async fn address(state: &AppState, request: AddressRequest) -> Result<String, Error> {
    let AddressRequest {
        signer,
        owner,
        contact,
        signature,
    } = request;
    let message = address_message(&contact, &signer);
    verify(&signer, &signature, &message, Error::InvalidSignature)?;
    let who = owner.to_string();
    state
        .db
        .run(move |conn| {
            owners::find(conn, &who)?
                .ok_or(Error::UserNotFound)?
                .authorise(&signer)
        })
        .await?;
    payments::deposit_address(state, &owner.to_string()).await
}

/// `/balance`, as signed: `signature` over `"balance," + owner + "," + nonce`.
pub struct BalanceRequest {
    pub signer: BitcoinAddress,
    pub owner: BitcoinAddress,
    pub nonce: Nonce,
    pub signature: String,
}

/// What `/balance` reports.
pub struct Balance {
    pub owner: String,
    /// Satoshis paid to the owner's deposit addresses.
    pub received: i64,
    /// Satoshis spent on bought buckets.
    pub spent: i64,
    pub addresses: Vec<String>,
}

/// Checks the signed read (the owner exists, the signer may act for it, the nonce is live;
/// reads are not remembered: replaying one reveals nothing new), then adds up the deposits.
pub async fn balance(state: &AppState, request: BalanceRequest) -> Result<Balance, Error> {
    let BalanceRequest {
        signer,
        owner,
        nonce,
        signature,
    } = request;
    let message = balance_message(&owner, &nonce);
    let clock = state.clock();
    verify(&signer, &signature, &message, Error::InvalidSignature)?;
    let owner = owner.to_string();
    let who = owner.clone();
    state
        .db
        .run(move |conn| {
            let owner = owners::find(conn, &who)?.ok_or(Error::UserNotFound)?;
            owner.authorise(&signer)?;
            nonce.check(nonces::current(conn, &owner.address)?, clock)
        })
        .await?;
    let (received, addresses) = payments::received(state, &owner).await?;
    let who = owner.clone();
    let spent = state.query(move |conn| buckets::spent(conn, &who)).await?;
    Ok(Balance {
        owner,
        received,
        spent,
        addresses,
    })
}
