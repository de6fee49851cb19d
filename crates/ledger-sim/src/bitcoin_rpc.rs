//! A Bitcoin Core stand-in speaking the legacy JSON-RPC 1.0 dialect (RPC errors with HTTP 500,
//! unknown methods with 404, bad credentials with an empty 401) over a toy chain and an
//! unlimited wallet. Payments are recorded as (address, amount) and confirm in the next block;
//! raw transactions are only hashed, never parsed, and coinbase rewards are never credited.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::Running;

const MAX_MONEY_SATS: i64 = 21_000_000 * 100_000_000;

#[derive(Debug, Clone)]
pub struct BitcoinSimConfig {
    pub user: String,
    pub password: String,
    /// Testnet addresses (version 0x6f) and chain "test" instead of 0x00 and "main".
    pub testnet: bool,
}

#[derive(Debug)]
pub struct BitcoinSim {
    running: Running,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    config: BitcoinSimConfig,
    chain: Mutex<Chain>,
    delay: Mutex<Duration>,
}

impl BitcoinSim {
    pub fn start(bind: &str, config: BitcoinSimConfig) -> std::io::Result<Self> {
        let state = Arc::new(State {
            chain: Mutex::new(Chain::new()),
            config,
            delay: Mutex::new(Duration::ZERO),
        });
        let data = web::Data::from(state.clone());
        let running = Running::start(bind, move |cfg| {
            cfg.app_data(data.clone())
                .app_data(web::PayloadConfig::new(4 * 1024 * 1024))
                .route("/", web::post().to(rpc))
                .route("/wallet/{name}", web::post().to(rpc))
                .route("/", web::get().to(only_post));
        })?;
        Ok(Self { running, state })
    }

    pub fn url(&self) -> String {
        self.running.url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running.addr()
    }

    pub async fn stop(&self) {
        self.running.stop().await;
    }

    /// Mines `n` blocks, confirming everything pending; returns their hashes.
    pub fn mine(&self, n: u64) -> Vec<String> {
        self.state.chain().mine(n)
    }

    /// Pays `sats` to `address` (not validated) in a transaction confirmed by the next block;
    /// returns its txid.
    pub fn pay(&self, address: &str, sats: i64) -> String {
        self.state.chain().pay(address, sats)
    }

    /// Height of the tip; 0 while only the genesis block exists.
    pub fn height(&self) -> u64 {
        self.state.chain().height()
    }

    /// A fresh wallet address, as `getnewaddress` gives.
    pub fn new_address(&self) -> String {
        let version = self.state.address_versions()[0];
        self.state.chain().new_address(version)
    }

    /// Delays every RPC answer, like a busy node.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap_or_else(|e| e.into_inner()) = delay;
    }
}

impl State {
    fn chain(&self) -> std::sync::MutexGuard<'_, Chain> {
        self.chain.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// P2PKH first, then P2SH.
    fn address_versions(&self) -> [u8; 2] {
        if self.config.testnet {
            [0x6f, 0xc4]
        } else {
            [0x00, 0x05]
        }
    }

    fn valid_address(&self, address: &str) -> bool {
        match bs58::decode(address).with_check(None).into_vec() {
            Ok(bytes) => bytes.len() == 21 && self.address_versions().contains(&bytes[0]),
            Err(_) => false,
        }
    }

