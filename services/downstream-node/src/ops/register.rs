//! Registration (`/new`) and the token check (`/heartbeat`).

use std::net::IpAddr;

use serde::Serialize;
use service_kit::bitcoin::verify_message_lenient;

use super::ip_text;
use crate::app::AppState;
use crate::db::{addresses, tokens};
use crate::domain::{FarmerToken, SjcxAddress, now_millis};
use crate::error::Error;
use crate::heartbeat::{HEARTBEAT_TYPE, PublicHeartbeat};

#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub token: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub heartbeat: PublicHeartbeat,
}

impl TokenResponse {
    fn new(state: &AppState, token: String) -> Self {
        Self {
            token,
            kind: HEARTBEAT_TYPE,
            heartbeat: PublicHeartbeat::new(state.settings.check_fraction),
        }
    }
}

/// A signed ownership claim of `/new`.
#[derive(Debug, Clone, Default)]
pub struct Signed {
    pub message: String,
    pub signature: String,
}

/// A new token for the farmer of `address`, calling from `ip`, after the signature, IP and
/// whitelist rules.
pub async fn create_token(
    state: &AppState,
    address: &str,
    ip: IpAddr,
    signed: Option<Signed>,
) -> Result<TokenResponse, Error> {
    let settings = state.settings.clone();
    let address_text = address.to_owned();
    let ip_string = ip_text(ip);
    let location = state.location_json(ip);
    let token = FarmerToken::generate();
    let created = token.as_hex();
    state
        .db
        .write(move |conn| {
            let address = SjcxAddress::parse(&address_text);
            let signed = signed.unwrap_or_default();
            if settings.require_signature {
                let address = address.ok_or(Error::InvalidAddress)?;
                verify_message_lenient(address.bitcoin(), &signed.signature, &signed.message)
                    .map_err(|_| Error::SignatureInvalid)?;
            }
            if tokens::count_by_ip(conn, &ip_string)? >= i64::from(settings.max_tokens_per_ip) {
                return Err(Error::IpDisallowed(settings.max_tokens_per_ip));
            }
            let address = address.ok_or(Error::InvalidAddress)?.to_string();
            let row = if settings.require_whitelist {
                addresses::find(conn, &address)?
                    .filter(|row| row.crowdsale_balance >= settings.min_balance)
                    .ok_or(Error::NotWhitelisted)?
            } else {
                addresses::find_or_create(conn, &address)?
            };
            let token_hex = token.as_hex();
            let farmer_id = token.farmer_id();
            tokens::insert(
                conn,
                &tokens::NewToken {
                    token: &token_hex,
                    farmer_id: farmer_id.as_str(),
                    address_id: row.id,
                    address: &address,
                    ip_address: &ip_string,
                    location: location.as_deref(),
                    message: &signed.message,
                    signature: &signed.signature,
                    created_at: now_millis(),
                    hbcount: 0,
                    online_contracts: 0,
                    online_size: 0,
                    online: false,
                    uptime: 0.0,
                    upsum_closed: 0,
                },
            )?;
            Ok(())
        })
        .await?;
    log::info!("new farmer {} for {address}", token.farmer_id().as_str());
    Ok(TokenResponse::new(state, created))
}

/// `/heartbeat/<token>`: the same answer as `/new` for an existing token, else 404.
pub async fn heartbeat(
    state: &AppState,
    token: Option<FarmerToken>,
) -> Result<TokenResponse, Error> {
    let token = token.ok_or(Error::TokenNotFound)?;
    let hex = token.as_hex();
    let found = state
        .db
        .run(move |conn| Ok::<_, Error>(tokens::find(conn, &hex)?.is_some()))
        .await?;
    if !found {
        return Err(Error::TokenNotFound);
    }
    Ok(TokenResponse::new(state, token.as_hex()))
}
