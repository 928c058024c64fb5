//! Reporting stories, replies and accounts; the moderation queue, actions and log.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{CsrfOnly, safe_return_to};
use super::context::Ctx;
use super::pages::{
    FormErrors, ModerationLogPage, ModerationPage, ReportFormPage, ReportSentPage, render,
    render_status,
};
use super::stories::{PageQuery, next_href, parse_id};
use crate::db::models::Account;
use crate::error::AppError;
use crate::service::reports::{self, ReportTarget};
use crate::service::{Services, moderation};

/// What to report, as named in the query (`?post=ID` / `?account=NAME`) or the form.
#[derive(Deserialize)]
pub struct TargetQuery {
    #[serde(default)]
    post: Option<String>,
    #[serde(default)]
    account: Option<String>,
}

/// The target named by `post` (an id) or `account` (a handle); empty fields count as absent.
async fn parse_target(
    svc: &Services,
    post: Option<&str>,
    account: Option<&str>,
) -> Result<ReportTarget, AppError> {
    let post = post.map(str::trim).filter(|s| !s.is_empty());
    let account = account.map(str::trim).filter(|s| !s.is_empty());
    match (post, account) {
        (Some(id), _) => Ok(ReportTarget::Post(parse_id(id)?)),
        (None, Some(name)) => {
            let account = reports::account_by_handle(svc, name)
                .await?
                .ok_or_else(AppError::not_found)?;
            Ok(ReportTarget::Account(account.id))
        }
        (None, None) => Err(AppError::bad_request(
            "Say what to report: a post or an account.",
        )),
    }
}

/// `GET /report?post=ID` or `?account=NAME`: the form, naming what is reported.
pub async fn report_form(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<TargetQuery>,
) -> Result<Response, AppError> {
    let user = ctx.require_user()?;
    let target = parse_target(&svc, q.post.as_deref(), q.account.as_deref()).await?;
    let subject = reports::describe(&svc, target, user.id).await?;
    render(&ReportFormPage {
        ctx: &ctx,
        subject,
        reason: String::new(),
        forward: false,
        errors: FormErrors::none(),
    })
}

#[derive(Deserialize)]
pub struct ReportForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    post: Option<String>,
    #[serde(default)]
    account: Option<String>,
    #[serde(default)]
    reason: String,
    /// "on" when the reporter asks to send the report to a remote account's server.
    #[serde(default)]
    forward: Option<String>,
}

/// `POST /report`: files the report, or shows the form again with the reason kept.
pub async fn create_report(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<ReportForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let target = parse_target(&svc, form.post.as_deref(), form.account.as_deref()).await?;
    let subject = reports::describe(&svc, target, user.id).await?;
    match reports::create(&svc, user, target, &form.reason, form.forward.is_some()).await {
        Ok(id) => {
            tracing::info!(report = id, reporter = %user.username, "report filed");
            Ok(Redirect::to("/report/sent").into_response())
        }
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ReportFormPage {
                ctx: &ctx,
                subject,
                reason: form.reason,
                forward: form.forward.is_some(),
                errors: FormErrors::from_error(e)?,
            },
        ),
    }
}

/// `GET /report/sent`: the thank-you page after a report.
pub async fn report_sent(ctx: Ctx) -> Result<Response, AppError> {
    render(&ReportSentPage { ctx: &ctx })
}

/// The logged-in account if it may moderate: 401 when logged out, 403 otherwise.
fn require_moderator(ctx: &Ctx) -> Result<&Account, AppError> {
    let user = ctx.require_user()?;
    if moderation::is_moderator(user) {
        Ok(user)
    } else {
        Err(AppError::forbidden())
    }
}

#[derive(Deserialize)]
pub struct QueueQuery {
    before: Option<i64>,
    done: Option<String>,
}

