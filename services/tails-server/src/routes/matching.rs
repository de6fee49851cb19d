//! `GET /match/{substring}`: stored names containing the substring. Names only; the original
//! leaked absolute server paths here.

use actix_web::{HttpResponse, web};

use super::AppState;
use crate::error::TailsError;

pub async fn by_substring(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, TailsError> {
    let names = state.storage.matching(path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(names))
}
