//! The about page and the admin's instance settings page (issue #14, item 2).

use std::sync::Arc;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::context::Ctx;
use super::pages::{AboutPage, FormErrors, InstanceSettingsPage, render, render_status};
use crate::error::AppError;
use crate::service::Services;
use crate::service::domain_blocks::{self, Shown};
use crate::service::instance::{self, Changes, InstanceInfo};

/// `GET /about`: what the instance is, who runs it, its rules.
pub async fn about(State(svc): State<Services>, ctx: Ctx) -> Result<Response, AppError> {
    let info = instance::info(&svc).await?;
    let blocked = match info.show_domain_blocks {
        Shown::All => true,
        Shown::Users => ctx.user.is_some(),
        Shown::Disabled => false,
    };
    let blocked = if blocked {
        Some(
            domain_blocks::public_list(&svc)
                .await?
                .iter()
                .map(|b| {
                    (
                        b.public_domain(),
                        b.severity.clone(),
                        b.public_comment.clone().unwrap_or_default(),
                    )
                })
                .collect(),
        )
    } else {
        None
    };
    render(&AboutPage {
        ctx: &ctx,
        domain: &svc.config.domain,
        info: &info,
        blocked,
    })
}

/// The admin form's fields, as typed.
#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    #[serde(default)]
    pub csrf: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub short_description: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub contact: String,
    #[serde(default)]
    pub rules: String,
    #[serde(default)]
    pub registrations: String,
}

impl SettingsForm {
    fn from_info(info: &InstanceInfo) -> SettingsForm {
        SettingsForm {
            csrf: String::new(),
            name: info.name.clone(),
            short_description: info.short_description.clone(),
            description: info.description.clone(),
            contact: info.contact.clone(),
            rules: info.rules.join("\n"),
            registrations: info.registrations.as_str().to_owned(),
        }
    }
}

fn require_admin(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.require_user()?.is_admin {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

#[derive(Deserialize)]
pub struct SavedQuery {
    saved: Option<String>,
}

/// `GET /admin/instance`: admins only.
pub async fn settings_form(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(q): Query<SavedQuery>,
) -> Result<Response, AppError> {
    require_admin(&ctx)?;
    let info = instance::info(&svc).await?;
    render(&InstanceSettingsPage {
        ctx: &ctx,
        form: SettingsForm::from_info(&info),
        saved: q.saved.is_some(),
        errors: FormErrors::none(),
    })
}

/// `POST /admin/instance`: every field checked first; nothing is saved unless all pass,
/// and a rejected form keeps what was typed.
pub async fn save_settings(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<SettingsForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    require_admin(&ctx)?;
    let checked = Changes::all(&[
        ("name", &form.name),
        ("short_description", &form.short_description),
        ("description", &form.description),
        ("contact", &form.contact),
        ("rules", &form.rules),
        ("registrations", &form.registrations),
    ]);
    match checked {
        Ok(changes) => {
            let info: Arc<InstanceInfo> = instance::apply(&svc, changes).await?;
            tracing::info!(name = %info.name, registrations = info.registrations.as_str(), "instance settings changed");
            Ok(Redirect::to("/admin/instance?saved=1").into_response())
        }
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &InstanceSettingsPage {
                ctx: &ctx,
                form,
                saved: false,
                errors: FormErrors::from_error(e)?,
            },
        ),
    }
}
