//! Stories and replies as `Note`s, and their `replies` collections.

use axum::extract::{RawQuery, State};

use super::actors::{PageQuery, collection, collection_page};
use super::store::{self, Fetched};
use super::{FedError, FedResult, activity_json, objects, urls};
use crate::error::AppError;
use crate::service::Services;

/// A post as anyone may fetch it: local, the kind of post its path names, public or
/// unlisted, not removed by a moderator. A deleted post is `Gone` with its Tombstone.
async fn fetchable(svc: &Services, path: &str) -> Result<Fetched, FedError> {
    let (kind, id) = path
        .trim_start_matches('/')
        .split_once('/')
        .ok_or_else(AppError::not_found)?;
    let id: i64 = id.parse().map_err(|_| AppError::not_found())?;
    let found = store::local_post(svc, id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let post = &found.post;
    let is_story = post.is_story();
    let kind_matches = (kind == "stories" && is_story) || (kind == "replies" && !is_story);
    if !kind_matches {
        return Err(AppError::not_found().into());
    }
    if post.deleted {
        return Err(FedError::Gone(objects::tombstone(&post.ap_id)));
    }
    if post.removed || !matches!(post.visibility.as_str(), "public" | "unlisted") {
        return Err(AppError::not_found().into());
    }
    Ok(found)
}

/// The `Note` at a post's path (`/stories/{id}` or `/replies/{id}`).
pub async fn note_document(svc: &Services, path: &str) -> FedResult {
    let found = fetchable(svc, path).await?;
    Ok(activity_json(&objects::note_document(
        &urls(svc),
        &found.post,
        found.parent_ap_id,
    )))
}

/// `GET /stories/{id}/replies` and `/replies/{id}/replies`: ids of the direct replies,
/// oldest first, paged by `min_id`.
pub async fn replies(
    State(svc): State<Services>,
    RawQuery(query): RawQuery,
    uri: axum::http::Uri,
) -> FedResult {
    let parent_path = uri
        .path()
        .strip_suffix("/replies")
        .ok_or_else(AppError::not_found)?;
    let found = fetchable(&svc, parent_path).await?;
    let collection_id = format!("{}/replies", found.post.ap_id);
    let q = PageQuery::parse(query.as_deref());
    let total = store::replies_count(&svc, found.post.id).await?;
    if !q.page {
        return Ok(collection(&collection_id, total));
    }
    let page = store::replies_page(&svc, found.post.id, q.min_id).await?;
    Ok(collection_page(
        &collection_id,
        "min_id",
        q.min_id,
        total,
        page,
    ))
}
