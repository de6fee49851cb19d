//! Client for Bitcoin Core's JSON-RPC interface (the legacy 1.0 dialect: RPC errors come back
//! with HTTP 500/404 and a JSON body).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::LedgerError;

/// Bitcoin Core's RPC error codes (`src/rpc/protocol.h`) this client tells apart.
pub mod codes {
    pub const WALLET_ERROR: i64 = -4;
    pub const INVALID_ADDRESS_OR_KEY: i64 = -5;
    pub const INVALID_PARAMETER: i64 = -8;
    pub const DESERIALIZATION_ERROR: i64 = -22;
    pub const VERIFY_REJECTED: i64 = -26;
    pub const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const PARSE_ERROR: i64 = -32700;
}

/// 21 million BTC in satoshis; no valid amount exceeds it.
pub const MAX_MONEY_SATS: i64 = 21_000_000 * 100_000_000;

/// Verbose `getblockheader` result.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockHeader {
    pub hash: String,
    /// -1 for a block that is not on the active chain.
    pub confirmations: i64,
    pub height: u64,
    pub version: i64,
    pub merkleroot: String,
    pub time: u64,
    pub mediantime: u64,
    pub nonce: u64,
    pub bits: String,
    pub difficulty: f64,
    pub chainwork: String,
    #[serde(rename = "nTx")]
    pub n_tx: u64,
    pub previousblockhash: Option<String>,
    pub nextblockhash: Option<String>,
}

/// The parts of `getblockchaininfo` a service checks (network and sync state).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockchainInfo {
    /// "main", "test", "testnet4", "signet" or "regtest".
    pub chain: String,
    pub blocks: u64,
    pub headers: u64,
    pub bestblockhash: String,
    #[serde(default)]
    pub initialblockdownload: bool,
}

/// Converts a BTC amount as Core prints it (8 decimals, parsed as f64) to satoshis. Exact for
/// every valid amount: f64 carries 15+ significant digits and MAX_MONEY needs 16 with a
/// rounding error far below half a satoshi.
pub fn btc_to_sats(btc: f64) -> Result<i64, LedgerError> {
    let sats = (btc * 100_000_000.0).round();
    if !sats.is_finite() || sats.abs() > MAX_MONEY_SATS as f64 {
        return Err(LedgerError::Protocol(format!("amount {btc} out of range")));
    }
    Ok(sats as i64)
}

/// The inverse of [`btc_to_sats`], for passing amounts to Core.
pub fn sats_to_btc(sats: i64) -> f64 {
    sats as f64 / 100_000_000.0
}

/// A Bitcoin Core node (or wallet endpoint such as `http://host:8332/wallet/name`).
#[derive(Clone)]
pub struct BitcoinRpc {
    client: reqwest::Client,
    url: url::Url,
    user: String,
    password: String,
    next_id: Arc<AtomicU64>,
}

impl std::fmt::Debug for BitcoinRpc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BitcoinRpc")
            .field("url", &self.url.as_str())
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// An RPC answered with an error object, kept apart so each method can decide what it means.
enum CallError {
    Rpc { code: i64, message: String },
    Other(LedgerError),
}

impl CallError {
    /// `not_found` lists the codes that mean "no such object" for this method.
    fn into_ledger(self, not_found: &[i64]) -> LedgerError {
        match self {
            CallError::Rpc { code, .. } if not_found.contains(&code) => LedgerError::NotFound,
            CallError::Rpc { code, message } => LedgerError::Refused(format!("{code}: {message}")),
            CallError::Other(err) => err,
        }
    }
}

