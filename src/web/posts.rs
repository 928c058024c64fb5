//! Acting on posts (stories and replies): votes, boosts, reactions, replies, following a story,
//! and the page of a single reply. Every form answers with a redirect back to the page it
//! came from, so it works without JavaScript; app.js swaps the changed part in place.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{CsrfOnly, safe_return_to};
use super::context::Ctx;
use super::pages::{NotificationsPage, ReplyDraft, ReplyPageView, render, render_status};
use super::stories::{PageQuery, next_href, parse_id};
use crate::domain::reaction::PALETTE;
use crate::error::AppError;
use crate::service::replies::{self, ReplyPage};
use crate::service::votes::{self, VoteChoice};
use crate::service::{Services, boosts, follows, notifications, reactions};

#[derive(Deserialize)]
pub struct VoteForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    value: String,
    return_to: Option<String>,
}

pub async fn vote(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<VoteForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let choice = VoteChoice::parse(&form.value)?;
    votes::vote(&svc, user, id, choice).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

#[derive(Deserialize)]
pub struct BoostForm {
    #[serde(default)]
    csrf: String,
    /// `on` boosts, `off` takes the boost back (the button sends the other of the two).
    #[serde(default)]
    value: String,
    return_to: Option<String>,
}

/// The Boost button: boosts a post, or takes the boost back.
pub async fn boost(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<BoostForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    match form.value.as_str() {
        "on" => boosts::boost(&svc, user, id).await?,
        "off" => boosts::unboost(&svc, user, id).await?,
        _ => return Err(AppError::field("value", "Boost takes on or off")),
    };
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

#[derive(Deserialize)]
pub struct ReactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    emoji: String,
    return_to: Option<String>,
}

pub async fn react(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReactForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    reactions::react(&svc, user, id, &form.emoji).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

pub async fn unreact(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReactForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    reactions::unreact(&svc, user, id, &form.emoji).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

#[derive(Deserialize)]
pub struct ReplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    body: String,
    /// The optional content warning.
    #[serde(default)]
    spoiler_text: String,
    #[serde(flatten)]
    poll: super::polls::PollDraft,
    /// Who can see it ("" for the parent's audience; never wider than it).
    #[serde(default)]
    visibility: String,
}

/// Publishes a reply; a rejected one comes back on the parent's reply page with the text kept.
pub async fn reply(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ReplyForm>,
) -> Result<Response, AppError> {
    let parent = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let made = match form.poll.to_poll() {
        Ok(None) => {
            let (b, w, v) = (&form.body, &form.spoiler_text, &form.visibility);
            replies::reply(&svc, user, parent, b, w, v).await
        }
        Ok(Some(poll)) => {
            let (b, w, v) = (&form.body, &form.spoiler_text, &form.visibility);
            crate::service::polls::create_reply(&svc, user, parent, b, w, v, poll).await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(new_id) => Ok(Redirect::to(&format!("/replies/{new_id}")).into_response()),
        Err(e) if !e.field_errors().is_empty() => {
            let message = e.public_message();
            reply_page(
                &svc,
                &ctx,
                parent,
                ReplyDraft {
                    body: form.body,
                    warning: form.spoiler_text,
                    poll: form.poll,
                    visibility: form.visibility,
                },
                message,
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(e) => Err(e),
    }
}

/// The page to write a reply on: the reply page for a reply, the story for a story.
async fn reply_page(
    svc: &Services,
    ctx: &Ctx,
    parent: i64,
    draft: ReplyDraft,
    error: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    match replies::get(svc, parent, ctx.user.as_ref().map(|u| u.id)).await {
        Ok(page) => render_reply_page(svc, ctx, page, draft, error, status).await,
        Err(e) if matches!(e.kind, crate::error::ErrorKind::NotFound) => {
            // The parent is a story: show its page with the form filled in again.
            super::stories::story_page(svc, ctx, parent, None, draft, error, status).await
        }
        Err(e) => Err(e),
    }
}

async fn render_reply_page(
    svc: &Services,
    ctx: &Ctx,
    mut page: ReplyPage,
    draft: ReplyDraft,
    error: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut replies = vec![page.reply.clone()];
    replies.append(&mut page.below);
    let ids = replies.iter().map(|r| r.id).collect();
    let viewer = ctx.user.as_ref().map(|u| u.id);
    let polls = crate::service::polls::for_posts(svc, ids, viewer).await?;
    render_status(
        status,
        &ReplyPageView {
            ctx,
            page,
            replies,
            draft,
            error,
            palette: PALETTE,
            polls,
        },
    )
}

pub async fn show_reply(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let page = replies::get(&svc, id, ctx.user.as_ref().map(|u| u.id)).await?;
    render_reply_page(
        &svc,
        &ctx,
        page,
        ReplyDraft::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

pub async fn delete_reply(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    replies::delete(&svc, user, id).await?;
    Ok(Redirect::to(&format!("/replies/{id}")).into_response())
}

#[derive(Deserialize)]
pub struct FollowForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
}

pub async fn follow(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    follows::follow_story(&svc, user, id).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

pub async fn unfollow(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    follows::unfollow_story(&svc, user, id).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

/// Lists notifications (new ones marked) and marks them read.
pub async fn notifications_page(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let page = notifications::list(&svc, user.id, q.before).await?;
    if q.before.is_none() {
        notifications::mark_all_read(&svc, user.id).await?;
    }
    render(&NotificationsPage {
        ctx: &ctx,
        next_href: next_href("/notifications", page.next_before),
        items: page.items,
    })
}
