//! The "Messages" page (issue #13, item 3): the signed-in account's direct conversations,
//! newest message first, with who is in each, the last message, and a mark on unread
//! ones; each can be marked read or removed (until a new message in it).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::auth::CsrfOnly;
use super::context::Ctx;
use super::pages::{MessagesPage, render};
use super::stories::{PageQuery, next_href, parse_id};
use crate::error::AppError;
use crate::service::timelines::Range;
use crate::service::{PAGE_SIZE, Services, conversations};

pub async fn page(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let range = Range {
        max_id: q.before,
        ..Range::newest(PAGE_SIZE)
    };
    let page = conversations::list(&svc, user.id, range).await?;
    let next_before = (page.keys.len() as i64 == PAGE_SIZE)
        .then(|| page.keys.last().copied())
        .flatten();
    render(&MessagesPage {
        ctx: &ctx,
        next_href: next_href("/messages", next_before),
        items: page.items,
    })
}

/// `POST /messages/{id}/read`.
pub async fn read(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    conversations::mark_read(&svc, user.id, id).await?;
    Ok(Redirect::to("/messages").into_response())
}

/// `POST /messages/{id}/remove`.
pub async fn remove(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    conversations::remove(&svc, user.id, id).await?;
    Ok(Redirect::to("/messages").into_response())
}
