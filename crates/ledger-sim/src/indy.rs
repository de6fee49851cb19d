//! An indy-vdr-proxy stand-in: `GET /rev_reg_def/{id}` and `GET /genesis` answer like
//! hyperledger/indy-vdr's proxy in front of a pool holding what tests published.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::Running;

/// GET_REVOC_REG_DEF (hyperledger/indy-vdr `libindy_vdr/src/ledger/constants.rs`).
const GET_REVOC_REG_DEF: &str = "115";

#[derive(Debug)]
pub struct IndySim {
    running: Running,
    state: Arc<State>,
}

#[derive(Debug)]
struct State {
    genesis: String,
    ledger: Mutex<Ledger>,
    failure: Mutex<Option<u16>>,
    delay: Mutex<Duration>,
}

#[derive(Debug, Default)]
struct Ledger {
    defs: HashMap<String, Entry>,
    last_seq_no: u64,
    last_req_id: u64,
}

#[derive(Debug)]
struct Entry {
    data: Value,
    seq_no: u64,
    txn_time: u64,
}

impl State {
    fn publish(&self, def: Value) -> std::io::Result<u64> {
        let id = def
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| std::io::Error::other("revocation registry definition has no id"))?
            .to_owned();
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        ledger.last_seq_no += 1;
        let seq_no = ledger.last_seq_no;
        let entry = Entry {
            data: def,
            seq_no,
            txn_time: unix_now(),
        };
        ledger.defs.insert(id, entry);
        Ok(seq_no)
    }

    fn reply(&self, id: &str) -> Value {
        let mut ledger = self.ledger.lock().unwrap_or_else(|e| e.into_inner());
        ledger.last_req_id += 1;
        let req_id = ledger.last_req_id;
        let (data, seq_no, txn_time) = match ledger.defs.get(id) {
            Some(entry) => (
                entry.data.clone(),
                json!(entry.seq_no),
                json!(entry.txn_time),
            ),
            None => (Value::Null, Value::Null, Value::Null),
        };
        json!({
            "op": "REPLY",
            "result": {
                "type": GET_REVOC_REG_DEF,
                "identifier": "LibindyDid111111111111",
                "reqId": req_id,
                "id": id,
                "seqNo": seq_no,
                "txnTime": txn_time,
                "state_proof": {
                    "root_hash": "7Wdj3rrMCZ1R1M78G4zuyDRMsyDfhJ7fCDa7cujWRTmr",
                    "proof_nodes": "",
                    "multi_signature": Value::Null,
                },
                "data": data,
            }
        })
    }
}

impl IndySim {
    pub fn start(bind: &str, genesis: String) -> std::io::Result<Self> {
        let state = Arc::new(State {
            genesis,
            ledger: Mutex::new(Ledger::default()),
            failure: Mutex::new(None),
            delay: Mutex::new(Duration::ZERO),
        });
        let data = web::Data::from(state.clone());
        let running = Running::start(bind, move |cfg| {
            cfg.app_data(data.clone())
                .route("/rev_reg_def/{id}", web::get().to(get_rev_reg_def))
                .route("/genesis", web::get().to(get_genesis))
                .route("/admin/rev_reg_def", web::post().to(admin_publish))
                .route("/admin/failure", web::post().to(admin_failure))
                .route("/admin/delay", web::post().to(admin_delay));
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

    /// Writes (or replaces) a definition, the `data` object of the reply; see
    /// [`rev_reg_def_json`]. Returns its seqNo; fails only when `def` has no string `id`.
    pub fn publish(&self, def: Value) -> std::io::Result<u64> {
        self.state.publish(def)
    }

    /// `Some(status)` makes `/rev_reg_def` answer that status with a plain-text body, as
    /// indy-vdr-proxy does for Input (400), NoConsensus (409), other (500), pool not ready
    /// (503) and PoolTimeout (504). `None` restores normal answers.
    pub fn set_failure(&self, status: Option<u16>) {
        *self.state.failure.lock().unwrap_or_else(|e| e.into_inner()) = status;
    }

    /// Delays every `/rev_reg_def` answer, like a slow pool.
    pub fn set_delay(&self, delay: Duration) {
        *self.state.delay.lock().unwrap_or_else(|e| e.into_inner()) = delay;
    }
}

/// A definition as ACA-Py writes it, for [`IndySim::publish`]. The tag is the id's last part.
pub fn rev_reg_def_json(
    id: &str,
    cred_def_id: &str,
    max_cred_num: u64,
    tails_hash: &str,
    tails_location: &str,
) -> Value {
    let tag = id.rsplit(':').next().unwrap_or(id);
    json!({
        "id": id,
        "credDefId": cred_def_id,
        "revocDefType": "CL_ACCUM",
        "tag": tag,
        "ver": "1.0",
        "value": {
            "issuanceType": "ISSUANCE_BY_DEFAULT",
            "maxCredNum": max_cred_num,
            "publicKeys": {
                "accumKey": {
                    "z": "1 0BB5D6A2F1A5D5C2E4F0A9B8C7D6E5F4A3B2C1D0E9F8A7B6C5D4E3F2A1B0C9D8 1 1F2E3D4C5B6A79881726354453627180F9E8D7C6B5A4938271605F4E3D2C1B0A 2 095E45DDF417D05FB10933FFC63D474548B7FFFF7888802F07FFFFFF7D07A8A8"
                }
            },
            "tailsHash": tails_hash,
            "tailsLocation": tails_location,
        }
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn failure_message(status: u16) -> &'static str {
    match status {
        400 => "Invalid request: unsupported ledger request",
        409 => "No consensus from verifiers",
        503 => "Pool not ready",
        504 => "Pool timeout",
        _ => "Unexpected error",
    }
}

async fn get_rev_reg_def(state: web::Data<State>, id: web::Path<String>) -> HttpResponse {
    let delay = *state.delay.lock().unwrap_or_else(|e| e.into_inner());
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let failure = *state.failure.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(code) = failure {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return HttpResponse::build(status)
            .content_type("text/plain")
            .body(failure_message(code));
    }
    HttpResponse::Ok().json(state.reply(&id))
}

async fn get_genesis(state: web::Data<State>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain")
        .body(state.genesis.clone())
}

async fn admin_publish(state: web::Data<State>, def: web::Json<Value>) -> HttpResponse {
    match state.publish(def.into_inner()) {
        Ok(seq_no) => HttpResponse::Ok().json(json!({"seqNo": seq_no})),
        Err(e) => HttpResponse::BadRequest().body(e.to_string()),
    }
}

#[derive(Deserialize)]
struct FailureRequest {
    status: Option<u16>,
}

/// Body `{"status": 503}` or `{"status": null}`.
async fn admin_failure(state: web::Data<State>, body: web::Json<FailureRequest>) -> HttpResponse {
    if let Some(code) = body.status
        && StatusCode::from_u16(code).is_err()
    {
        return HttpResponse::BadRequest().body("status must be 100..=999");
    }
    *state.failure.lock().unwrap_or_else(|e| e.into_inner()) = body.status;
    HttpResponse::Ok().finish()
}

#[derive(Deserialize)]
struct DelayRequest {
    millis: u64,
}

/// Body `{"millis": 1500}`.
async fn admin_delay(state: web::Data<State>, body: web::Json<DelayRequest>) -> HttpResponse {
    *state.delay.lock().unwrap_or_else(|e| e.into_inner()) = Duration::from_millis(body.millis);
    HttpResponse::Ok().finish()
}
