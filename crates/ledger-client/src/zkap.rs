//! The ZKAP issuer (PrivateStorageio/PaymentServer): `POST {root}/v1/redeem` trades a voucher's
//! blinded tokens for signatures. This client only moves base64 strings; checking the proof and
//! unblinding is the caller's job.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use crate::LedgerError;

/// How many tokens redemption group `group` of `groups` holds when a voucher is worth `total`:
/// the remainder of the division goes to the first groups. Groups outside `0..groups` hold none.
pub fn token_count_for_group(groups: u32, total: u64, group: u32) -> u64 {
    if group >= groups {
        return 0;
    }
    let (q, r) = (total / u64::from(groups), total % u64::from(groups));
    q + u64::from(u64::from(group) < r)
}

/// One redemption group: the blinded tokens (base64) the issuer is asked to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedeemRequest {
    #[serde(rename = "redeemVoucher")]
    pub voucher: String,
    #[serde(rename = "redeemCounter")]
    pub counter: u32,
    #[serde(rename = "redeemTokens")]
    pub tokens: Vec<String>,
}

/// The issuer's answer. Everything stays base64 as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedeemOutcome {
    Signed {
        public_key: String,
        signatures: Vec<String>,
        proof: String,
    },
    Refused(RedeemFailure),
}

/// A `{"success": false, "reason": …}` answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedeemFailure {
    #[error("the voucher has not been paid for")]
    Unpaid,
    #[error("the voucher was already redeemed with other tokens (double-spend)")]
    DoubleSpend,
    #[error("redemption counter {received} outside {min}..{max}")]
    CounterOutOfBounds { min: i64, max: i64, received: i64 },
    #[error("wrong number of tokens for the redemption group")]
    WrongNumberOfTokens,
    #[error("these tokens were already used to redeem another voucher or group")]
    FingerprintAlreadyUsed,
    #[error("the issuer's database is temporarily unavailable")]
    DatabaseUnavailable,
    #[error("the issuer rejected the redemption counter")]
    InvalidRedemptionCounter,
    #[error("unrecognized failure reason {reason:?}: {body}")]
    Unrecognized {
        reason: Option<String>,
        body: String,
    },
}

/// Client for one issuer, sharing the service's HTTP client.
#[derive(Debug, Clone)]
pub struct ZkapIssuer {
    client: reqwest::Client,
    redeem_url: Url,
}

impl ZkapIssuer {
    /// `root_url` is the issuer's root (`ristretto-issuer-root-url`), with or without a
    /// trailing slash.
    pub fn new(client: reqwest::Client, root_url: &str) -> Result<Self, LedgerError> {
        let invalid =
            |why: &str| LedgerError::Protocol(format!("invalid issuer URL {root_url:?}: {why}"));
        let mut redeem_url = Url::parse(root_url).map_err(|e| invalid(&e.to_string()))?;
        redeem_url
            .path_segments_mut()
            .map_err(|()| invalid("cannot be a base"))?
            .pop_if_empty()
            .extend(["v1", "redeem"]);
        Ok(Self { client, redeem_url })
    }

    /// Asks the issuer to sign one redemption group. Refusals are `Ok(Refused(..))`; only a
    /// failed exchange is an `Err`.
    pub async fn redeem(&self, req: &RedeemRequest) -> Result<RedeemOutcome, LedgerError> {
        let request = self.client.post(self.redeem_url.clone()).json(req);
        let response = crate::request_id::tag(request)
            .send()
            .await
            .map_err(LedgerError::from_transport)?;
        let status = response.status();
        let body = response.text().await.map_err(LedgerError::from_transport)?;
        let outcome = parse_answer(status, &body);
        if let Ok(RedeemOutcome::Refused(failure)) = &outcome {
            // A voucher is a bearer secret: log only enough of it to tell vouchers apart.
            let voucher: String = req.voucher.chars().take(6).collect();
            log::info!("issuer refused {voucher}… group {}: {failure}", req.counter);
        }
        outcome
    }
}

#[derive(Deserialize)]
struct SignedBody {
    #[serde(rename = "public-key")]
    public_key: String,
    signatures: Vec<String>,
    proof: String,
}

