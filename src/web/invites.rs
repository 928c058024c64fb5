//! `/invites`: the invitation links one has made (staff always; users when the instance
//! allows), a form to make one (use limit, expiry) and withdrawing them.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::CsrfOnly;
use super::context::Ctx;
use super::pages::{FormErrors, InvitesPage, render_status};
use super::stories::parse_id;
use crate::db::models::Account;
use crate::error::AppError;
use crate::service::Services;
use crate::service::invites::{self, Maker};

async fn may_invite<'a>(svc: &Services, ctx: &'a Ctx) -> Result<&'a Account, AppError> {
    let user = ctx.require_user()?;
    if invites::may_invite(svc, user).await? {
        Ok(user)
    } else {
        Err(AppError::forbidden())
    }
}

async fn page(
    svc: &Services,
    ctx: &Ctx,
    user: &Account,
    status: StatusCode,
    errors: FormErrors,
) -> Result<Response, AppError> {
    let invites = invites::made_by(svc, Some(user.id)).await?;
    render_status(
        status,
        &InvitesPage {
            ctx,
            invites,
            base_url: svc.base_url().to_owned(),
            errors,
        },
    )
}

/// `GET /invites`
pub async fn list(State(svc): State<Services>, ctx: Ctx) -> Result<Response, AppError> {
    let user = may_invite(&svc, &ctx).await?;
    page(&svc, &ctx, user, StatusCode::OK, FormErrors::none()).await
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    /// Empty: no limit.
    #[serde(default)]
    max_uses: String,
    /// `30m`, `12h`, `7d`…; empty: never.
    #[serde(default)]
    expires_in: String,
}

/// `POST /invites` (fields `max_uses`, `expires_in`).
pub async fn create(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<CreateForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = may_invite(&svc, &ctx).await?;
    let checked = (|| {
        let max_uses = match form.max_uses.trim() {
            "" => None,
            n => Some(n.parse::<i32>().map_err(|_| {
                AppError::field("max_uses", "Give a number of uses, or leave it empty.")
            })?),
        };
        let expires_in = match form.expires_in.trim() {
            "" => None,
            e => Some(invites::parse_expiry(e).map_err(|m| AppError::field("expires_in", m))?),
        };
        Ok::<_, AppError>((max_uses, expires_in))
    })();
    let result = match checked {
        Ok((max_uses, expires_in)) => {
            invites::create(&svc, Maker::Account(user), max_uses, expires_in).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(invite) => {
            tracing::info!(by = %user.username, id = invite.id, "invite made");
            Ok(Redirect::to("/invites").into_response())
        }
        Err(e) => {
            let errors = FormErrors::from_error(e)?;
            page(&svc, &ctx, user, StatusCode::UNPROCESSABLE_ENTITY, errors).await
        }
    }
}

/// `POST /invites/{id}/revoke`: its maker, or an admin.
pub async fn revoke(
    State(svc): State<Services>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    invites::revoke(&svc, user, parse_id(&id)?).await?;
    Ok(Redirect::to("/invites").into_response())
}
