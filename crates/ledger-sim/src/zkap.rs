//! A ZKAP issuer speaking PaymentServer's `POST /v1/redeem`, signing with a real
//! challenge-bypass-ristretto key so clients can verify, unblind and spend what it issues.
//!
//! Admin routes: `POST /admin/vouchers/{voucher}/paid`, `PUT /admin/mode`
//! (`{"mode": "unpaid"}`, `{"mode": "slow", "seconds": 5}`, …), `PUT /admin/delay`
//! (`{"seconds": 0.5}`), `GET /admin/public-key`.

use ledger_client::zkap::token_count_for_group;
use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use challenge_bypass_ristretto::voprf::{BatchDLEQProof, BlindedToken, SignedToken, SigningKey};
use rand::rngs::OsRng;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha512;
use sha3::{Digest, Sha3_512};

use crate::Running;

/// PaymentServer's `--tokens-per-voucher` and `--num-redemption-groups`, plus the key.
#[derive(Debug, Clone)]
pub struct ZkapSimConfig {
    pub tokens_per_voucher: u64,
    pub groups: u32,
    /// A canonical ristretto scalar (`SigningKey::to_bytes`); `None` draws a random key.
    pub signing_key: Option<[u8; 32]>,
}

/// Where the issuer's signing key comes from. A fixed key lets a deployment name the issuer's
/// public key in zkap-client-api's `allowed_public_keys` before the issuer starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A new random key on every start (tests, where the key is read back from the sim).
    Random,
    /// The canonical scalar itself, as 64 hex characters (`--zkap-signing-key`).
    Hex(String),
    /// A file holding those 64 hex characters (`--zkap-signing-key-file`).
    File(std::path::PathBuf),
    /// Any text; the same seed gives the same key on every start and every machine
    /// (`--zkap-key-seed`). For development stacks only: anyone who knows the seed can issue.
    Seed(String),
}

impl KeySource {
    /// The signing key's bytes, or `None` for a random key.
    pub fn resolve(&self) -> Result<Option<[u8; 32]>, String> {
        match self {
            Self::Random => Ok(None),
            Self::Hex(text) => parse_key_hex(text).map(Some),
            Self::File(path) => std::fs::read_to_string(path)
                .map_err(|e| format!("signing key file {}: {e}", path.display()))
                .and_then(|text| parse_key_hex(&text))
                .map(Some),
            Self::Seed(seed) => Ok(Some(signing_key_from_seed(seed))),
        }
    }
}

/// A canonical ristretto scalar derived from `seed`: SHA-256 of it with the top four bits
/// cleared, which is below 2^252 and so below the group order.
pub fn signing_key_from_seed(seed: &str) -> [u8; 32] {
    let mut bytes: [u8; 32] = sha2::Sha256::digest(seed.as_bytes()).into();
    bytes[31] &= 0x0f;
    bytes
}

fn parse_key_hex(text: &str) -> Result<[u8; 32], String> {
    let bytes = hex::decode(text.trim()).map_err(|e| format!("signing key: {e}"))?;
    let bytes = <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| "signing key must be 32 bytes of hex".to_owned())?;
    SigningKey::from_bytes(&bytes).map_err(|e| format!("signing key: {e}"))?;
    Ok(bytes)
}

/// The base64 public key (what zkap-client-api's `allowed_public_keys` lists) of a signing key.
pub fn public_key_of(signing_key: &[u8; 32]) -> Result<String, String> {
    SigningKey::from_bytes(signing_key)
        .map(|key| key.public_key.encode_base64())
        .map_err(|e| format!("signing key: {e}"))
}

/// How the issuer misbehaves, if at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    /// Every voucher answers `unpaid`, paid or not.
    Unpaid,
    /// Every redemption answers `double-spend`.
    DoubleSpend,
    /// Signs one token fewer than asked, with a valid proof over what it did sign.
    WrongCount,
    /// Valid signatures, but the proof is another key's over its own signatures.
    BadProof,
    /// Waits this long, then answers as in `Normal` (PaymentServer retries `NotPaid` for 10 min).
    Slow(Duration),
    /// A non-JSON 500.
    Garbage,
}

/// A running issuer simulator.
#[derive(Debug)]
pub struct ZkapSim {
    running: Running,
    state: web::Data<State>,
}

