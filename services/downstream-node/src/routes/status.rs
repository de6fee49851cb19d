//! `/status/list...` and `/status/show/<id>`.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::{ListQuery, ListQueryError};
use crate::error::ApiError;
use crate::node::{Node, status};

pub async fn list(req: HttpRequest, node: web::Data<Node>) -> Result<HttpResponse, ApiError> {
    let tail = req.match_info().get("tail").unwrap_or("");
    let query = ListQuery::parse(tail).map_err(|err| match err {
        ListQueryError::InvalidSort => ApiError::InvalidSort,
        ListQueryError::NoRoute => ApiError::NotFound,
    })?;
    Ok(HttpResponse::Ok().json(status::list(&node, query).await?))
}

pub async fn show(node: web::Data<Node>, id: web::Path<String>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(status::show(&node, &id).await?))
}
