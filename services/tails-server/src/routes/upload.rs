//! `PUT /{revoc_reg_id}` (checked against the ledger) and `PUT /hash/{tails_hash}`: the
//! stored file's tails hash as plain text.

use actix_web::{HttpResponse, web};

use super::body::UploadBody;
use super::extract::Parsed;
use crate::app::AppState;
use crate::domain::{RevRegId, TailsHash};
use crate::error::Error;
use crate::ops::upload::{self, Check};

pub async fn by_id(
    mut body: UploadBody,
    id: Parsed<RevRegId>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    stored(upload::store(&state, Check::Ledger(id.0), &mut body).await?)
}

pub async fn by_hash(
    mut body: UploadBody,
    hash: Parsed<TailsHash>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    stored(upload::store(&state, Check::Hash(hash.0), &mut body).await?)
}

fn stored(hash: TailsHash) -> Result<HttpResponse, Error> {
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(hash.to_string()))
}