impl ZkapSim {
    pub fn start(bind: &str, config: ZkapSimConfig) -> std::io::Result<Self> {
        let signing_key = match config.signing_key {
            Some(bytes) => SigningKey::from_bytes(&bytes).map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("signing key: {e}"),
                )
            })?,
            None => SigningKey::random(&mut OsRng),
        };
        let state = web::Data::new(State {
            signing_key,
            tokens_per_voucher: config.tokens_per_voucher,
            groups: config.groups,
            ledger: Mutex::default(),
        });
        let routes = state.clone();
        let running = Running::start(bind, move |cfg| configure(cfg, routes.clone()))?;
        Ok(Self { running, state })
    }

    /// Base URL without a trailing slash; the issuer root for `ZkapIssuer::new`.
    pub fn url(&self) -> String {
        self.running.url()
    }

    pub async fn stop(&self) {
        self.running.stop().await;
    }

    /// The issuer's public key, base64 (44 characters).
    pub fn public_key(&self) -> String {
        self.state.signing_key.public_key.encode_base64()
    }

    pub fn mark_paid(&self, voucher: &str) {
        self.state.lock().paid.insert(voucher.to_owned());
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().mode = mode;
    }

    /// An extra delay before every `/v1/redeem` answer, in any mode.
    pub fn set_delay(&self, delay: Duration) {
        self.state.lock().delay = delay;
    }
}

#[derive(Debug)]
struct State {
    signing_key: SigningKey,
    tokens_per_voucher: u64,
    groups: u32,
    ledger: Mutex<Ledger>,
}

impl State {
    fn lock(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// PaymentServer's voucher database.
#[derive(Debug, Default)]
struct Ledger {
    paid: HashSet<String>,
    /// (voucher, counter) → fingerprint of the tokens it was redeemed with.
    redeemed: HashMap<(String, i64), String>,
    fingerprints: HashSet<String>,
    mode: Mode,
    delay: Duration,
}

enum Decision {
    Sign,
    Refuse(&'static str),
}

impl Ledger {
    /// `redeemVoucherWithCounter`: a retry with the same tokens may be signed again.
    fn redeem(&mut self, voucher: &str, counter: i64, fingerprint: String) -> Decision {
        if self.mode == Mode::Unpaid || !self.paid.contains(voucher) {
            return Decision::Refuse("unpaid");
        }
        if self.mode == Mode::DoubleSpend {
            return Decision::Refuse("double-spend");
        }
        let key = (voucher.to_owned(), counter);
        match self.redeemed.get(&key) {
            Some(previous) if *previous == fingerprint => Decision::Sign,
            Some(_) => Decision::Refuse("double-spend"),
            None if self.fingerprints.contains(&fingerprint) => {
                Decision::Refuse("fingerprint already used")
            }
            None => {
                self.fingerprints.insert(fingerprint.clone());
                self.redeemed.insert(key, fingerprint);
                Decision::Sign
            }
        }
    }
}

fn configure(cfg: &mut web::ServiceConfig, state: web::Data<State>) {
    cfg.app_data(state)
        .app_data(web::JsonConfig::default().limit(16 * 1024 * 1024))
        .route("/v1/redeem", web::post().to(redeem))
        .route("/admin/vouchers/{voucher}/paid", web::post().to(admin_paid))
        .route("/admin/mode", web::put().to(admin_mode))
        .route("/admin/delay", web::put().to(admin_delay))
        .route("/admin/public-key", web::get().to(admin_public_key));
}

#[derive(Deserialize)]
struct RedeemBody {
    #[serde(rename = "redeemVoucher")]
    voucher: String,
    #[serde(rename = "redeemCounter", default)]
    counter: i64,
    #[serde(rename = "redeemTokens")]
    tokens: Vec<String>,
}

async fn redeem(state: web::Data<State>, body: web::Json<RedeemBody>) -> HttpResponse {
    let (mode, delay) = {
        let ledger = state.lock();
        (ledger.mode, ledger.delay)
    };
    let wait = match mode {
        Mode::Slow(slow) => delay + slow,
        _ => delay,
    };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    if mode == Mode::Garbage {
        return HttpResponse::InternalServerError()
            .content_type("text/html")
            .body("<html><body><h1>Internal Server Error</h1></body></html>");
    }

    let RedeemBody {
        voucher,
        counter,
        tokens,
    } = body.into_inner();
    let groups = state.groups;
    let group = u32::try_from(counter).ok().filter(|c| *c < groups);
    let Some(group) = group else {
        return HttpResponse::BadRequest().json(json!({
            "success": false, "reason": "counter-out-of-bounds",
            "min": 0, "max": groups, "received": counter,
        }));
    };
    let expected = token_count_for_group(groups, state.tokens_per_voucher, group);
    if u64::try_from(tokens.len()).ok() != Some(expected) {
        return refuse("wrong number of tokens");
    }
    let fingerprint = hex::encode(Sha3_512::digest(tokens.concat().as_bytes()));
    if let Decision::Refuse(reason) = state.lock().redeem(&voucher, counter, fingerprint) {
        return refuse(reason);
    }

    let signer = state.clone();
    match web::block(move || sign(&signer.signing_key, &tokens, mode)).await {
        Ok(Ok(answer)) => HttpResponse::Ok().json(answer),
        Ok(Err(reason)) => refuse(&reason),
        Err(e) => HttpResponse::InternalServerError()
            .json(json!({"success": false, "reason": format!("signing failed: {e}")})),
    }
}

fn refuse(reason: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"success": false, "reason": reason}))
}

