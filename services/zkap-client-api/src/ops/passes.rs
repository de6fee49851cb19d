//! Passes: spendable tokens turned into passes for one message, at most once per
//! `Idempotency-Key` (see [`crate::domain::idempotency`]).

use service_kit::db::{Database, DbConnection};

use crate::app::AppState;
use crate::db::{pass_requests, tokens};
use crate::domain::idempotency::{IdempotencyKey, RETENTION_MICROS, request_hash};
use crate::domain::pass::{PassRequest, make_pass};
use crate::domain::time;
use crate::error::Error;
use crate::ops;

/// Passes handed out, and whether they are a replay of an earlier answer under the same key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spent {
    pub passes: Vec<String>,
    pub replayed: bool,
}

/// Takes `count` spendable tokens and returns a pass for `message` from each. The tokens leave
/// the spendable pool in the same transaction that makes the passes; too few is
/// [`Error::NotEnoughTokens`] and takes none. With a key, a retry of the same request gets the
/// same passes.
pub async fn spend(
    state: &AppState,
    request: PassRequest,
    key: Option<IdempotencyKey>,
) -> Result<Spent, Error> {
    let count = request.count;
    let spent = match key {
        None => Spent {
            passes: ops::write(&state.db, move |conn| take(conn, &request)).await?,
            replayed: false,
        },
        Some(key) => spend_once(&state.db, key, request).await?,
    };
    if !spent.replayed {
        state.passes_issued.add(count);
    }
    Ok(spent)
}

fn take(conn: &mut DbConnection, request: &PassRequest) -> Result<Vec<String>, Error> {
    let tokens = tokens::take_spendable(conn, request.count)?;
    if tokens.len() as u64 != request.count {
        return Err(Error::NotEnoughTokens {
            requested: request.count,
            spendable: tokens.len() as u64,
        });
    }
    tokens
        .iter()
        .map(|token| make_pass(token, request.message.as_bytes()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Internal(e.to_string()))
}

/// The passes first handed out under `key`, or new ones stored under it. Two requests racing
/// with one key: on SQLite the writer runs them one after the other and the second finds the
/// first's passes; elsewhere the loser's transaction fails on the key's primary key and rolls
/// back (its tokens stay spendable), and its second run answers the winner's passes.
async fn spend_once(
    db: &Database,
    key: IdempotencyKey,
    request: PassRequest,
) -> Result<Spent, Error> {
    let hash = request_hash(&request.message, request.count);
    ops::write(db, move |conn| {
        let now = time::now();
        let oldest = now - RETENTION_MICROS;
        pass_requests::prune(conn, oldest)?;
        if let Some(done) = pass_requests::find(conn, key.as_str(), oldest)? {
            if done.request_hash != hash {
                return Err(Error::IdempotencyKeyReused);
            }
            let passes = serde_json::from_str(&done.passes)
                .map_err(|e| Error::Internal(format!("stored passes: {e}")))?;
            return Ok(Spent {
                passes,
                replayed: true,
            });
        }
        let passes = take(conn, &request)?;
        let stored = serde_json::to_string(&passes).map_err(|e| Error::Internal(e.to_string()))?;
        pass_requests::insert(
            conn,
            &pass_requests::PassRequest {
                idempotency_key: key.as_str().to_owned(),
                request_hash: hash.clone(),
                passes: stored,
                created: now,
            },
        )?;
        Ok(Spent {
            passes,
            replayed: false,
        })
    })
    .await
}