/// The status is only for error messages: PaymentServer's status codes carry nothing the body
/// does not, and ZKAPAuthorizer ignores them.
fn parse_answer(status: reqwest::StatusCode, body: &str) -> Result<RedeemOutcome, LedgerError> {
    let unexpected = |why: &str| {
        LedgerError::Protocol(format!(
            "issuer answered HTTP {status} with {why}: {}",
            truncated(body)
        ))
    };
    let value: Value = serde_json::from_str(body).map_err(|_| unexpected("a non-JSON body"))?;
    let Some(object) = value.as_object() else {
        return Err(unexpected("JSON that is not an object"));
    };
    if object.get("success").and_then(Value::as_bool) == Some(true) {
        let signed: SignedBody = serde_json::from_value(value)
            .map_err(|e| unexpected(&format!("a malformed success ({e})")))?;
        return Ok(RedeemOutcome::Signed {
            public_key: signed.public_key,
            signatures: signed.signatures,
            proof: signed.proof,
        });
    }
    let reason = object.get("reason").and_then(Value::as_str);
    let number = |key: &str| object.get(key).and_then(Value::as_i64);
    let failure = match reason {
        Some("unpaid") => RedeemFailure::Unpaid,
        Some("double-spend") => RedeemFailure::DoubleSpend,
        Some("wrong number of tokens") => RedeemFailure::WrongNumberOfTokens,
        Some("fingerprint already used") => RedeemFailure::FingerprintAlreadyUsed,
        Some("database temporarily unavailable") => RedeemFailure::DatabaseUnavailable,
        Some("invalid redemption counter") => RedeemFailure::InvalidRedemptionCounter,
        Some("counter-out-of-bounds") => match (number("min"), number("max"), number("received")) {
            (Some(min), Some(max), Some(received)) => {
                RedeemFailure::CounterOutOfBounds { min, max, received }
            }
            _ => unrecognized(reason, body),
        },
        _ => unrecognized(reason, body),
    };
    Ok(RedeemOutcome::Refused(failure))
}

fn unrecognized(reason: Option<&str>, body: &str) -> RedeemFailure {
    RedeemFailure::Unrecognized {
        reason: reason.map(str::to_owned),
        body: body.to_owned(),
    }
}

fn truncated(body: &str) -> String {
    const LIMIT: usize = 200;
    match body.char_indices().nth(LIMIT) {
        Some((end, _)) => format!("{}…", &body[..end]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn refused(body: &str) -> RedeemFailure {
        match parse_answer(StatusCode::INTERNAL_SERVER_ERROR, body) {
            Ok(RedeemOutcome::Refused(failure)) => failure,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn server_side_failures_are_typed() {
        let db = r#"{"success": false, "reason": "database temporarily unavailable"}"#;
        assert_eq!(refused(db), RedeemFailure::DatabaseUnavailable);
        let counter = r#"{"success": false, "reason": "invalid redemption counter"}"#;
        assert_eq!(refused(counter), RedeemFailure::InvalidRedemptionCounter);
    }

    #[test]
    fn odd_refusals_keep_the_body() {
        let body = r#"{"success": false, "reason": "counter-out-of-bounds"}"#;
        let expected = RedeemFailure::Unrecognized {
            reason: Some("counter-out-of-bounds".into()),
            body: body.into(),
        };
        assert_eq!(refused(body), expected);
        let body = r#"{"error": "nope"}"#;
        let expected = RedeemFailure::Unrecognized {
            reason: None,
            body: body.into(),
        };
        assert_eq!(refused(body), expected);
    }

    #[test]
    fn malformed_answers_are_protocol_errors() {
        let long = "x".repeat(5000);
        for body in [
            r#"{"success": true, "proof": "p"}"#,
            "[1, 2]",
            long.as_str(),
        ] {
            match parse_answer(StatusCode::OK, body) {
                Err(LedgerError::Protocol(text)) => {
                    assert!(text.contains("200"), "{text}");
                    assert!(text.len() < 400, "{text}");
                }
                other => panic!("expected a protocol error, got {other:?}"),
            }
        }
    }

    #[test]
    fn redeem_url_appends_to_the_root() {
        let client = reqwest::Client::new();
        for root in ["http://issuer:8080/pay", "http://issuer:8080/pay/"] {
            let issuer = ZkapIssuer::new(client.clone(), root).unwrap();
            assert_eq!(
                issuer.redeem_url.as_str(),
                "http://issuer:8080/pay/v1/redeem"
            );
        }
        assert!(ZkapIssuer::new(client.clone(), "not a url").is_err());
        assert!(ZkapIssuer::new(client, "mailto:x@y").is_err());
    }
}
