//! `/chunk/<token>[/<size>]`.

use actix_web::{HttpResponse, web};

use super::extract::{ClientIp, TokenPath};
use crate::app::AppState;
use crate::domain::FarmerToken;
use crate::error::Error;
use crate::ops::chunks;

pub async fn chunk(
    state: web::Data<AppState>,
    ClientIp(ip): ClientIp,
    TokenPath(token): TokenPath,
) -> Result<HttpResponse, Error> {
    let offers = chunks::allocate(&state, token, ip, None).await?;
    Ok(HttpResponse::Ok().json(offers))
}

pub async fn chunk_sized(
    state: web::Data<AppState>,
    ClientIp(ip): ClientIp,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (token, size) = path.into_inner();
    // Flask's <int:size> route: anything else is no route at all.
    let size: u64 = size.parse().map_err(|_| Error::NotFound)?;
    let offers = chunks::allocate(&state, FarmerToken::parse(&token), ip, Some(size)).await?;
    Ok(HttpResponse::Ok().json(offers))
}