    fn authorized(&self, req: &HttpRequest) -> bool {
        let Some(header) = req
            .headers()
            .get(actix_web::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(encoded) = header.strip_prefix("Basic ") else {
            return false;
        };
        let expected = format!("{}:{}", self.config.user, self.config.password);
        base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .is_ok_and(|decoded| decoded == expected.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// The chain and the wallet.

#[derive(Debug)]
struct Chain {
    blocks: Vec<Block>,
    mempool: Vec<Tx>,
    wallet: HashSet<String>,
    confirmed: HashSet<String>,
}

#[derive(Debug)]
struct Block {
    hash: String,
    height: u64,
    time: u64,
    nonce: u32,
    merkleroot: String,
    txs: Vec<Tx>,
}

#[derive(Debug, Clone)]
struct Tx {
    txid: String,
    payment: Option<(String, i64)>,
}

impl Chain {
    fn new() -> Self {
        let mut chain = Self {
            blocks: Vec::new(),
            mempool: Vec::new(),
            wallet: HashSet::new(),
            confirmed: HashSet::new(),
        };
        chain.mine(1);
        chain
    }

    fn height(&self) -> u64 {
        self.blocks.len().saturating_sub(1) as u64
    }

    fn tip(&self) -> Option<&Block> {
        self.blocks.last()
    }

    fn mine(&mut self, n: u64) -> Vec<String> {
        (0..n).map(|_| self.mine_one()).collect()
    }

    fn mine_one(&mut self) -> String {
        let height = self.blocks.len() as u64;
        let (prev, prev_time) = match self.tip() {
            Some(tip) => (txid_bytes(&tip.hash), tip.time),
            None => ([0; 32], 0),
        };
        let coinbase = Tx {
            txid: txid(&[b"coinbase".as_slice(), &height.to_le_bytes()].concat()),
            payment: None,
        };
        let mut txs = vec![coinbase];
        txs.append(&mut self.mempool);
        let leaves: Vec<u8> = txs.iter().flat_map(|tx| txid_bytes(&tx.txid)).collect();
        let merkleroot = if txs.len() == 1 {
            txs[0].txid.clone()
        } else {
            txid(&leaves)
        };
        let time = unix_now().max(prev_time + 1);
        let nonce: u32 = rand::random();
        let header = [
            &height.to_le_bytes()[..],
            &prev,
            &txid_bytes(&merkleroot),
            &time.to_le_bytes(),
            &nonce.to_le_bytes(),
        ]
        .concat();
        let hash = txid(&header);
        self.confirmed.extend(txs.iter().map(|tx| tx.txid.clone()));
        self.blocks.push(Block {
            hash: hash.clone(),
            height,
            time,
            nonce,
            merkleroot,
            txs,
        });
        hash
    }

    fn pay(&mut self, address: &str, sats: i64) -> String {
        let nonce: [u8; 32] = rand::random();
        let id = txid(&[address.as_bytes(), &sats.to_le_bytes(), &nonce].concat());
        self.mempool.push(Tx {
            txid: id.clone(),
            payment: Some((address.to_owned(), sats)),
        });
        id
    }

    fn new_address(&mut self, version: u8) -> String {
        let hash: [u8; 20] = rand::random();
        let address = bs58::encode([&[version][..], &hash].concat())
            .with_check()
            .into_string();
        self.wallet.insert(address.clone());
        address
    }

    fn received(&self, address: &str, minconf: i64) -> i64 {
        let tip = self.height();
        let confirmed = self
            .blocks
            .iter()
            .filter(|block| (tip - block.height + 1) as i64 >= minconf)
            .flat_map(|block| &block.txs);
        let pending = self.mempool.iter().filter(|_| minconf <= 0);
        confirmed
            .chain(pending)
            .filter_map(|tx| tx.payment.as_ref())
            .filter(|(to, _)| to == address)
            .map(|(_, sats)| sats)
            .sum()
    }

    fn header_json(&self, block: &Block) -> Value {
        let index = block.height as usize;
        let start = index.saturating_sub(10);
        let mut times: Vec<u64> = self.blocks[start..=index].iter().map(|b| b.time).collect();
        times.sort_unstable();
        json!({
            "hash": block.hash,
            "confirmations": self.height() - block.height + 1,
            "height": block.height,
            "version": 0x2000_0000,
            "versionHex": "20000000",
            "merkleroot": block.merkleroot,
            "time": block.time,
            "mediantime": times[times.len() / 2],
            "nonce": block.nonce,
            "bits": "1d00ffff",
            "difficulty": 1.0,
            "chainwork": format!("{:064x}", (u128::from(block.height) + 1) * 0x1_0001_0001),
            "nTx": block.txs.len(),
            "previousblockhash": index.checked_sub(1).map(|i| self.blocks[i].hash.clone()),
            "nextblockhash": self.blocks.get(index + 1).map(|b| b.hash.clone()),
        })
    }
}

/// Transaction and block ids: double SHA-256, displayed byte-reversed.
fn txid(bytes: &[u8]) -> String {
    let mut hash: [u8; 32] = Sha256::digest(Sha256::digest(bytes)).into();
    hash.reverse();
    hex::encode(hash)
}

fn txid_bytes(id: &str) -> [u8; 32] {
    let mut bytes = [0; 32];
    let _ = hex::decode_to_slice(id, &mut bytes);
    bytes
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// JSON-RPC.

/// Bitcoin Core's codes (`src/rpc/protocol.h`).
const MISC_ERROR: i64 = -1;
const TYPE_ERROR: i64 = -3;
const WALLET_ERROR: i64 = -4;
const INVALID_ADDRESS_OR_KEY: i64 = -5;
const INVALID_PARAMETER: i64 = -8;
const DESERIALIZATION_ERROR: i64 = -22;
const VERIFY_ALREADY_IN_CHAIN: i64 = -27;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;
const PARSE_ERROR: i64 = -32700;

struct RpcError {
    code: i64,
    message: String,
}

fn err(code: i64, message: impl Into<String>) -> RpcError {
    RpcError {
        code,
        message: message.into(),
    }
}

type RpcResult = Result<Value, RpcError>;

async fn only_post() -> HttpResponse {
    HttpResponse::MethodNotAllowed().body("JSONRPC server handles only POST requests")
}

async fn rpc(state: web::Data<State>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let delay = *state.delay.lock().unwrap_or_else(|e| e.into_inner());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if !state.authorized(&req) {
        return HttpResponse::Unauthorized()
            .insert_header(("WWW-Authenticate", "Basic realm=\"jsonrpc\""))
            .finish();
    }
    let request: Value = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(_) => return reply(Value::Null, Err(err(PARSE_ERROR, "Parse error"))),
    };
    if let Value::Array(batch) = &request {
        let replies: Vec<Value> = batch
            .iter()
            .map(|item| {
                let (id, result) = handle(&state, item);
                envelope(id, result)
            })
            .collect();
        return HttpResponse::Ok().json(replies);
    }
    let (id, result) = handle(&state, &request);
    reply(id, result)
}

fn reply(id: Value, result: RpcResult) -> HttpResponse {
    let status = match &result {
        Ok(_) => StatusCode::OK,
        Err(e) if e.code == METHOD_NOT_FOUND => StatusCode::NOT_FOUND,
        Err(e) if e.code == INVALID_REQUEST => StatusCode::BAD_REQUEST,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    };
    HttpResponse::build(status).json(envelope(id, result))
}

fn envelope(id: Value, result: RpcResult) -> Value {
    match result {
        Ok(result) => json!({"result": result, "error": null, "id": id}),
        Err(e) => json!({
            "result": null,
            "error": {"code": e.code, "message": e.message},
            "id": id,
        }),
    }
}

fn handle(state: &State, request: &Value) -> (Value, RpcResult) {
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = request.get("method").and_then(Value::as_str) else {
        return (id, Err(err(INVALID_REQUEST, "Method must be a string")));
    };
    let params = match request.get("params") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(params)) => params.clone(),
        Some(_) => {
            let e = err(
                INVALID_PARAMETER,
                "the simulator supports positional params only",
            );
            return (id, Err(e));
        }
    };
    (id, dispatch(state, method, &Params(&params)))
}

fn dispatch(state: &State, method: &str, p: &Params) -> RpcResult {
    match method {
        "getblockcount" => {
            p.arity(method, 0, 0)?;
            Ok(json!(state.chain().height()))
        }
        "getbestblockhash" => {
            p.arity(method, 0, 0)?;
            Ok(json!(state.chain().tip().map(|b| b.hash.clone())))
        }
        "getblockhash" => {
            p.arity(method, 1, 1)?;
            let height = p.int(0)?;
            let chain = state.chain();
            usize::try_from(height)
                .ok()
                .and_then(|h| chain.blocks.get(h))
                .map(|block| json!(block.hash))
                .ok_or_else(|| err(INVALID_PARAMETER, "Block height out of range"))
        }
        "getblockheader" => {
            p.arity(method, 1, 2)?;
            let hash = p.str(0)?;
            check_hash(hash)?;
            if !p.bool_or(1, true)? {
                return Err(err(MISC_ERROR, "verbose=false is not simulated"));
            }
            let chain = state.chain();
            chain
                .blocks
                .iter()
                .find(|block| block.hash == hash.to_ascii_lowercase())
                .map(|block| chain.header_json(block))
                .ok_or_else(|| err(INVALID_ADDRESS_OR_KEY, "Block not found"))
        }
        "getblockchaininfo" => {
            p.arity(method, 0, 0)?;
            let chain = state.chain();
            let tip = chain
                .tip()
                .map(|b| chain.header_json(b))
                .unwrap_or(Value::Null);
            Ok(json!({
                "chain": if state.config.testnet { "test" } else { "main" },
                "blocks": chain.height(),
                "headers": chain.height(),
                "bestblockhash": tip["hash"],
                "difficulty": 1.0,
                "time": tip["time"],
                "mediantime": tip["mediantime"],
                "verificationprogress": 1.0,
                "initialblockdownload": false,
                "chainwork": tip["chainwork"],
                "size_on_disk": 0,
                "pruned": false,
                "warnings": "",
            }))
        }
        "getnewaddress" => {
            p.arity(method, 0, 2)?;
            let version = state.address_versions()[0];
            Ok(json!(state.chain().new_address(version)))
        }
        "getreceivedbyaddress" => {
            p.arity(method, 1, 3)?;
            let address = p.str(0)?;
            let minconf = p.int_or(1, 1)?;
            if !state.valid_address(address) {
                return Err(err(INVALID_ADDRESS_OR_KEY, "Invalid Bitcoin address"));
            }
            let chain = state.chain();
            if !chain.wallet.contains(address) {
                return Err(err(WALLET_ERROR, "Address not found in wallet"));
            }
            Ok(json!(sats_to_btc(chain.received(address, minconf))))
        }
        "sendtoaddress" => {
            p.arity(method, 2, 10)?;
            let address = p.str(0)?;
            if !state.valid_address(address) {
                return Err(err(INVALID_ADDRESS_OR_KEY, "Invalid Bitcoin address"));
            }
            let sats = p.amount(1)?;
            if sats <= 0 {
                return Err(err(TYPE_ERROR, "Invalid amount for send"));
            }
            Ok(json!(state.chain().pay(address, sats)))
        }
        "generatetoaddress" => {
            p.arity(method, 2, 3)?;
            let n = p.int(0)?;
            if !state.valid_address(p.str(1)?) {
                return Err(err(INVALID_ADDRESS_OR_KEY, "Error: Invalid address"));
            }
            let n = u64::try_from(n).map_err(|_| err(INVALID_PARAMETER, "nblocks < 0"))?;
            Ok(json!(state.chain().mine(n)))
        }
        "sendrawtransaction" => {
            p.arity(method, 1, 3)?;
            send_raw(&mut state.chain(), p.str(0)?)
        }
        _ => Err(err(METHOD_NOT_FOUND, "Method not found")),
    }
}

fn send_raw(chain: &mut Chain, hex_tx: &str) -> RpcResult {
    // version (4) + input count + output count + locktime (4) is the least a tx can be.
    let bytes = hex::decode(hex_tx)
        .ok()
        .filter(|b| b.len() >= 10)
        .ok_or_else(|| {
            err(
                DESERIALIZATION_ERROR,
                "TX decode failed. Make sure the tx has at least one input.",
            )
        })?;
    let id = txid(&bytes);
    if chain.confirmed.contains(&id) {
        return Err(err(
            VERIFY_ALREADY_IN_CHAIN,
            "Transaction already in block chain",
        ));
    }
    // Like Core, resending a transaction already in the mempool just returns its txid.
    if !chain.mempool.iter().any(|tx| tx.txid == id) {
        chain.mempool.push(Tx {
            txid: id.clone(),
            payment: None,
        });
    }
    Ok(json!(id))
}

fn check_hash(hash: &str) -> Result<(), RpcError> {
    if hash.len() != 64 {
        let message = format!(
            "blockhash must be of length 64 (not {}, for '{hash}')",
            hash.len()
        );
        return Err(err(INVALID_PARAMETER, message));
    }
    if !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        let message = format!("blockhash must be hexadecimal string (not '{hash}')");
        return Err(err(INVALID_PARAMETER, message));
    }
    Ok(())
}

fn sats_to_btc(sats: i64) -> f64 {
    sats as f64 / 100_000_000.0
}

struct Params<'a>(&'a [Value]);

