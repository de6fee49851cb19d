//! Storing an uploaded tails file: checked against the ledger (`PUT /{revoc_reg_id}`) or
//! against the hash it is uploaded under (`PUT /hash/{tails_hash}`), in the original's order,
//! then published once (a second upload of a name is `AlreadyExists`).

use std::future::Future;

use crate::app::AppState;
use crate::domain::{RevRegId, StoredName, TailsHash};
use crate::error::Error;
use crate::storage::{PublishError, Staged};

/// The parts of an upload's body in order, each body read as a stream of chunks. The chunks
/// are the buffers the transport received; they are stored as they are.
pub trait Parts {
    type Chunk: AsRef<[u8]> + Send + 'static;

    /// The next part, positioned at the start of its body; `None` after the last one.
    fn next_part(&mut self) -> impl Future<Output = Result<Option<Part>, Error>>;

    /// The next piece of the current part's body; `None` at its end.
    fn next_chunk(&mut self) -> impl Future<Output = Result<Option<Self::Chunk>, Error>>;
}

/// One part of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Its `Content-Disposition` name, if it has one.
    pub name: Option<String>,
}

impl Part {
    fn named(&self, name: &str) -> bool {
        self.name.as_deref() == Some(name)
    }
}

/// What an upload is checked against.
#[derive(Debug, Clone)]
pub enum Check {
    /// The registry definition on the ledger the upload's genesis selects.
    Ledger(RevRegId),
    /// The hash it is uploaded under.
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

/// Stores the upload in `body`; its tails hash on success. The duplicate check comes first,
/// before the ledger and the body, so a re-upload is cheap (ACA-Py counts 409 as success) and
/// answered while the body is still arriving.
pub async fn store(
    state: &AppState,
    check: Check,
    body: &mut impl Parts,
) -> Result<TailsHash, Error> {
    let name = check.name();
    let outcome = if state.storage.contains(&name).await? {
        Err(Error::AlreadyExists)
    } else {
        receive_and_publish(state, check, name, body).await
    };
    match &outcome {
        Ok(_) => state.counters.stored.inc(),
        Err(Error::AlreadyExists) => state.counters.duplicates.inc(),
        Err(_) => state.counters.rejected.inc(),
    }
    outcome
}

async fn receive_and_publish(
    state: &AppState,
    check: Check,
    name: StoredName,
    body: &mut impl Parts,
) -> Result<TailsHash, Error> {
    let staged = match check {
        Check::Ledger(id) => receive_checked_by_ledger(state, &id, body).await?,
        Check::Hash(hash) => receive_checked_by_hash(state, &hash, body).await?,
    };
    let hash = staged.hash.clone();
    match state.storage.publish(staged, name).await {
        Ok(()) => Ok(hash),
        Err(PublishError::Exists) => Err(Error::AlreadyExists),
        Err(PublishError::Io(err)) => Err(err.into()),
    }
}

/// The original's order: genesis part, genesis, id on the ledger, tails part, hash; then the
/// format checks the original lacked on this route.
async fn receive_checked_by_ledger(
    state: &AppState,
    id: &RevRegId,
    body: &mut impl Parts,
) -> Result<Staged, Error> {
    body.next_part()
        .await?
        .filter(|part| part.named("genesis"))
        .ok_or(Error::FirstFieldNotGenesis)?;
    let genesis_text = read_text(body, state.limits.max_genesis_size).await?;
    let ledger = state.ledgers.select(&genesis_text).await?;
    let def = ledger.rev_reg_def(id).await?;
    body.next_part()
        .await?
        .filter(|part| part.named("tails"))
        .ok_or(Error::SecondFieldNotTails)?;
    let staged = receive_file(state, body).await?;
    if staged.hash.as_str() != def.value.tails_hash {
        return Err(Error::HashMismatch);
    }
    staged.head.check(def.value.max_cred_num)?;
    Ok(staged)
}

/// The first part whatever its name (the upstream test sends one `multipart/mixed` part
/// without `Content-Disposition`); hash, then format, as the original.
async fn receive_checked_by_hash(
    state: &AppState,
    hash: &TailsHash,
    body: &mut impl Parts,
) -> Result<Staged, Error> {
    body.next_part().await?.ok_or(Error::NoFile)?;
    let staged = receive_file(state, body).await?;
    if &staged.hash != hash {
        return Err(Error::HashMismatch);
    }
    staged.head.check(None)?;
    Ok(staged)
}

/// The current part's body, whole, as text of at most `limit` bytes.
async fn read_text(body: &mut impl Parts, limit: u64) -> Result<String, Error> {
    let mut text = Vec::new();
    while let Some(chunk) = body.next_chunk().await? {
        let chunk = chunk.as_ref();
        if (text.len() + chunk.len()) as u64 > limit {
            return Err(Error::GenesisTooLarge(limit));
        }
        text.extend_from_slice(chunk);
    }
    String::from_utf8(text).map_err(|_| Error::GenesisInvalid)
}

/// Streams the current part's body into storage, hashing it on the way.
async fn receive_file<P: Parts>(state: &AppState, body: &mut P) -> Result<Staged, Error> {
    let limit = state.limits.max_tails_size;
    let mut upload = state.storage.begin::<P::Chunk>();
    let mut size: u64 = 0;
    while let Some(chunk) = body.next_chunk().await? {
        size += chunk.as_ref().len() as u64;
        if size > limit {
            return Err(Error::TailsTooLarge(limit));
        }
        upload.write(chunk).await?;
    }
    Ok(upload.finish().await?)
}
