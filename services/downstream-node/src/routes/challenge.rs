//! `/challenge/<token>` (GET: every contract; POST `{"hashes": [...]}`: those) and the legacy
//! single-contract `/challenge/<token>/<file_hash>`.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::extract::{ChallengeHashes, TokenPath};
use crate::app::AppState;
use crate::domain::{FarmerToken, parse_contract_id};
use crate::error::Error;
use crate::ops::challenges::{self, Challenged};

pub async fn all(
    state: web::Data<AppState>,
    TokenPath(token): TokenPath,
) -> Result<HttpResponse, Error> {
    let items: Vec<Value> = challenges::all(&state, token)
        .await?
        .into_iter()
        .map(|(id, challenged)| item(json!(id), &challenged))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "challenges": items })))
}

pub async fn selected(
    state: web::Data<AppState>,
    TokenPath(token): TokenPath,
    hashes: ChallengeHashes,
) -> Result<HttpResponse, Error> {
    let ChallengeHashes { ids, file_hashes } = hashes;
    let outcomes = challenges::selected(&state, token, ids.clone()).await?;
    let items: Vec<Value> = file_hashes
        .into_iter()
        .zip(ids)
        .zip(&outcomes)
        .map(|((sent, id), challenged)| match (challenged, id) {
            // A contract found is named by its id, whatever form the hash was sent in.
            (Challenged::NotFound, _) | (_, None) => item(sent, challenged),
            (_, Some(id)) => item(json!(id), challenged),
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "challenges": items })))
}

pub async fn single(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (token, file_hash) = path.into_inner();
    let wanted = vec![parse_contract_id(&file_hash)];
    let mut outcomes = challenges::selected(&state, FarmerToken::parse(&token), wanted).await?;
    match outcomes.pop() {
        None | Some(Challenged::NotFound) => Err(Error::Contract("contract not found")),
        Some(Challenged::Expired) => Err(Error::Contract("contract expired")),
        Some(Challenged::OutOfChallenges) => {
            Ok(HttpResponse::Ok().json(json!({"status": "no more challenges"})))
        }
        Some(Challenged::Current {
            challenge,
            due,
            answered,
        }) => Ok(HttpResponse::Ok().json(json!({
            "challenge": challenge,
            "due": due,
            "answered": answered,
        }))),
    }
}

/// What `/challenge` reports for one contract.
fn item(file_hash: Value, challenged: &Challenged) -> Value {
    match challenged {
        Challenged::NotFound => json!({"file_hash": file_hash, "error": "contract not found"}),
        Challenged::Expired => json!({"file_hash": file_hash, "error": "contract expired"}),
        Challenged::OutOfChallenges => {
            json!({"file_hash": file_hash, "status": "no more challenges"})
        }
        Challenged::Current {
            challenge,
            due,
            answered,
        } => json!({
            "file_hash": file_hash,
            "challenge": challenge,
            "due": due,
            "answered": answered,
        }),
    }
}
