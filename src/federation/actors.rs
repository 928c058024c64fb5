//! Actors (`/users/{name}`, the instance actor at `/actor`) and their collections: outbox,
//! followers, following.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Serialize;

use super::protocol::{OrderedCollection, OrderedCollectionPage, object_context};
use super::store::{self, FollowSide, KeyPage};
use super::{FedResult, activity_json, objects, query_param, urls, wants_activitypub, wants_html};
use crate::db::models::Account;
use crate::error::AppError;
use crate::service::{Services, accounts};

async fn local_account(svc: &Services, name: &str) -> Result<Account, AppError> {
    accounts::find_local(svc, name)
        .await?
        .ok_or_else(AppError::not_found)
}

/// The `Person` of a local account.
pub async fn actor_document(svc: &Services, name: &str) -> FedResult {
    let account = local_account(svc, name).await?;
    Ok(activity_json(&objects::person(&urls(svc), &account)))
}

/// `GET /users/{name}`: the actor; a browser is sent to the profile page.
pub async fn actor(
    State(svc): State<Services>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> FedResult {
    if wants_html(&headers) && !wants_activitypub(&headers) {
        let shown = match accounts::find_local(&svc, &name).await? {
            Some(a) => a.username,
            None => name,
        };
        return Ok(Redirect::to(&format!("/@{shown}")).into_response());
    }
    actor_document(&svc, &name).await
}

/// `GET /actor`: the instance actor.
pub async fn instance_actor(State(svc): State<Services>) -> FedResult {
    let key = store::instance_key(&svc).await?;
    Ok(activity_json(&objects::instance_actor(
        &urls(&svc),
        &key.public_key_pem,
    )))
}

/// The parameters of a collection request: `page` and the keyset keys.
pub(crate) struct PageQuery {
    pub page: bool,
    pub max_id: Option<i64>,
    pub min_id: Option<i64>,
}

impl PageQuery {
    pub fn parse(query: Option<&str>) -> PageQuery {
        let num = |name| query_param(query, name).and_then(|v| v.parse::<i64>().ok());
        PageQuery {
            page: query_param(query, "page").is_some_and(|v| v != "false" && v != "0"),
            max_id: num("max_id"),
            min_id: num("min_id"),
        }
    }
}

/// The collection itself: its size and a link to the first page.
pub(crate) fn collection(id: &str, total: i64) -> Response {
    activity_json(&OrderedCollection {
        context: object_context(),
        id: id.to_owned(),
        kind: "OrderedCollection".into(),
        total_items: total,
        first: format!("{id}?page=true"),
    })
}

/// One page of a collection. `key` names the parameter `next` carries (`max_id` for
/// newest-first lists, `min_id` for oldest-first ones).
/// `current` is the value of `key` this page was asked with.
pub(crate) fn collection_page<T: Serialize>(
    id: &str,
    key: &str,
    current: Option<i64>,
    total: i64,
    page: KeyPage<T>,
) -> Response {
    let this = match current {
        Some(k) => format!("{id}?page=true&{key}={k}"),
        None => format!("{id}?page=true"),
    };
    activity_json(&OrderedCollectionPage {
        context: object_context(),
        id: this,
        kind: "OrderedCollectionPage".into(),
        part_of: id.to_owned(),
        total_items: total,
        next: page.next.map(|k| format!("{id}?page=true&{key}={k}")),
        ordered_items: page.items,
    })
}

/// `GET /users/{name}/outbox`: the account's public posts as `Create` activities.
pub async fn outbox(
    State(svc): State<Services>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> FedResult {
    let account = local_account(&svc, &name).await?;
    let id = format!("{}/outbox", account.ap_id);
    let q = PageQuery::parse(query.as_deref());
    let total = store::outbox_count(&svc, account.id).await?;
    if !q.page {
        return Ok(collection(&id, total));
    }
    let page = store::outbox_page(&svc, account.id, q.max_id).await?;
    let u = urls(&svc);
    let page = KeyPage {
        next: page.next,
        items: page
            .items
            .into_iter()
            .map(|f| objects::create(&u, &f.post, f.parent_ap_id))
            .collect(),
    };
    Ok(collection_page(&id, "max_id", q.max_id, total, page))
}

async fn follow_collection(
    svc: &Services,
    name: &str,
    query: Option<String>,
    side: FollowSide,
) -> FedResult {
    let account = local_account(svc, name).await?;
    let id = match side {
        FollowSide::Followers => account
            .followers_url
            .clone()
            .unwrap_or_else(|| format!("{}/followers", account.ap_id)),
        FollowSide::Following => format!("{}/following", account.ap_id),
    };
    let q = PageQuery::parse(query.as_deref());
    let total = store::follow_count(svc, account.id, side).await?;
    if !q.page {
        return Ok(collection(&id, total));
    }
    let page = store::follow_page(svc, account.id, side, q.max_id).await?;
    Ok(collection_page(&id, "max_id", q.max_id, total, page))
}

/// `GET /users/{name}/followers`: actor ids of accepted followers, newest first.
pub async fn followers(
    State(svc): State<Services>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> FedResult {
    follow_collection(&svc, &name, query, FollowSide::Followers).await
}

/// `GET /users/{name}/following`: actor ids the account follows, newest first.
pub async fn following(
    State(svc): State<Services>,
    Path(name): Path<String>,
    RawQuery(query): RawQuery,
) -> FedResult {
    follow_collection(&svc, &name, query, FollowSide::Following).await
}
