//! `/api/v1/conversations` (issue #13, item 3): the viewer's direct conversations, newest
//! message first (paged by the last message's id, with a `Link` header); mark one read;
//! remove one (it comes back with the next direct post in it).

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{delete, get, post};
use axum::{Json, Router};

use super::entities::Conversation;
use super::params::{page_url, path_id, range};
use super::{Auth, Paging, paged};
use crate::error::AppError;
use crate::service::{Services, conversations};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/conversations", get(list))
        .route("/api/v1/conversations/{id}", delete(remove))
        .route("/api/v1/conversations/{id}/read", post(read))
}

async fn list(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let user = auth.user("read:statuses")?;
    let page = conversations::list(&svc, user.id, range(&paging)).await?;
    let items: Vec<Conversation> = page
        .items
        .iter()
        .map(|c| Conversation::from_view(c, svc.base_url()))
        .collect();
    Ok(paged(items, &page_url(&svc, &uri), &page.keys))
}

async fn read(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Conversation>, AppError> {
    let user = auth.user("write:conversations")?;
    let c = conversations::mark_read(&svc, user.id, path_id(&id)?).await?;
    Ok(Json(Conversation::from_view(&c, svc.base_url())))
}

async fn remove(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.user("write:conversations")?;
    conversations::remove(&svc, user.id, path_id(&id)?).await?;
    Ok(Json(serde_json::json!({})))
}
