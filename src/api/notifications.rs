//! `/api/v1/notifications`: list (with `types[]` / `exclude_types[]`), one, dismiss, clear.
//!
//! Our kinds map to Mastodon's types: a reply, a reply in a followed story and a mention
//! are `mention`; an up-vote is `favourite`; a reaction is `pleroma:emoji_reaction` (with
//! `emoji`); a follow is `follow`. Down-votes are not listed here.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::entities::{Notification, kinds_of_type};
use super::params::{HtmlQuery, page_url, path_id, range, string_list};
use super::{Auth, Paging, paged};
use crate::error::AppError;
use crate::service::Services;
use crate::service::notification_feed::{self, ALL_KINDS};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/notifications", get(list))
        .route("/api/v1/notifications/clear", post(clear))
        .route("/api/v1/notifications/{id}", get(show))
        .route("/api/v1/notifications/{id}/dismiss", post(dismiss))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TypesQuery {
    #[serde(rename = "types[]", alias = "types", deserialize_with = "string_list")]
    types: Vec<String>,
    #[serde(
        rename = "exclude_types[]",
        alias = "exclude_types",
        deserialize_with = "string_list"
    )]
    exclude_types: Vec<String>,
}

/// Our kinds for Mastodon's `types[]` and `exclude_types[]`.
fn kinds_for(q: &TypesQuery) -> Vec<String> {
    let included: Vec<&str> = if q.types.is_empty() {
        ALL_KINDS.to_vec()
    } else {
        q.types
            .iter()
            .flat_map(|t| kinds_of_type(t).iter().copied())
            .collect()
    };
    let excluded: Vec<&str> = q
        .exclude_types
        .iter()
        .flat_map(|t| kinds_of_type(t).iter().copied())
        .collect();
    included
        .into_iter()
        .filter(|k| !excluded.contains(k))
        .map(str::to_owned)
        .collect()
}

async fn list(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Query(paging): Query<Paging>,
    HtmlQuery(q): HtmlQuery<TypesQuery>,
) -> Result<Response, AppError> {
    let user = auth.user("read:notifications")?;
    let page = notification_feed::list(&svc, user.id, kinds_for(&q), range(&paging)).await?;
    let base = svc.base_url();
    let items: Vec<Notification> = page
        .items
        .iter()
        .map(|n| Notification::from_entry(n, base))
        .collect();
    Ok(paged(items, &page_url(&svc, &uri), &page.keys))
}

async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Notification>, AppError> {
    let user = auth.user("read:notifications")?;
    let entry = notification_feed::get(&svc, user.id, path_id(&id)?).await?;
    Ok(Json(Notification::from_entry(&entry, svc.base_url())))
}

async fn dismiss(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.user("write:notifications")?;
    notification_feed::dismiss(&svc, user.id, path_id(&id)?).await?;
    Ok(Json(serde_json::json!({})))
}

async fn clear(
    State(svc): State<Services>,
    auth: Auth,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.user("write:notifications")?;
    notification_feed::clear(&svc, user.id).await?;
    Ok(Json(serde_json::json!({})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_map_to_our_kinds() {
        let q = TypesQuery {
            types: vec!["mention".into(), "favourite".into()],
            exclude_types: vec![],
        };
        assert_eq!(
            kinds_for(&q),
            ["reply", "followed_reply", "mention", "vote"]
        );
        let q = TypesQuery {
            types: vec![],
            exclude_types: vec!["mention".into(), "pleroma:emoji_reaction".into()],
        };
        assert_eq!(kinds_for(&q), ["vote", "reblog", "follow", "poll"]);
        let q = TypesQuery {
            types: vec!["poll".into()],
            exclude_types: vec![],
        };
        assert_eq!(kinds_for(&q), ["poll"]);
        let q = TypesQuery {
            types: vec!["status".into()],
            exclude_types: vec![],
        };
        assert!(kinds_for(&q).is_empty());
    }
}
