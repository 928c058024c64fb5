//! `/api/v1/accounts`: one's own account (verify and update), other accounts, their posts,
//! followers and following, follow / unfollow, relationships, lookup and search.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::response::Response;
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::entities::{Account, Relationship};
use super::params::{HtmlQuery, flag, id_list, page_url, path_id, range};
use super::timelines::status_page;
use super::{ApiForm, Auth, Paging, paged};
use crate::error::AppError;
use crate::federation::resolve;
use crate::service::relationships::{self, AccountView};
use crate::service::timelines::{self, AccountPostsFilter, Paged};
use crate::service::{Services, accounts, search};

pub fn routes() -> Router<Services> {
    Router::new()
        .route(
            "/api/v1/accounts/verify_credentials",
            get(verify_credentials),
        )
        .route(
            "/api/v1/accounts/update_credentials",
            patch(update_credentials),
        )
        .route("/api/v1/accounts/relationships", get(relationships))
        .route("/api/v1/accounts/lookup", get(lookup))
        .route("/api/v1/accounts/search", get(search_accounts))
        .route("/api/v1/accounts/{id}", get(show))
        .route("/api/v1/accounts/{id}/statuses", get(statuses))
        .route("/api/v1/accounts/{id}/followers", get(followers))
        .route("/api/v1/accounts/{id}/following", get(following))
        .route("/api/v1/accounts/{id}/follow", post(follow))
        .route("/api/v1/accounts/{id}/unfollow", post(unfollow))
}

async fn verify_credentials(
    State(svc): State<Services>,
    auth: Auth,
) -> Result<Json<Account>, AppError> {
    // The `profile` scope opens this one endpoint (Mastodon 4.3).
    let user = auth
        .user("profile")
        .or_else(|_| auth.user("read:accounts"))?;
    let view = relationships::account(&svc, user.id).await?;
    Ok(Json(Account::credential(&view, svc.base_url())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CredentialsForm {
    display_name: Option<String>,
    note: Option<String>,
}

/// Changes the display name and bio (`note`); other fields (avatar, header, locked, …)
/// are accepted and ignored.
async fn update_credentials(
    State(svc): State<Services>,
    auth: Auth,
    ApiForm(form): ApiForm<CredentialsForm>,
) -> Result<Json<Account>, AppError> {
    let user = auth.user("write:accounts")?;
    let current = relationships::account(&svc, user.id).await?;
    let display_name = form.display_name.unwrap_or(current.display_name);
    let note = form.note.unwrap_or(current.bio);
    accounts::update_profile(&svc, user.id, &display_name, &note).await?;
    let view = relationships::account(&svc, user.id).await?;
    Ok(Json(Account::credential(&view, svc.base_url())))
}

async fn show(
    State(svc): State<Services>,
    Path(id): Path<String>,
) -> Result<Json<Account>, AppError> {
    let view = relationships::account(&svc, path_id(&id)?).await?;
    Ok(Json(Account::from_view(&view, svc.base_url())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LookupQuery {
    acct: String,
}

/// `GET /api/v1/accounts/lookup?acct=name` or `name@host`: a stored account; a remote one
/// not stored yet is looked up on its server (WebFinger) for a signed-in user.
async fn lookup(
    State(svc): State<Services>,
    auth: Auth,
    Query(q): Query<LookupQuery>,
) -> Result<Json<Account>, AppError> {
    let view = match relationships::lookup(&svc, &q.acct).await {
        Err(e) if e.status() == axum::http::StatusCode::NOT_FOUND && auth.viewer().is_some() => {
            let handle = resolve::Handle::parse(&q.acct).ok_or(e)?;
            let found = resolve::resolve_handle(&svc, &handle)
                .await
                .ok()
                .flatten()
                .filter(|a| a.suspended_at.is_none())
                .ok_or_else(AppError::not_found)?;
            relationships::account(&svc, found.id).await?
        }
        other => other?,
    };
    Ok(Json(Account::from_view(&view, svc.base_url())))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchQuery {
    q: String,
    limit: Option<String>,
}

async fn search_accounts(
    State(svc): State<Services>,
    auth: Auth,
    Query(q): Query<SearchQuery>,
) -> Result<Json<Vec<Account>>, AppError> {
    auth.user("read:accounts")?;
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(40)
        .clamp(1, 80);
    let found = search::search(&svc, &q.q, 1).await?;
    let ids: Vec<i64> = found.accounts.iter().map(|a| a.id).take(limit).collect();
    let views = relationships::accounts(&svc, ids).await?;
    Ok(Json(accounts_json(&views, svc.base_url())))
}

fn accounts_json(views: &[AccountView], base: &str) -> Vec<Account> {
    views.iter().map(|a| Account::from_view(a, base)).collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusesQuery {
    #[serde(deserialize_with = "flag")]
    exclude_replies: bool,
    #[serde(deserialize_with = "flag")]
    exclude_reblogs: bool,
    #[serde(deserialize_with = "flag")]
    only_media: bool,
    #[serde(deserialize_with = "flag")]
    pinned: bool,
    tagged: Option<String>,
}

async fn statuses(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
    HtmlQuery(q): HtmlQuery<StatusesQuery>,
) -> Result<Response, AppError> {
    let id = path_id(&id)?;
    if q.only_media || q.pinned {
        // No media and no pinned posts here; the account must still exist.
        relationships::account(&svc, id).await?;
        return Ok(status_page(&svc, &uri, Paged::empty()));
    }
    let filter = AccountPostsFilter {
        exclude_replies: q.exclude_replies,
        tagged: q.tagged.filter(|t| !t.is_empty()),
        exclude_reblogs: q.exclude_reblogs,
    };
    let viewer = auth.viewer().map(|a| a.id);
    let page = timelines::account(&svc, viewer, id, filter, range(&paging)).await?;
    Ok(status_page(&svc, &uri, page))
}

fn account_page(svc: &Services, uri: &axum::http::Uri, page: Paged<AccountView>) -> Response {
    paged(
        accounts_json(&page.items, svc.base_url()),
        &page_url(svc, uri),
        &page.keys,
    )
}

async fn followers(
    State(svc): State<Services>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let page = relationships::followers(&svc, path_id(&id)?, range(&paging)).await?;
    Ok(account_page(&svc, &uri, page))
}

async fn following(
    State(svc): State<Services>,
    OriginalUri(uri): OriginalUri,
    Path(id): Path<String>,
    Query(paging): Query<Paging>,
) -> Result<Response, AppError> {
    let page = relationships::following(&svc, path_id(&id)?, range(&paging)).await?;
    Ok(account_page(&svc, &uri, page))
}

async fn follow(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = auth.user("write:follows")?;
    let rel = relationships::follow(&svc, user, path_id(&id)?).await?;
    Ok(Json(Relationship::from(&rel)))
}

async fn unfollow(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<Relationship>, AppError> {
    let user = auth.user("write:follows")?;
    let rel = relationships::unfollow(&svc, user, path_id(&id)?).await?;
    Ok(Json(Relationship::from(&rel)))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RelationshipsQuery {
    #[serde(rename = "id[]", alias = "id", deserialize_with = "id_list")]
    ids: Vec<i64>,
}

async fn relationships(
    State(svc): State<Services>,
    auth: Auth,
    HtmlQuery(q): HtmlQuery<RelationshipsQuery>,
) -> Result<Json<Vec<Relationship>>, AppError> {
    let user = auth.user("read:follows")?;
    let mut ids = q.ids;
    ids.truncate(100);
    let rels = relationships::relationships(&svc, user.id, ids).await?;
    Ok(Json(rels.iter().map(Relationship::from).collect()))
}
