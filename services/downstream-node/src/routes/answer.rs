//! `POST /answer/<token>` (batch `{"proofs": [...]}`) and the legacy
//! `POST /answer/<token>/<file_hash>` (`{"proof": ...}`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::challenge::batch as read_batch;
use super::{body, client_ip};
use crate::domain::{Answer, FarmerToken};
use crate::error::ApiError;
use crate::node::Node;
use crate::node::answers::{self, Outcome};

pub async fn batch(
    req: HttpRequest,
    node: web::Data<Node>,
    token: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &node)?;
    let raw = body::read(payload, node.settings.body_limit).await?;
    let proofs = match read_batch(&raw, "proofs", node.settings.max_batch) {
        Ok(proofs) => proofs,
        // The original answers a body it cannot parse with an empty report.
        Err(ApiError::MalformedBatch(_)) => Vec::new(),
        Err(err) => return Err(err),
    };
    let token = FarmerToken::parse(&token);
    let outcomes = answers::answer(&node, token, ip, proofs).await?;
    let report: Vec<Value> = outcomes
        .into_iter()
        .map(|(file_hash, outcome)| answers::report_item(file_hash, &outcome))
        .collect();
    Ok(HttpResponse::Ok().json(json!({ "report": report })))
}

pub async fn single(
    req: HttpRequest,
    node: web::Data<Node>,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let ip = client_ip(&req, &node)?;
    let (token, file_hash) = path.into_inner();
    let raw = body::read(payload, node.settings.body_limit).await?;
    let proof = serde_json::from_slice::<Value>(&raw)
        .ok()
        .and_then(|mut v| v.get_mut("proof").map(Value::take))
        .ok_or(ApiError::Contract("Proof corrupted."))?;
    let item = json!({"file_hash": file_hash, "proof": proof});
    let mut outcomes = answers::answer(&node, FarmerToken::parse(&token), ip, vec![item]).await?;
    let outcome = outcomes.pop().map(|(_, o)| o).unwrap_or(Outcome::NotFound);
    match outcome {
        Outcome::Answered(Answer::Accepted) => Ok(HttpResponse::Ok().json(json!({"status": "ok"}))),
        Outcome::Answered(Answer::Invalid) => Err(ApiError::Contract("Invalid proof.")),
        Outcome::Answered(refused) => Err(ApiError::Contract(
            refused.error().unwrap_or("Invalid proof."),
        )),
        Outcome::Corrupted => Err(ApiError::Contract("Proof corrupted.")),
        Outcome::NotFound => Err(ApiError::Contract("contract not found")),
    }
}
