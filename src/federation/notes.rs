//! Stories and replies as `Note`s, and their `replies` collections.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, Method, Uri};

use super::actors::{PageQuery, collection, collection_page};
use super::store::{self, Fetched};
use super::{FedError, FedResult, activity_json, objects, urls};
use crate::error::AppError;
use crate::service::Services;
use crate::service::visibility::{self, Audience};

/// A local post of the kind its path names, not removed by a moderator. A deleted public
/// or unlisted post is `Gone` with its Tombstone.
async fn local_post_at(svc: &Services, path: &str) -> Result<Fetched, FedError> {
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
    // A deleted followers-only or direct post is not revealed by its Tombstone either.
    if post.deleted && visibility::is_open(&post.visibility) {
        return Err(FedError::Gone(objects::tombstone(&post.ap_id)));
    }
    if post.removed || post.deleted {
        return Err(AppError::not_found().into());
    }
    Ok(found)
}

/// A post as anyone may fetch it: public or unlisted (see [`local_post_at`]).
async fn fetchable(svc: &Services, path: &str) -> Result<Fetched, FedError> {
    let found = local_post_at(svc, path).await?;
    if !visibility::is_open(&found.post.visibility) {
        return Err(AppError::not_found().into());
    }
    Ok(found)
}

/// What a GET of one of our objects carries to prove who asks (a signature).
pub struct Asker<'a> {
    pub method: &'a Method,
    pub uri: &'a Uri,
    pub headers: &'a HeaderMap,
}

/// The `Note` at a post's path (`/stories/{id}` or `/replies/{id}`). Public and unlisted
/// ones to anyone; followers-only and direct ones only to a signed request whose signer,
/// or an account on its server, may see the post (`visibility::server_may_see`);
/// otherwise 404, as for a post that does not exist. Public posts never check signatures.
pub async fn note_document(svc: &Services, path: &str, asker: Asker<'_>) -> FedResult {
    let found = local_post_at(svc, path).await?;
    if !visibility::is_open(&found.post.visibility) {
        let Ok(signer) =
            super::inbox::signed_by(svc, asker.method, asker.uri, asker.headers, None).await
        else {
            return Err(AppError::not_found().into());
        };
        let post = &found.post;
        let (post_id, author_id, vis) = (post.id, post.author.id, post.visibility.clone());
        let allowed = svc
            .db
            .run(move |conn| {
                visibility::server_may_see(
                    conn,
                    signer.id,
                    signer.domain.as_deref(),
                    Audience {
                        post_id,
                        author_id,
                        visibility: &vis,
                    },
                )
            })
            .await?;
        if !allowed {
            return Err(AppError::not_found().into());
        }
    }
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
