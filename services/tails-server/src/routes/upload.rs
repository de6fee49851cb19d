//! `PUT /{revoc_reg_id}` (checked against the ledger) and `PUT /hash/{tails_hash}`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::AppState;
use super::body::{UploadBody, field_name, require_multipart};
use crate::domain::{RevRegId, StoredName, TailsHash};
use crate::error::TailsError;
use crate::storage::{PublishError, Staged};

pub async fn by_id(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TailsError> {
    require_multipart(&req)?;
    let id = RevRegId::parse(&path)?;
    let body = UploadBody::new(&req, payload, state.limits.body());
    upload(body, &state, Check::Ledger(id)).await
}

pub async fn by_hash(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TailsError> {
    require_multipart(&req)?;
    let hash = TailsHash::parse(&path)?;
    let body = UploadBody::new(&req, payload, state.limits.body());
    upload(body, &state, Check::Hash(hash)).await
}

/// What an upload is checked against.
enum Check {
    Ledger(RevRegId),
    Hash(TailsHash),
}

impl Check {
    fn name(&self) -> StoredName {
        match self {
            Check::Ledger(id) => StoredName::Id(id.clone()),
            Check::Hash(hash) => StoredName::Hash(hash.clone()),
        }
    }
}

/// The duplicate check comes first, before the ledger and the body, so a re-upload is cheap
/// (ACA-Py counts 409 as success) and answered while the body is still arriving. What is left
/// of the body after any answer is service-kit's to drain (`service_kit::body`).
async fn upload(
    mut body: UploadBody,
    state: &AppState,
    check: Check,
) -> Result<HttpResponse, TailsError> {
    let name = check.name();
    let outcome = if state.storage.contains(&name).await? {
        Err(TailsError::AlreadyExists)
    } else {
        store(&mut body, state, name, check).await
    };
    match outcome {
        Ok(hash) => {
            state.counters.stored.inc();
            Ok(HttpResponse::Ok()
                .content_type("text/plain; charset=utf-8")
                .body(hash.to_string()))
        }
        Err(err) => {
            match err {
                TailsError::AlreadyExists => state.counters.duplicates.inc(),
                _ => state.counters.rejected.inc(),
            }
            Err(err)
        }
    }
}

async fn store(
    body: &mut UploadBody,
    state: &AppState,
    name: StoredName,
    check: Check,
) -> Result<TailsHash, TailsError> {
    let staged = match check {
        Check::Ledger(id) => receive_checked_by_ledger(body, state, &id).await?,
        Check::Hash(hash) => receive_checked_by_hash(body, state, &hash).await?,
    };
    let hash = staged.hash.clone();
    match state.storage.publish(staged, name).await {
        Ok(()) => Ok(hash),
        Err(PublishError::Exists) => Err(TailsError::AlreadyExists),
        Err(PublishError::Io(err)) => Err(err.into()),
    }
}

/// The original's order: genesis field, genesis, id on the ledger, tails field, hash; then
/// the format checks the original lacked on this route.
async fn receive_checked_by_ledger(
    body: &mut UploadBody,
    state: &AppState,
    id: &RevRegId,
) -> Result<Staged, TailsError> {
    body.next_field()
        .await?
        .filter(|field| field_name(field) == Some("genesis"))
        .ok_or(TailsError::FirstFieldNotGenesis)?;
    let genesis_text = body.read_text(state.limits.max_genesis_size).await?;
    let ledger = state.ledgers.select(&genesis_text).await?;
    let def = ledger.rev_reg_def(id).await?;
    body.next_field()
        .await?
        .filter(|field| field_name(field) == Some("tails"))
        .ok_or(TailsError::SecondFieldNotTails)?;
    let staged = body
        .receive_file(&state.storage, state.limits.max_tails_size)
        .await?;
    if staged.hash.as_str() != def.value.tails_hash {
        return Err(TailsError::HashMismatch);
    }
    staged.head.check(def.value.max_cred_num)?;
    Ok(staged)
}

/// The first part whatever its name (the upstream test sends one `multipart/mixed` part
/// without `Content-Disposition`); hash, then format, as the original.
async fn receive_checked_by_hash(
    body: &mut UploadBody,
    state: &AppState,
    hash: &TailsHash,
) -> Result<Staged, TailsError> {
    body.next_field().await?.ok_or(TailsError::NoFile)?;
    let staged = body
        .receive_file(&state.storage, state.limits.max_tails_size)
        .await?;
    if &staged.hash != hash {
        return Err(TailsError::HashMismatch);
    }
    staged.head.check(None)?;
    Ok(staged)
}
