//! `POST passes`: spends tokens into passes for one message.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};
use service_kit::db::{Database, DbConnection};

use super::{AppState, json_object};
use crate::db::{is_unique_violation, pass_requests, tokens};
use crate::domain::idempotency::{IdempotencyKey, RETENTION_MICROS, request_hash};
use crate::domain::pass::make_pass;
use crate::domain::time;
use crate::error::ApiError;

struct PassRequest {
    message: String,
    count: u64,
}

fn parse(body: &[u8], max: u32) -> Result<PassRequest, ApiError> {
    let usage = format!(
        "request body must be a JSON object {{\"message\": <non-empty string>, \"count\": <integer 1..={max}>}}"
    );
    let object = json_object(body, &usage, &usage)?;
    let message = object.get("message").and_then(Value::as_str);
    let count = object.get("count").and_then(Value::as_u64);
    match (object.len(), message, count) {
        (2, Some(message), Some(count))
            if !message.is_empty() && (1..=u64::from(max)).contains(&count) =>
        {
            Ok(PassRequest {
                message: message.to_owned(),
                count,
            })
        }
        _ => Err(ApiError::bad_request(usage)),
    }
}

/// Takes `count` spendable tokens and returns a pass for `message` from each. The tokens leave
/// the spendable pool in the same transaction that makes the passes; 409 if too few remain.
/// With an `Idempotency-Key`, a retry of the same request gets the same passes (see
/// [`crate::domain::idempotency`]).
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let request = parse(&body, state.max_passes_per_request)?;
    let key = req
        .headers()
        .get(IDEMPOTENCY_KEY)
        .map(|value| {
            value
                .to_str()
                .map_err(|_| "not ASCII".to_owned())
                .and_then(IdempotencyKey::parse)
                .map_err(|details| {
                    ApiError::bad_request_details("invalid Idempotency-Key", details)
                })
        })
        .transpose()?;
    let count = request.count;
    let (passes, replayed) = match key {
        None => (
            state
                .db
                .transaction(move |conn| spend(conn, &request))
                .await?,
            false,
        ),
        Some(key) => spend_once(&state.db, key, request).await?,
    };
    let mut response = HttpResponse::Ok();
    if replayed {
        response.insert_header((IDEMPOTENT_REPLAYED, "true"));
    } else {
        state.passes_issued.add(count);
    }
    Ok(response.json(json!({ "passes": passes })))
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";
const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

fn spend(conn: &mut DbConnection, request: &PassRequest) -> Result<Vec<String>, ApiError> {
    tokens::take_spendable(conn, request.count)?
        .iter()
        .map(|token| make_pass(token, request.message.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// The passes first handed out under `key` (and `true`), or new ones stored under it. Two
/// requests racing with one key: the loser's transaction fails on the key's primary key and
/// rolls back (its tokens stay spendable), and it answers the winner's passes.
async fn spend_once(
    db: &Database,
    key: IdempotencyKey,
    request: PassRequest,
) -> Result<(Vec<String>, bool), ApiError> {
    let hash = request_hash(&request.message, request.count);
    let request = std::sync::Arc::new(request);
    let mut attempts = 0;
    loop {
        let (key, hash, request) = (key.clone(), hash.clone(), request.clone());
        let outcome = db
            .transaction(move |conn| {
                let now = time::now();
                let oldest = now - RETENTION_MICROS;
                // A write first: on SQLite it takes the write lock before anything is read.
                pass_requests::prune(conn, oldest)?;
                if let Some(done) = pass_requests::find(conn, key.as_str(), oldest)? {
                    if done.request_hash != hash {
                        return Err(ApiError::IdempotencyKeyReused);
                    }
                    let passes = serde_json::from_str(&done.passes)
                        .map_err(|e| ApiError::Internal(format!("stored passes: {e}")))?;
                    return Ok((passes, true));
                }
                let passes = spend(conn, &request)?;
                let stored = serde_json::to_string(&passes)
                    .map_err(|e| ApiError::Internal(e.to_string()))?;
                pass_requests::insert(
                    conn,
                    &pass_requests::PassRequest {
                        idempotency_key: key.as_str().to_owned(),
                        request_hash: hash,
                        passes: stored,
                        created: now,
                    },
                )?;
                Ok((passes, false))
            })
            .await;
        match outcome {
            Err(ApiError::Query(err)) if is_unique_violation(&err) && attempts == 0 => {
                attempts += 1;
            }
            other => return other,
        }
    }
}