/// CPU-bound: runs on the blocking pool.
fn sign(key: &SigningKey, tokens: &[String], mode: Mode) -> Result<serde_json::Value, String> {
    let mut blinded = tokens
        .iter()
        .map(|t| BlindedToken::decode_base64(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("invalid blinded token: {e}"))?;
    if mode == Mode::WrongCount {
        blinded.pop();
    }
    let signed = sign_all(key, &blinded)?;
    let proof = if mode == Mode::BadProof {
        let other = SigningKey::random(&mut OsRng);
        prove(&other, &blinded, &sign_all(&other, &blinded)?)?
    } else {
        prove(key, &blinded, &signed)?
    };
    Ok(json!({
        "success": true,
        "public-key": key.public_key.encode_base64(),
        "signatures": signed.iter().map(SignedToken::encode_base64).collect::<Vec<_>>(),
        "proof": proof.encode_base64(),
    }))
}

fn sign_all(key: &SigningKey, blinded: &[BlindedToken]) -> Result<Vec<SignedToken>, String> {
    blinded
        .iter()
        .map(|b| key.sign(b))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("invalid blinded token: {e}"))
}

fn prove(
    key: &SigningKey,
    blinded: &[BlindedToken],
    signed: &[SignedToken],
) -> Result<BatchDLEQProof, String> {
    BatchDLEQProof::new::<Sha512, _>(&mut OsRng, blinded, signed, key)
        .map_err(|e| format!("proof failed: {e}"))
}

async fn admin_paid(state: web::Data<State>, voucher: web::Path<String>) -> HttpResponse {
    let voucher = voucher.into_inner();
    state.lock().paid.insert(voucher.clone());
    HttpResponse::Ok().json(json!({"voucher": voucher, "paid": true}))
}

#[derive(Deserialize)]
struct ModeBody {
    mode: String,
    seconds: Option<f64>,
}

async fn admin_mode(state: web::Data<State>, body: web::Json<ModeBody>) -> HttpResponse {
    let mode = match body.mode.as_str() {
        "normal" => Mode::Normal,
        "unpaid" => Mode::Unpaid,
        "double-spend" => Mode::DoubleSpend,
        "wrong-count" => Mode::WrongCount,
        "bad-proof" => Mode::BadProof,
        "garbage" => Mode::Garbage,
        "slow" => match seconds(body.seconds) {
            Some(delay) => Mode::Slow(delay),
            None => return bad_seconds(),
        },
        other => {
            return HttpResponse::BadRequest().json(json!({
                "error": format!("unknown mode {other:?}"),
                "modes": ["normal", "unpaid", "double-spend", "wrong-count", "bad-proof", "slow", "garbage"],
            }));
        }
    };
    state.lock().mode = mode;
    HttpResponse::Ok().json(json!({"mode": body.mode, "seconds": body.seconds}))
}

#[derive(Deserialize)]
struct DelayBody {
    seconds: f64,
}

async fn admin_delay(state: web::Data<State>, body: web::Json<DelayBody>) -> HttpResponse {
    match seconds(Some(body.seconds)) {
        Some(delay) => {
            state.lock().delay = delay;
            HttpResponse::Ok().json(json!({"seconds": body.seconds}))
        }
        None => bad_seconds(),
    }
}

fn seconds(value: Option<f64>) -> Option<Duration> {
    value.and_then(|s| Duration::try_from_secs_f64(s).ok())
}

fn bad_seconds() -> HttpResponse {
    HttpResponse::BadRequest().json(json!({"error": "\"seconds\" must be a non-negative number"}))
}

async fn admin_public_key(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"public-key": state.signing_key.public_key.encode_base64()}))
}
