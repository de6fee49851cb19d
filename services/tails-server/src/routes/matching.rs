//! `GET /match/{substring}`: stored names containing the substring, as a JSON array.

use actix_web::{HttpResponse, web};

use crate::app::AppState;
use crate::error::Error;
use crate::ops::matching;

pub async fn by_substring(
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Error> {
    let names = matching::names_containing(&state, path.into_inner()).await?;
    Ok(HttpResponse::Ok().json(names))
}
