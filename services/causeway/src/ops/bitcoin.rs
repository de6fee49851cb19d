//! `/bitcoin`: the block lookups and broadcast python-rein asks its servers for.

use ledger_client::LedgerError;
use ledger_client::bitcoin_rpc::BitcoinRpc;
use service_kit::bitcoin::BitcoinAddress;

use crate::AppState;
use crate::db::buckets;
use crate::error::Error;

/// What is asked of the ledger.
pub enum Lookup {
    /// The block this many below the tip.
    ByDepth(u64),
    /// The block at a height, echoed as given.
    ByHeight {
        height: u64,
        echo: String,
    },
    ByHash(String),
    /// Broadcast a raw transaction.
    Send(String),
}

/// A `/bitcoin` request as parsed; what could not be parsed is reported only when the
/// original reached it (after the ledger and the account were checked).
pub struct Request {
    pub owner: Result<BitcoinAddress, Error>,
    pub lookup: Result<Lookup, Error>,
}

/// A block's height as the answer gives it.
pub enum Height {
    Number(u64),
    /// As the request gave it.
    Text(String),
}

pub enum Answer {
    NoLedger,
    NoAccount,
    Block {
        height: Height,
        hash: String,
        time: u64,
    },
    /// The broadcast transaction's id, `None` when the ledger refused it.
    Sent(Option<String>),
    /// The ledger knows no such block.
    NotFound,
}

pub async fn bitcoin(state: &AppState, request: Request) -> Result<Answer, Error> {
    let Some(rpc) = state.ledger.clone() else {
        return Ok(Answer::NoLedger);
    };
    let owner = request.owner?.to_string();
    if state
        .query(move |conn| buckets::count(conn, &owner))
        .await?
        == 0
    {
        return Ok(Answer::NoAccount);
    }
    let found = match request.lookup? {
        Lookup::ByDepth(depth) => {
            let tip = rpc.getblockcount().await.map_err(Error::Ledger)?;
            match tip.checked_sub(depth) {
                Some(height) => by_height(&rpc, height, Height::Number(height)).await?,
                None => None,
            }
        }
        Lookup::ByHeight { height, echo } => by_height(&rpc, height, Height::Text(echo)).await?,
        Lookup::ByHash(hash) => {
            lookup(rpc.getblockheader(&hash).await)?.map(|header| Answer::Block {
                height: Height::Number(header.height),
                hash: header.hash,
                time: header.time,
            })
        }
        Lookup::Send(tx) => return Ok(Answer::Sent(lookup(rpc.sendrawtransaction(&tx).await)?)),
    };
    Ok(found.unwrap_or(Answer::NotFound))
}

async fn by_height(rpc: &BitcoinRpc, height: u64, echo: Height) -> Result<Option<Answer>, Error> {
    let Some(hash) = lookup(rpc.getblockhash(height).await)? else {
        return Ok(None);
    };
    Ok(
        lookup(rpc.getblockheader(&hash).await)?.map(|header| Answer::Block {
            height: echo,
            hash,
            time: header.time,
        }),
    )
}

/// The ledger's "no" (unknown block, rejected transaction) is an answer; an unreachable
/// ledger is an error.
fn lookup<T>(result: Result<T, LedgerError>) -> Result<Option<T>, Error> {
    match result {
        Ok(value) => Ok(Some(value)),
        Err(LedgerError::NotFound | LedgerError::Refused(_)) => Ok(None),
        Err(err) => Err(Error::Ledger(err)),
    }
}
