//! `/new/<address>` and `/heartbeat/<token>`.

use actix_web::{HttpRequest, HttpResponse, web};

use super::extract::{Claim, ClientIp, TokenPath, client_ip};
use crate::app::AppState;
use crate::error::Error;
use crate::ops::register;

pub async fn new_get(
    req: HttpRequest,
    state: web::Data<AppState>,
    address: web::Path<String>,
) -> Result<HttpResponse, Error> {
    if state.settings.require_signature {
        return Err(Error::SignatureRequired);
    }
    let ip = client_ip(&req, &state)?;
    let response = register::create_token(&state, &address, ip, None).await?;
    Ok(HttpResponse::Ok().json(response))
}

pub async fn new_post(
    state: web::Data<AppState>,
    ClientIp(ip): ClientIp,
    address: web::Path<String>,
    Claim(signed): Claim,
) -> Result<HttpResponse, Error> {
    let response = register::create_token(&state, &address, ip, signed).await?;
    Ok(HttpResponse::Ok().json(response))
}

pub async fn heartbeat(
    state: web::Data<AppState>,
    TokenPath(token): TokenPath,
) -> Result<HttpResponse, Error> {
    let response = register::heartbeat(&state, token).await?;
    Ok(HttpResponse::Ok().json(response))
}
