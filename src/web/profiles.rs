//! Profile pages and the settings where people edit their own.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::auth::safe_return_to;
use super::context::{Ctx, THEME_COOKIE, Theme};
use super::pages::{FollowButton, FormErrors, ProfilePage, SettingsPage, render, render_status};
use super::stories::{PageQuery, next_href};
use crate::domain::text::render as render_text;
use crate::error::AppError;
use crate::service::views::AuthorView;
use crate::service::{Services, accounts, relationships, reports, stories};

/// `/@name`, and `/@name@server` for an account of another server that is stored here:
/// the bio, a follow button, and "More posts by …" (for a remote account, those of its
/// posts that reached us).
pub async fn profile(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let Some(name) = handle.strip_prefix('@') else {
        return Err(AppError::not_found());
    };
    // `@name` is a local account, `@name@domain` a remote one (its bio is HTML that was
    // sanitised when its actor was fetched; sanitised again here).
    let account = match name.split_once('@') {
        None => accounts::find_local(&svc, name).await?,
        Some(_) => reports::account_by_handle(&svc, name)
            .await?
            .filter(|a| !a.is_local()),
    }
    .ok_or_else(AppError::not_found)?;
    let viewer = ctx.user.as_ref().map(|u| u.id);
    let page = stories::by_account(&svc, account.id, q.before, viewer).await?;
    let bio_html = if account.is_local() {
        render_text(&account.bio, svc.base_url())
    } else {
        crate::domain::html::sanitize(&account.bio)
    };
    let follow = match &ctx.user {
        Some(viewer) if viewer.id != account.id => {
            let rel = relationships::relationships(&svc, viewer.id, vec![account.id]).await?;
            rel.first().map(FollowButton::of)
        }
        _ => None,
    };
    let is_moderator = account.is_admin || account.is_moderator;
    let suspended = account.suspended_at.is_some();
    let author = AuthorView {
        id: account.id,
        username: account.username,
        domain: account.domain,
        display_name: account.display_name,
    };
    render(&ProfilePage {
        ctx: &ctx,
        is_moderator,
        suspended,
        next_href: next_href(&author.profile_path(), page.next_before),
        author,
        bio_html,
        follow,
        stories: &page.items,
        empty_text: "No stories yet.",
    })
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

pub async fn settings_form(ctx: Ctx, Query(q): Query<SavedQuery>) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    render(&SettingsPage {
        ctx: &ctx,
        display_name: user.display_name.clone(),
        bio: user.bio.clone(),
        errors: FormErrors::none(),
        saved: q.saved.is_some(),
    })
}

#[derive(Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    bio: String,
}

pub async fn save_settings(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    match accounts::update_profile(&svc, user.id, &form.display_name, &form.bio).await {
        Ok(()) => Ok(Redirect::to("/settings?saved=1").into_response()),
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SettingsPage {
                ctx: &ctx,
                display_name: form.display_name,
                bio: form.bio,
                errors: FormErrors::from_error(e)?,
                saved: false,
            },
        ),
    }
}

#[derive(Deserialize)]
pub struct ThemeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    theme: String,
    return_to: Option<String>,
}

/// "Use dark theme": remembered in a cookie for a year; "system" forgets the choice.
pub async fn set_theme(
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<ThemeForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let theme = Theme::parse(&form.theme).ok_or_else(|| AppError::bad_request("Unknown theme."))?;
    let jar = match theme.attr() {
        Some(value) => jar.add(ctx.cookie(THEME_COOKIE, value.to_owned(), 365)),
        None => jar.add(ctx.cookie(THEME_COOKIE, String::new(), 0)),
    };
    Ok((
        jar,
        Redirect::to(&safe_return_to(form.return_to.as_deref())),
    )
        .into_response())
}

#[derive(Deserialize)]
pub struct FollowForm {
    #[serde(default)]
    csrf: String,
    return_to: Option<String>,
}

fn account_id(id: &str) -> Result<i64, AppError> {
    id.parse().map_err(|_| AppError::not_found())
}

/// The Follow button: a local account is followed at once; a remote one gets a `Follow`
/// and shows "Requested" until its server accepts.
pub async fn follow(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    relationships::follow(&svc, user, account_id(&id)?).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}

/// Unfollow, or withdraw a request (a remote account gets `Undo(Follow)`).
pub async fn unfollow(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<FollowForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    relationships::unfollow(&svc, user, account_id(&id)?).await?;
    Ok(Redirect::to(&safe_return_to(form.return_to.as_deref())).into_response())
}
