//! `GET /search?q=...&page=N`: stories, replies and accounts.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::context::Ctx;
use super::pages::{FormErrors, SearchPage, render_status};
use crate::error::AppError;
use crate::service::{Services, search};

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
    match search::search(&svc, &query, page).await {
        Ok(results) => {
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
                    accounts: results.accounts,
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