/// `GET /moderation`: the queue of open reports.
pub async fn queue(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<QueueQuery>,
) -> Result<Response, AppError> {
    let user = require_moderator(&ctx)?;
    let page = moderation::open_reports(&svc, user, q.before).await?;
    let done = q.done.as_deref().and_then(done_message).map(str::to_owned);
    render(&ModerationPage {
        ctx: &ctx,
        next_href: next_href("/moderation", page.next_before),
        reports: page.items,
        done,
        viewer_id: user.id,
        viewer_is_admin: user.is_admin,
    })
}

/// The confirmation shown after an action (`/moderation?done=...`).
fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "resolved" => "Report resolved.",
        "dismissed" => "Report dismissed.",
        "removed" => "Content removed.",
        "suspended" => "Account suspended.",
        "unsuspended" => "Suspension lifted.",
        "moderator" => "Moderator role changed.",
        _ => return None,
    })
}

/// `GET /moderation/log`: every moderator action, newest first.
pub async fn log(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> Result<Response, AppError> {
    let user = require_moderator(&ctx)?;
    let page = moderation::log(&svc, user, q.before).await?;
    render(&ModerationLogPage {
        ctx: &ctx,
        next_href: next_href("/moderation/log", page.next_before),
        actions: page.items,
    })
}

/// Where to go after an action: the page the form came from, else the queue.
fn back(return_to: Option<&str>, done: &str) -> Response {
    let target = match return_to.filter(|t| !t.is_empty()) {
        Some(t) => safe_return_to(Some(t)),
        None => format!("/moderation?done={done}"),
    };
    Redirect::to(&target).into_response()
}

/// `POST /moderation/reports/{id}/resolve`
pub async fn resolve(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_moderator(&ctx)?;
    moderation::resolve(&svc, user, parse_id(&id)?).await?;
    Ok(back(None, "resolved"))
}

/// `POST /moderation/reports/{id}/dismiss`
pub async fn dismiss(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_moderator(&ctx)?;
    moderation::dismiss(&svc, user, parse_id(&id)?).await?;
    Ok(back(None, "dismissed"))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    report_id: Option<String>,
    #[serde(default)]
    note: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// The optional report an action answers; a malformed id is a bad request.
fn optional_report(raw: Option<&str>) -> Result<Option<i64>, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s
            .parse()
            .map(Some)
            .map_err(|_| AppError::bad_request("That report id is not valid.")),
    }
}

/// `POST /moderation/posts/{id}/remove` (fields `report_id`, `note` optional).
pub async fn remove_post(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_moderator(&ctx)?;
    let report_id = optional_report(form.report_id.as_deref())?;
    moderation::remove_post(&svc, user, parse_id(&id)?, report_id, &form.note).await?;
    Ok(back(form.return_to.as_deref(), "removed"))
}

/// `POST /moderation/accounts/{id}/suspend` (fields `report_id`, `note` optional).
pub async fn suspend(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_moderator(&ctx)?;
    let report_id = optional_report(form.report_id.as_deref())?;
    moderation::suspend_account(&svc, user, parse_id(&id)?, report_id, &form.note).await?;
    Ok(back(form.return_to.as_deref(), "suspended"))
}

/// `POST /moderation/accounts/{id}/unsuspend` (field `note` optional).
pub async fn unsuspend(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_moderator(&ctx)?;
    moderation::unsuspend(&svc, user, parse_id(&id)?, &form.note).await?;
    Ok(back(form.return_to.as_deref(), "unsuspended"))
}

#[derive(Deserialize)]
pub struct ModeratorForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    grant: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /moderation/accounts/{id}/moderator` (field `grant=true|false`): admins only.
pub async fn set_moderator(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ModeratorForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    if !user.is_admin {
        return Err(AppError::forbidden());
    }
    let grant = match form.grant.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(AppError::bad_request("Say grant=true or grant=false.")),
    };
    moderation::set_moderator(&svc, user, parse_id(&id)?, grant).await?;
    Ok(back(form.return_to.as_deref(), "moderator"))
}
