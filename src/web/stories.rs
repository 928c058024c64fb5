//! Front page, story pages, submit / edit / delete, tag pages.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::CsrfOnly;
use super::context::Ctx;
use super::pages::{
    FormErrors, IndexPage, ReplyDraft, StoryFormPage, StoryPage, TagPage, render, render_status,
};
use super::polls::PollDraft;
use crate::domain::reaction::PALETTE;
use crate::domain::text::is_valid_tag;
use crate::error::AppError;
use crate::service::replies::{self, ThreadSort};
use crate::service::stories::{Cursor, Sort};
use crate::service::{Services, follows, stories};

#[derive(Deserialize)]
pub struct PageQuery {
    pub before: Option<i64>,
}

/// A story or reply id from a URL; anything else is a page that does not exist.
pub fn parse_id(raw: &str) -> Result<i64, AppError> {
    raw.parse().map_err(|_| AppError::not_found())
}

/// `?before=ID` link to the next page, if there is one.
pub fn next_href(base: &str, next_before: Option<i64>) -> Option<String> {
    next_before.map(|id| format!("{base}?before={id}"))
}

#[derive(Deserialize)]
pub struct FrontQuery {
    sort: Option<String>,
    before: Option<String>,
    after: Option<String>,
}

/// The front page: `?sort=new|top|best`; the next page is `?before=ID` for the newest-first
/// order and `?sort=..&after=CURSOR` for the others.
pub async fn front_page(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<FrontQuery>,
) -> Result<Response, AppError> {
    let sort = Sort::parse(q.sort.as_deref());
    let raw_cursor = q.after.as_deref().or(q.before.as_deref());
    let cursor = match raw_cursor {
        Some(raw) => Some(
            Cursor::parse(sort, raw)
                .ok_or_else(|| AppError::bad_request("That page link is not valid."))?,
        ),
        None => None,
    };
    let page = stories::front_page(&svc, sort, cursor).await?;
    let next_href = page.next.map(|c| match c {
        Cursor::New(id) => format!("/?before={id}"),
        other => format!("/?sort={}&after={}", sort.as_str(), other.encode()),
    });
    render(&IndexPage {
        ctx: &ctx,
        next_href,
        stories: &page.items,
        empty_text: "No stories yet.",
        is_first_page: cursor.is_none(),
        sort: sort.as_str(),
    })
}

#[derive(Deserialize)]
pub struct StoryQuery {
    sort: Option<String>,
}

pub async fn show(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Query(q): Query<StoryQuery>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    story_page(
        &svc,
        &ctx,
        id,
        q.sort.as_deref(),
        ReplyDraft::default(),
        String::new(),
        StatusCode::OK,
    )
    .await
}

/// A story with its engagement and its thread. A deleted story with replies stays readable
/// as a placeholder; without replies it is gone (410); a removed one is gone.
pub async fn story_page(
    svc: &Services,
    ctx: &Ctx,
    id: i64,
    sort: Option<&str>,
    draft: ReplyDraft,
    error: String,
    status: StatusCode,
) -> Result<Response, AppError> {
    let viewer = ctx.user.as_ref().map(|u| u.id);
    let story = stories::get(svc, id, viewer).await?;
    if story.removed || (story.deleted && story.engagement.reply_count == 0) {
        return Err(AppError::gone());
    }
    let sort = ThreadSort::parse(sort);
    let replies = replies::thread(svc, id, sort, viewer).await?;
    let following = match viewer {
        Some(v) => follows::is_following(svc, v, id).await?,
        None => false,
    };
    let can_edit = ctx.user.as_ref().is_some_and(|u| u.id == story.author.id);
    let mut with_polls: Vec<i64> = replies.iter().map(|r| r.id).collect();
    with_polls.push(story.id);
    let polls = crate::service::polls::for_posts(svc, with_polls, viewer).await?;
    render_status(
        status,
        &StoryPage {
            ctx,
            story,
            can_edit,
            following,
            replies,
            sort,
            palette: PALETTE,
            draft,
            error,
            polls,
        },
    )
}

pub async fn new_form(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require_user()?;
    render(&StoryFormPage {
        ctx: &ctx,
        editing: None,
        headline: String::new(),
        body: String::new(),
        spoiler_text: String::new(),
        visibility: "public".to_owned(),
        errors: FormErrors::none(),
        poll: PollDraft::default(),
    })
}

#[derive(Deserialize)]
pub struct StoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    headline: String,
    #[serde(default)]
    body: String,
    /// The optional content warning.
    #[serde(default)]
    spoiler_text: String,
    #[serde(flatten)]
    poll: PollDraft,
    /// Who can see a new story ("" for public); an edit keeps the story's.
    #[serde(default)]
    visibility: String,
}

pub async fn create(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<StoryForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let made = match form.poll.to_poll() {
        Ok(None) => {
            let (h, b, w, v) = (
                &form.headline,
                &form.body,
                &form.spoiler_text,
                &form.visibility,
            );
            stories::create(&svc, user, h, b, w, v).await
        }
        Ok(Some(poll)) => {
            let (h, b, w, v) = (
                &form.headline,
                &form.body,
                &form.spoiler_text,
                &form.visibility,
            );
            crate::service::polls::create_story(&svc, user, h, b, w, v, poll).await
        }
        Err(e) => Err(e),
    };
    match made {
        Ok(id) => Ok(Redirect::to(&format!("/stories/{id}")).into_response()),
        Err(e) => rerender(&ctx, None, form, e),
    }
}

/// Shows the form again with what the person typed and the errors beside the fields.
fn rerender(
    ctx: &Ctx,
    editing: Option<i64>,
    form: StoryForm,
    e: AppError,
) -> Result<Response, AppError> {
    render_status(
        StatusCode::UNPROCESSABLE_ENTITY,
        &StoryFormPage {
            ctx,
            editing,
            headline: form.headline,
            body: form.body,
            spoiler_text: form.spoiler_text,
            visibility: form.visibility,
            errors: FormErrors::from_error(e)?,
            poll: form.poll,
        },
    )
}

pub async fn edit_form(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    let user = ctx.require_user()?;
    let story = stories::get(&svc, id, Some(user.id)).await?;
    if story.deleted {
        return Err(AppError::gone());
    }
    if story.author.id != user.id {
        return Err(AppError::forbidden());
    }
    render(&StoryFormPage {
        ctx: &ctx,
        editing: Some(id),
        headline: story.headline,
        body: story.body,
        spoiler_text: story.spoiler_text,
        visibility: String::new(),
        errors: FormErrors::none(),
        poll: PollDraft::default(),
    })
}

pub async fn update(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<StoryForm>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    match stories::update(
        &svc,
        user,
        id,
        &form.headline,
        &form.body,
        &form.spoiler_text,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to(&format!("/stories/{id}")).into_response()),
        Err(e) => rerender(&ctx, Some(id), form, e),
    }
}

pub async fn delete(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    stories::delete(&svc, user, id).await?;
    Ok(Redirect::to(&format!("/@{}", user.username)).into_response())
}

pub async fn tag_page(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(tag): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    if !is_valid_tag(&tag) {
        return Err(AppError::not_found());
    }
    let found = stories::by_tag(&svc, &tag, q.before).await?;
    let (tag_row, page) = &*found;
    render(&TagPage {
        ctx: &ctx,
        next_href: next_href(&format!("/tags/{}", tag_row.name_lower), page.next_before),
        tag_name: tag_row.name.clone(),
        stories: &page.items,
        empty_text: "No stories with this tag yet.",
    })
}
