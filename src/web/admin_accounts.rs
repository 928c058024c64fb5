//! The admin accounts page (`/admin/accounts`): sign-ups waiting for approval and every
//! local and remote account, searched and filtered, with the actions staff take.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::safe_return_to;
use super::context::Ctx;
use super::pages::{AdminAccountsPage, render};
use super::stories::parse_id;
use crate::db::models::Account;
use crate::error::AppError;
use crate::service::account_admin::{self, AccountFilter, Acting, Change, Origin, Status};
use crate::service::{Services, moderation};

fn require_staff(ctx: &Ctx) -> Result<&Account, AppError> {
    let user = ctx.require_user()?;
    if moderation::is_moderator(user) {
        Ok(user)
    } else {
        Err(AppError::forbidden())
    }
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    /// all, pending, active, silenced, suspended, disabled
    status: String,
    /// all, local, remote
    origin: String,
    /// Usernames starting with this.
    q: String,
    done: Option<String>,
}

/// `GET /admin/accounts?status=pending&origin=local&q=name`
pub async fn list(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<ListQuery>,
) -> Result<Response, AppError> {
    let user = require_staff(&ctx)?;
    let status = match q.status.as_str() {
        "" | "all" => None,
        s => Some(Status::parse(s).ok_or_else(|| {
            AppError::bad_request("status: all, pending, active, silenced, suspended or disabled")
        })?),
    };
    let origin = match q.origin.as_str() {
        "" | "all" => None,
        "local" => Some(Origin::Local),
        "remote" => Some(Origin::Remote),
        _ => return Err(AppError::bad_request("origin: all, local or remote")),
    };
    let accounts = account_admin::list(
        &svc,
        Acting::Staff(user),
        AccountFilter {
            origin,
            statuses: status.into_iter().collect(),
            username: Some(q.q.trim().trim_start_matches('@').to_owned()),
            limit: 200,
            ..AccountFilter::default()
        },
    )
    .await?;
    let pending = account_admin::pending(&svc, Acting::Staff(user))
        .await?
        .len();
    render(&AdminAccountsPage {
        ctx: &ctx,
        accounts,
        pending,
        status: if q.status.is_empty() {
            "all".into()
        } else {
            q.status
        },
        origin: if q.origin.is_empty() {
            "all".into()
        } else {
            q.origin
        },
        query: q.q,
        done: q.done.as_deref().and_then(done_message).map(str::to_owned),
        viewer_id: user.id,
        viewer_is_admin: user.is_admin,
    })
}

fn done_message(key: &str) -> Option<&'static str> {
    Some(match key {
        "approve" => "Sign-up approved.",
        "reject" => "Sign-up rejected and deleted.",
        "silence" => "Account silenced.",
        "unsilence" => "Silence lifted.",
        "suspend" => "Account suspended.",
        "unsuspend" => "Suspension lifted.",
        "disable" => "Login disabled.",
        "enable" => "Login enabled.",
        _ => return None,
    })
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    return_to: Option<String>,
}

/// `POST /admin/accounts/{id}/{action}`: approve, reject, silence, unsilence, suspend,
/// unsuspend, disable, enable (field `note` optional, for the log).
pub async fn act(
    State(svc): State<Services>,
    ctx: Ctx,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = require_staff(&ctx)?;
    let id = parse_id(&id)?;
    let acting = Acting::Staff(user);
    let change = match action.as_str() {
        "approve" => Some(Change::Approve),
        "silence" => Some(Change::Silence),
        "unsilence" => Some(Change::Unsilence),
        "disable" => Some(Change::Disable),
        "enable" => Some(Change::Enable),
        _ => None,
    };
    match (change, action.as_str()) {
        (Some(c), _) => {
            account_admin::change(&svc, acting, id, c, &form.note).await?;
        }
        (None, "reject") => {
            account_admin::reject(&svc, acting, id).await?;
        }
        (None, "suspend") => {
            moderation::suspend_account(&svc, user, id, None, &form.note).await?;
        }
        (None, "unsuspend") => {
            moderation::unsuspend(&svc, user, id, &form.note).await?;
        }
        _ => return Err(AppError::not_found()),
    }
    let target = match form.return_to.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => safe_return_to(Some(t)),
        None => format!("/admin/accounts?done={action}"),
    };
    Ok(Redirect::to(&target).into_response())
}
