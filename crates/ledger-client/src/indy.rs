//! Client for indy-vdr-proxy (hyperledger/indy-vdr), which answers ledger reads over HTTP with
//! the raw ledger reply.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Deserializer, Serialize};

use crate::LedgerError;

/// A revocation registry definition as stored on the ledger (`result.data` of GET_REVOC_REG_DEF).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevRegDef {
    pub id: String,
    pub cred_def_id: String,
    pub revoc_def_type: String,
    pub tag: String,
    /// Ledgers written by older agents omit it; indy-sdk assumes "1.0" then.
    #[serde(default = "default_ver")]
    pub ver: String,
    pub value: RevRegDefValue,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevRegDefValue {
    pub issuance_type: String,
    #[serde(default, deserialize_with = "number_or_numeric_string")]
    pub max_cred_num: Option<u64>,
    pub tails_hash: String,
    pub tails_location: String,
    #[serde(default)]
    pub public_keys: serde_json::Value,
}

fn default_ver() -> String {
    "1.0".to_owned()
}

fn number_or_numeric_string<'de, D: Deserializer<'de>>(de: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(de)? {
        None => Ok(None),
        Some(Raw::Number(n)) => Ok(Some(n)),
        Some(Raw::Text(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("maxCredNum {s:?} is not a number"))),
    }
}

/// An indy-vdr-proxy at `base_url` (without the `/{namespace}` of `--multiple-ledgers`, include
/// it in `base_url` then).
#[derive(Debug, Clone)]
pub struct IndyVdrProxy {
    client: reqwest::Client,
    base: String,
}

impl IndyVdrProxy {
    pub fn new(client: reqwest::Client, base_url: &str) -> Result<Self, LedgerError> {
        let parsed = url::Url::parse(base_url)
            .map_err(|e| LedgerError::Protocol(format!("invalid proxy URL {base_url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(LedgerError::Protocol(format!(
                "proxy URL {base_url:?} is not http(s)"
            )));
        }
        Ok(Self {
            client,
            base: base_url.trim_end_matches('/').to_owned(),
        })
    }

    /// Fetches a revocation registry definition; `NotFound` when the ledger has none.
    pub async fn rev_reg_def(&self, id: &str) -> Result<RevRegDef, LedgerError> {
        let url = format!(
            "{}/rev_reg_def/{}",
            self.base,
            utf8_percent_encode(id, NON_ALPHANUMERIC)
        );
        let body = self.get_text(&url).await?;
        parse_rev_reg_def_reply(&body)
    }

    /// The pool's genesis transactions; cheap, so it doubles as a reachability probe.
    pub async fn genesis(&self) -> Result<String, LedgerError> {
        self.get_text(&format!("{}/genesis", self.base)).await
    }

    async fn get_text(&self, url: &str) -> Result<String, LedgerError> {
        let request = self
            .client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json");
        let response = crate::request_id::tag(request)
            .send()
            .await
            .map_err(LedgerError::from_transport)?;
        let status = response.status();
        let body = response.text().await.map_err(LedgerError::from_transport)?;
        if status.is_success() {
            return Ok(body);
        }
        log::debug!("indy-vdr-proxy {url} answered {status}: {body}");
        if status == reqwest::StatusCode::GATEWAY_TIMEOUT {
            // indy-vdr-proxy's PoolTimeout: the ledger nodes did not answer in time.
            return Err(LedgerError::TimedOut);
        }
        Err(LedgerError::Refused(format!(
            "{} {}",
            status.as_u16(),
            excerpt(body.trim())
        )))
    }
}

fn parse_rev_reg_def_reply(body: &str) -> Result<RevRegDef, LedgerError> {
    let reply: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| LedgerError::Protocol(format!("reply is not JSON: {e}")))?;
    match reply.get("op").and_then(|op| op.as_str()) {
        Some("REPLY") => {}
        Some(op @ ("REQNACK" | "REJECT")) => {
            let reason = reply.get("reason").and_then(|r| r.as_str()).unwrap_or("");
            return Err(LedgerError::Refused(format!("{op}: {}", excerpt(reason))));
        }
        _ => return Err(LedgerError::Protocol("reply has no op REPLY".to_owned())),
    }
    let data = reply
        .get("result")
        .and_then(|result| result.get("data"))
        .ok_or_else(|| LedgerError::Protocol("reply has no result.data".to_owned()))?;
    let parsed = match data {
        serde_json::Value::Null => return Err(LedgerError::NotFound),
        // Some ledger versions hand `data` over as a JSON-encoded string.
        serde_json::Value::String(text) => serde_json::from_str(text),
        other => RevRegDef::deserialize(other),
    };
    parsed.map_err(|e| LedgerError::Protocol(format!("bad revocation registry definition: {e}")))
}

fn excerpt(text: &str) -> String {
    const MAX: usize = 200;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
