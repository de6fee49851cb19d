//! `POST /answer/<token>` (batch `{"proofs": [...]}`) and the legacy
//! `POST /answer/<token>/<file_hash>` (`{"proof": ...}`).

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::extract::{ClientIp, FarmerProofs, TokenPath};
use crate::app::AppState;
use crate::domain::Answer;
use crate::error::Error;
use crate::ops::answers::{self, Outcome};

pub async fn batch(
    state: web::Data<AppState>,
    ClientIp(ip): ClientIp,
    TokenPath(token): TokenPath,
    FarmerProofs {
        proofs,
        file_hashes,
    }: FarmerProofs,
) -> Result<HttpResponse, Error> {
    let outcomes = answers::answer(&state, token, ip, proofs).await?;
    let report: Vec<Value> = file_hashes
        .into_iter()
        .zip(&outcomes)
        .map(|(file_hash, outcome)| report_item(file_hash, outcome))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "report": report })))
}

pub async fn single(
    state: web::Data<AppState>,
    ClientIp(ip): ClientIp,
    TokenPath(token): TokenPath,
    proofs: FarmerProofs,
) -> Result<HttpResponse, Error> {
    let mut outcomes = answers::answer(&state, token, ip, proofs.proofs).await?;
    match outcomes.pop().unwrap_or(Outcome::NotFound) {
        Outcome::Answered(Answer::Accepted) => Ok(HttpResponse::Ok().json(json!({"status": "ok"}))),
        Outcome::Answered(Answer::Invalid) => Err(Error::Contract("Invalid proof.")),
        Outcome::Answered(refused) => {
            Err(Error::Contract(refused.error().unwrap_or("Invalid proof.")))
        }
        Outcome::Corrupted => Err(Error::Contract("Proof corrupted.")),
        Outcome::NotFound => Err(Error::Contract("contract not found")),
    }
}

/// The batch report item for one outcome.
fn report_item(file_hash: Value, outcome: &Outcome) -> Value {
    match outcome {
        Outcome::NotFound => json!({"file_hash": file_hash, "error": "contract not found"}),
        Outcome::Corrupted => json!({"file_hash": file_hash, "error": "Proof corrupted"}),
        Outcome::Answered(answer) => match answer.error() {
            None => json!({"file_hash": file_hash, "status": "ok"}),
            Some(error) => json!({"file_hash": file_hash, "error": error}),
        },
    }
}
