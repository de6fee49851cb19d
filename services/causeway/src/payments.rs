//! Deposits through Bitcoin Core: per-owner addresses from `getnewaddress`, balances from
//! `getreceivedbyaddress`.

use ledger_client::LedgerError;
use ledger_client::bitcoin_rpc::BitcoinRpc;

use crate::AppState;
use crate::db::deposits;
use crate::domain::time::now;
use crate::error::Error;

fn ledger(state: &AppState) -> Result<&BitcoinRpc, Error> {
    state.ledger.as_ref().ok_or(Error::NoLedger)
}

/// The owner's latest deposit address while nothing was paid to it, else a new one (so
/// addresses are not reused once they appear on the chain).
pub async fn deposit_address(state: &AppState, owner: &str) -> Result<String, Error> {
    let rpc = ledger(state)?;
    let who = owner.to_owned();
    let known = state.query(move |conn| deposits::list(conn, &who)).await?;
    if let Some(latest) = known.last() {
        match rpc.getreceivedbyaddress_sats(latest, 0).await {
            Ok(0) => return Ok(latest.clone()),
            Ok(_) | Err(LedgerError::NotFound) => {}
            Err(err) => return Err(Error::Ledger(err)),
        }
    }
    let fresh = rpc.getnewaddress().await.map_err(Error::Ledger)?;
    let (who, address) = (owner.to_owned(), fresh.clone());
    state
        .db
        .write(move |conn| Ok::<_, Error>(deposits::insert(conn, &who, &address, now())?))
        .await?;
    Ok(fresh)
}

/// Satoshis received on all the owner's deposit addresses with the configured
/// confirmations, and those addresses. Without a ledger nothing can have been received.
pub async fn received(state: &AppState, owner: &str) -> Result<(i64, Vec<String>), Error> {
    let who = owner.to_owned();
    let addresses = state.query(move |conn| deposits::list(conn, &who)).await?;
    let Some(rpc) = state.ledger.as_ref() else {
        return Ok((0, addresses));
    };
    let mut total: i64 = 0;
    for address in &addresses {
        match rpc
            .getreceivedbyaddress_sats(address, state.settings.min_confirmations)
            .await
        {
            Ok(sats) => total = total.saturating_add(sats),
            Err(LedgerError::NotFound) => {
                log::warn!("deposit address {address} of {owner} is not in the node's wallet");
            }
            Err(err) => return Err(Error::Ledger(err)),
        }
    }
    Ok((total, addresses))
}