impl BitcoinRpc {
    /// Credentials in the URL (`http://user:pass@host:port/`, as rein's rpc.py writes it) are
    /// used when `user` is empty, and never sent as part of the URL.
    pub fn new(
        client: reqwest::Client,
        url: &str,
        user: &str,
        password: &str,
    ) -> Result<Self, LedgerError> {
        let mut parsed = url::Url::parse(url)
            .map_err(|e| LedgerError::Protocol(format!("invalid Bitcoin Core URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LedgerError::Protocol(
                "Bitcoin Core URL is not http(s)".to_owned(),
            ));
        }
        let (mut user, mut password) = (user.to_owned(), password.to_owned());
        if user.is_empty() && !parsed.username().is_empty() {
            user = decode(parsed.username());
            password = decode(parsed.password().unwrap_or(""));
        }
        // Both setters only fail for URLs without a host, which http(s) URLs always have.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        Ok(Self {
            client,
            url: parsed,
            user,
            password,
            next_id: Arc::new(AtomicU64::new(1)),
        })
    }

    pub async fn getblockcount(&self) -> Result<u64, LedgerError> {
        self.typed("getblockcount", vec![], &[]).await
    }

    /// `NotFound` when `height` is above the tip.
    pub async fn getblockhash(&self, height: u64) -> Result<String, LedgerError> {
        self.typed(
            "getblockhash",
            vec![json!(height)],
            &[codes::INVALID_PARAMETER],
        )
        .await
    }

    /// `NotFound` for an unknown block; a malformed hash is `Refused`.
    pub async fn getblockheader(&self, hash: &str) -> Result<BlockHeader, LedgerError> {
        self.typed(
            "getblockheader",
            vec![json!(hash), json!(true)],
            &[codes::INVALID_ADDRESS_OR_KEY],
        )
        .await
    }

    pub async fn getblockchaininfo(&self) -> Result<BlockchainInfo, LedgerError> {
        self.typed("getblockchaininfo", vec![], &[]).await
    }

    pub async fn getnewaddress(&self) -> Result<String, LedgerError> {
        self.typed("getnewaddress", vec![], &[]).await
    }

    /// BTC received by a wallet address in transactions with at least `minconf` confirmations.
    /// `NotFound` when the address is not the wallet's; an invalid address is `Refused`.
    pub async fn getreceivedbyaddress(
        &self,
        address: &str,
        minconf: u32,
    ) -> Result<f64, LedgerError> {
        self.typed(
            "getreceivedbyaddress",
            vec![json!(address), json!(minconf)],
            &[codes::WALLET_ERROR],
        )
        .await
    }

    /// [`Self::getreceivedbyaddress`] in satoshis, for exact comparisons with a price.
    pub async fn getreceivedbyaddress_sats(
        &self,
        address: &str,
        minconf: u32,
    ) -> Result<i64, LedgerError> {
        btc_to_sats(self.getreceivedbyaddress(address, minconf).await?)
    }

    /// Broadcasts a raw transaction and returns its txid. Rejections (-22 decode, -25/-26
    /// verification, -27 already in chain) are `Refused`.
    pub async fn sendrawtransaction(&self, hex: &str) -> Result<String, LedgerError> {
        self.typed("sendrawtransaction", vec![json!(hex)], &[])
            .await
    }

    /// Any other RPC; every RPC error is `Refused("<code>: <message>")`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
    ) -> Result<T, LedgerError> {
        self.typed(method, params, &[]).await
    }

    async fn typed<T: DeserializeOwned>(
        &self,
        method: &str,
        params: Vec<Value>,
        not_found: &[i64],
    ) -> Result<T, LedgerError> {
        let result = self
            .raw_call(method, params)
            .await
            .map_err(|e| e.into_ledger(not_found))?;
        serde_json::from_value(result)
            .map_err(|e| LedgerError::Protocol(format!("bad {method} result: {e}")))
    }

    async fn raw_call(&self, method: &str, params: Vec<Value>) -> Result<Value, CallError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params});
        let request = self
            .client
            .post(self.url.clone())
            .basic_auth(&self.user, Some(&self.password))
            .json(&request);
        let response = crate::request_id::tag(request)
            .send()
            .await
            .map_err(|e| CallError::Other(LedgerError::from_transport(e)))?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            return Err(CallError::Other(LedgerError::Refused(
                "authentication failed".to_owned(),
            )));
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| CallError::Other(LedgerError::from_transport(e)))?;
        parse_response(status, &body, id)
    }
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    result: Value,
    #[serde(default)]
    error: Option<RpcErrorObject>,
    #[serde(default)]
    id: Value,
}

#[derive(Deserialize)]
struct RpcErrorObject {
    code: i64,
    #[serde(default)]
    message: String,
}

fn parse_response(status: reqwest::StatusCode, body: &[u8], id: u64) -> Result<Value, CallError> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        // Not JSON-RPC at all: a proxy's error page, a 403 from rpcallowip, or garbage.
        Err(e) if status.is_success() => {
            return Err(CallError::Other(LedgerError::Protocol(format!(
                "response is not JSON-RPC: {e}"
            ))));
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text: String = text.trim().chars().take(200).collect();
            return Err(CallError::Other(LedgerError::Refused(format!(
                "{} {text}",
                status.as_u16()
            ))));
        }
    };
    if let Some(error) = envelope.error {
        return Err(CallError::Rpc {
            code: error.code,
            message: error.message,
        });
    }
    if envelope.id != json!(id) {
        return Err(CallError::Other(LedgerError::Protocol(format!(
            "response id {} does not match request id {id}",
            envelope.id
        ))));
    }
    if !status.is_success() {
        return Err(CallError::Other(LedgerError::Protocol(format!(
            "HTTP {status} without an RPC error"
        ))));
    }
    Ok(envelope.result)
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}
