//! Join, login, logout.

use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::context::{Ctx, SESSION_COOKIE};
use super::pages::{FormErrors, JoinPage, LoginPage, render, render_status};
use crate::error::AppError;
use crate::service::accounts::{self, Registration};
use crate::service::{Services, sessions};

/// Only same-site paths are allowed as targets after login (no open redirects).
pub fn safe_return_to(target: Option<&str>) -> String {
    match target {
        Some(t) if t.starts_with('/') && !t.starts_with("//") && !t.contains('\\') => t.to_owned(),
        _ => "/".to_owned(),
    }
}

pub async fn join_form(ctx: Ctx) -> Result<Response, AppError> {
    render(&JoinPage {
        ctx: &ctx,
        username: String::new(),
        errors: FormErrors::none(),
    })
}

#[derive(Deserialize)]
pub struct JoinForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

pub async fn join(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<JoinForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let reg = Registration {
        username: form.username.clone(),
        password: form.password,
        is_admin: false,
    };
    match accounts::register(&svc, reg).await {
        Ok(account) => {
            tracing::info!(username = %account.username, "account created");
            let token = sessions::create(&svc, account.id).await?;
            let jar = jar.add(ctx.cookie(SESSION_COOKIE, token, sessions::SESSION_DAYS));
            Ok((jar, Redirect::to(&format!("/@{}", account.username))).into_response())
        }
        Err(e) => render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &JoinPage {
                ctx: &ctx,
                username: form.username,
                errors: FormErrors::from_error(e)?,
            },
        ),
    }
}

#[derive(Deserialize)]
pub struct ReturnTo {
    return_to: Option<String>,
}

pub async fn login_form(ctx: Ctx, Query(q): Query<ReturnTo>) -> Result<Response, AppError> {
    render(&LoginPage {
        ctx: &ctx,
        username: String::new(),
        return_to: safe_return_to(q.return_to.as_deref()),
        errors: FormErrors::none(),
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    return_to: Option<String>,
}

pub async fn login(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let target = safe_return_to(form.return_to.as_deref());
    match accounts::authenticate(&svc, &form.username, &form.password).await? {
        Some(account) => {
            if let Some(old) = &ctx.session_token {
                sessions::destroy(&svc, old).await?;
            }
            let token = sessions::create(&svc, account.id).await?;
            let jar = jar.add(ctx.cookie(SESSION_COOKIE, token, sessions::SESSION_DAYS));
            Ok((jar, Redirect::to(&target)).into_response())
        }
        None => render_status(
            StatusCode::UNAUTHORIZED,
            &LoginPage {
                ctx: &ctx,
                username: form.username,
                return_to: target,
                errors: FormErrors::with_general("Wrong username or password."),
            },
        ),
    }
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    pub csrf: String,
}

pub async fn logout(
    State(svc): State<Services>,
    ctx: Ctx,
    jar: CookieJar,
    Form(form): Form<CsrfOnly>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    if let Some(token) = &ctx.session_token {
        sessions::destroy(&svc, token).await?;
    }
    let jar = jar.add(ctx.cookie(SESSION_COOKIE, String::new(), 0));
    Ok((jar, Redirect::to("/")).into_response())
}
