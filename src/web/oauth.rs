//! The OAuth authorize page: a person logs in (the normal login page) and consents.

use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::context::Ctx;
use super::pages::{AuthorizePage, OobCodePage, render};
use crate::error::AppError;
use crate::service::Services;
use crate::service::oauth::{self, OOB};

#[derive(Deserialize, Clone, Default)]
pub struct AuthorizeParams {
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub response_type: String,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

fn bad(e: AppError) -> AppError {
    match e.field_errors().first() {
        Some(f) => AppError::bad_request(format!(
            "This app's login link is not valid: {}.",
            f.message
        )),
        None => e,
    }
}

pub async fn authorize_form(
    State(svc): State<Services>,
    ctx: Ctx,
    Query(p): Query<AuthorizeParams>,
) -> Result<Response, AppError> {
    let req = oauth::check_authorize(
        &svc,
        &p.client_id,
        &p.redirect_uri,
        &p.scope,
        &p.response_type,
    )
    .await
    .map_err(bad)?;
    if ctx.user.is_none() {
        return Err(AppError::unauthorized());
    }
    render(&AuthorizePage {
        ctx: &ctx,
        app_name: req.app.name.clone(),
        // Apps registered before websites were checked may carry anything: only an
        // http(s) URL becomes a link.
        app_website: req
            .app
            .website
            .clone()
            .filter(|w| crate::domain::links::is_web_url(w))
            .unwrap_or_default(),
        scopes: req.scopes.iter().map(str::to_owned).collect(),
        params: p,
    })
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    decision: String,
    #[serde(flatten)]
    params: AuthorizeParams,
}

fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = uri.to_owned();
    let mut sep = if url.contains('?') { '&' } else { '?' };
    for (k, v) in pairs {
        url.push(sep);
        url.push_str(k);
        url.push('=');
        url.extend(url::form_urlencoded::byte_serialize(v.as_bytes()));
        sep = '&';
    }
    url
}

pub async fn authorize(
    State(svc): State<Services>,
    ctx: Ctx,
    Form(form): Form<ConsentForm>,
) -> Result<Response, AppError> {
    ctx.check_csrf(&form.csrf)?;
    let user = ctx.require_user()?;
    let p = form.params;
    let req = oauth::check_authorize(
        &svc,
        &p.client_id,
        &p.redirect_uri,
        &p.scope,
        &p.response_type,
    )
    .await
    .map_err(bad)?;
    let state = p.state.clone().unwrap_or_default();
    if form.decision != "approve" {
        if req.redirect_uri == OOB {
            return Err(AppError::bad_request("You did not authorize the app."));
        }
        let mut pairs = vec![("error", "access_denied")];
        if !state.is_empty() {
            pairs.push(("state", &state));
        }
        return Ok(Redirect::to(&with_query(&req.redirect_uri, &pairs)).into_response());
    }
    let code =
        oauth::issue_code(&svc, &req, user, p.code_challenge, p.code_challenge_method).await?;
    tracing::info!(app = %req.app.name, account = %user.username, "app authorized");
    if req.redirect_uri == OOB {
        return render(&OobCodePage {
            ctx: &ctx,
            app_name: req.app.name,
            code,
        });
    }
    let mut pairs = vec![("code", code.as_str())];
    if !state.is_empty() {
        pairs.push(("state", &state));
    }
    Ok(Redirect::to(&with_query(&req.redirect_uri, &pairs)).into_response())
}