impl Params<'_> {
    fn arity(&self, method: &str, min: usize, max: usize) -> Result<(), RpcError> {
        if (min..=max).contains(&self.0.len()) {
            Ok(())
        } else {
            Err(err(
                MISC_ERROR,
                format!("{method}: expected {min} to {max} parameters"),
            ))
        }
    }

    fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i).filter(|v| !v.is_null())
    }

    fn str(&self, i: usize) -> Result<&str, RpcError> {
        self.get(i)
            .and_then(Value::as_str)
            .ok_or_else(|| type_error(self.get(i), "string"))
    }

    fn int(&self, i: usize) -> Result<i64, RpcError> {
        self.get(i)
            .and_then(Value::as_i64)
            .ok_or_else(|| type_error(self.get(i), "number"))
    }

    fn int_or(&self, i: usize, default: i64) -> Result<i64, RpcError> {
        if self.get(i).is_none() {
            Ok(default)
        } else {
            self.int(i)
        }
    }

    fn bool_or(&self, i: usize, default: bool) -> Result<bool, RpcError> {
        match self.get(i) {
            None => Ok(default),
            Some(v) => v.as_bool().ok_or_else(|| type_error(Some(v), "bool")),
        }
    }

    /// A BTC amount given as a number or a decimal string, in satoshis.
    fn amount(&self, i: usize) -> Result<i64, RpcError> {
        let btc = match self.get(i) {
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
            other => return Err(type_error(other, "number")),
        };
        let sats = btc
            .map(|btc| (btc * 100_000_000.0).round())
            .filter(|s| s.is_finite());
        match sats {
            Some(sats) if sats.abs() <= MAX_MONEY_SATS as f64 => Ok(sats as i64),
            Some(_) => Err(err(TYPE_ERROR, "Amount out of range")),
            None => Err(err(TYPE_ERROR, "Invalid amount")),
        }
    }
}

fn type_error(value: Option<&Value>, expected: &str) -> RpcError {
    let actual = match value {
        None | Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "bool",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    };
    err(
        TYPE_ERROR,
        format!("JSON value of type {actual} is not of expected type {expected}"),
    )
}
