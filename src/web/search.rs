//! `GET /search?q=...&page=N`: stories, replies and accounts; a post's URL leads to the
//! post.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::context::Ctx;
use super::pages::{AccountHit, FollowButton, FormErrors, SearchPage, render_status};
use crate::error::AppError;
use crate::federation::resolve;
use crate::service::views::AuthorView;
use crate::service::{Services, relationships, reports, search};

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    /// Kept as text so a mangled number shows the first page instead of an error.
    page: Option<String>,
}

/// `/search?q=QUERY&page=N`.
fn search_href(query: &str, page: u32) -> String {
    let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
    if page <= 1 {
        format!("/search?q={q}")
    } else {
        format!("/search?q={q}&page={page}")
    }
}

pub async fn search_page(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(params): Query<SearchQuery>,
) -> Result<Response, AppError> {
    let page = params
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<u32>().ok())
        .filter(|&p| p >= 1)
        .unwrap_or(1);
    // Control characters (a NUL above all) are never part of a search.
    let query: String = params
        .q
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let query = query.trim().to_owned();
    // A post's URL, from a signed-in reader: go to that post here, fetched from its
    // server if need be (how people answer a post they saw elsewhere).
    if ctx.user.is_some()
        && page == 1
        && let Some(found) = resolve::resolve_post_query(&svc, &query).await
    {
        return Ok(Redirect::to(&found.path()).into_response());
    }
    match search::search(&svc, &query, page).await {
        Ok(results) => {
            let accounts = account_hits(&svc, &ctx, &query, page, results.accounts).await?;
            let searched = !query.is_empty();
            let next_href = results
                .has_more
                .then(|| search_href(&query, results.page.saturating_add(1)));
            let prev_href =
                (searched && results.page > 1).then(|| search_href(&query, results.page - 1));
            render_status(
                StatusCode::OK,
                &SearchPage {
                    ctx: &ctx,
                    query,
                    error: None,
                    searched,
                    accounts,
                    posts: results.posts,
                    next_href,
                    prev_href,
                },
            )
        }
        Err(e) => {
            // A refused query comes back in the box with the reason beside it.
            let errors = FormErrors::from_error(e)?;
            let error = errors.get("q").or(errors.general()).map(str::to_owned);
            render_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &SearchPage {
                    ctx: &ctx,
                    query,
                    error,
                    searched: false,
                    accounts: Vec::new(),
                    posts: Vec::new(),
                    next_href: None,
                    prev_href: None,
                },
            )
        }
    }
}

/// The accounts found, with follow buttons for a signed-in viewer. A handle
/// (`@name@server`) or an actor URL comes first: the stored account, or for a signed-in
/// viewer the one found on its server.
async fn account_hits(
    svc: &Services,
    ctx: &Ctx,
    query: &str,
    page: u32,
    found: Vec<AuthorView>,
) -> Result<Vec<AccountHit>, AppError> {
    let mut authors = found;
    if page == 1 && query.contains(['@', '/']) {
        let exact = match &ctx.user {
            Some(_) => resolve::resolve_query(svc, query).await,
            None => reports::account_by_handle(svc, query)
                .await?
                .filter(|a| a.suspended_at.is_none() && query.contains('@')),
        };
        if let Some(a) = exact {
            authors.retain(|x| x.id != a.id);
            authors.insert(
                0,
                AuthorView {
                    id: a.id,
                    username: a.username,
                    domain: a.domain,
                    display_name: a.display_name,
                },
            );
        }
    }
    let rels = match &ctx.user {
        Some(viewer) => {
            let ids = authors.iter().map(|a| a.id).collect();
            relationships::relationships(svc, viewer.id, ids).await?
        }
        None => Vec::new(),
    };
    let viewer = ctx.user.as_ref().map(|u| u.id);
    Ok(authors
        .into_iter()
        .map(|author| {
            let follow = rels
                .iter()
                .find(|r| r.id == author.id)
                .filter(|_| viewer != Some(author.id))
                .map(FollowButton::of);
            AccountHit { author, follow }
        })
        .collect())
}
