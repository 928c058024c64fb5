//! OAuth 2 endpoints: app registration, token (authorization_code, password,
//! client_credentials), revoke, and the server metadata (RFC 8414). The authorize page
//! itself is a web page (web::oauth) since a person logs in and consents there.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{ApiForm, Auth};
use crate::domain::scopes::{ADMIN_SCOPES, SUB_SCOPES, TOP_LEVEL};
use crate::error::AppError;
use crate::service::Services;
use crate::service::oauth;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/apps", post(create_app))
        .route("/api/v1/apps/verify_credentials", get(verify_app))
        .route("/oauth/token", post(token))
        .route("/oauth/revoke", post(revoke))
        .route("/.well-known/oauth-authorization-server", get(metadata))
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn joined(self) -> String {
        match self {
            OneOrMany::One(s) => s,
            OneOrMany::Many(v) => v.join("\n"),
        }
    }
}

#[derive(Deserialize)]
struct AppForm {
    #[serde(default)]
    client_name: String,
    redirect_uris: Option<OneOrMany>,
    #[serde(default)]
    scopes: String,
    website: Option<String>,
}

async fn create_app(
    State(svc): State<Services>,
    ApiForm(form): ApiForm<AppForm>,
) -> Result<Response, AppError> {
    let uris = form
        .redirect_uris
        .map(OneOrMany::joined)
        .unwrap_or_default();
    let new = oauth::register_app(
        &svc,
        &form.client_name,
        &uris,
        &form.scopes,
        form.website.as_deref(),
    )
    .await?;
    let uris: Vec<&str> = new.app.redirect_uris.lines().collect();
    Ok(Json(json!({
        "id": new.app.id.to_string(),
        "name": new.app.name,
        "website": new.app.website,
        "scopes": new.app.scopes.split(' ').collect::<Vec<_>>(),
        "redirect_uri": uris.join("\n"),
        "redirect_uris": uris,
        "client_id": new.app.client_id,
        "client_secret": new.client_secret,
        "client_secret_expires_at": 0,
        "vapid_key": "",
    }))
    .into_response())
}

async fn verify_app(auth: Auth, State(svc): State<Services>) -> Result<Response, AppError> {
    let grant = auth.app("read")?;
    let app_id = grant.app_id;
    let name = svc
        .db
        .run(move |conn| {
            use crate::db::schema::oauth_apps;
            use diesel::prelude::*;
            Ok(oauth_apps::table
                .find(app_id)
                .select((oauth_apps::name, oauth_apps::website, oauth_apps::scopes))
                .first::<(String, Option<String>, String)>(conn)?)
        })
        .await?;
    Ok(Json(json!({
        "name": name.0,
        // Apps registered before websites were checked may carry anything.
        "website": name.1.filter(|w| crate::domain::links::is_web_url(w)),
        "scopes": name.2.split(' ').collect::<Vec<_>>(),
        "vapid_key": "",
    }))
    .into_response())
}

/// The client's id and secret: from HTTP Basic (`client_secret_basic`; RFC 6749 section
/// 2.3.1, both parts form-urlencoded) or from the body (`client_secret_post`). Basic
/// credentials that contradict what the body says are refused (`None`), as is a Basic
/// header that cannot be read. Another kind of `Authorization` header is not client
/// authentication and leaves the body's credentials.
fn client_credentials(
    headers: &HeaderMap,
    body_id: &str,
    body_secret: &str,
) -> Option<(String, String)> {
    use base64::Engine;
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then(|| rest.trim())
        });
    let Some(encoded) = basic else {
        return Some((body_id.to_owned(), body_secret.to_owned()));
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = (unescape(id), unescape(secret));
    let agrees = |body: &str, basic: &str| body.is_empty() || body == basic;
    (agrees(body_id, &id) && agrees(body_secret, &secret)).then_some((id, secret))
}

/// An RFC 6749 error answer.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({ "error": error, "error_description": description })),
    )
        .into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    grant_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    username: Option<String>,
    password: Option<String>,
    #[serde(default)]
    scope: String,
}

async fn token(
    State(svc): State<Services>,
    headers: HeaderMap,
    ApiForm(form): ApiForm<TokenForm>,
) -> Result<Response, AppError> {
    let authenticated = match client_credentials(&headers, &form.client_id, &form.client_secret) {
        Some((id, secret)) => oauth::authenticate_app(&svc, &id, &secret).await.ok(),
        None => None,
    };
    let app = match authenticated {
        Some(app) => app,
        None => {
            tracing::info!("token request with an unknown client or wrong secret");
            return Ok(oauth_error(
                StatusCode::UNAUTHORIZED,
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            ));
        }
    };
    let issued = match form.grant_type.as_str() {
        "authorization_code" => {
            oauth::exchange_code(
                &svc,
                &app,
                form.code.as_deref().unwrap_or(""),
                form.redirect_uri.as_deref().unwrap_or(""),
                form.code_verifier.as_deref(),
            )
            .await
        }
        "password" => {
            oauth::password_grant(
                &svc,
                &app,
                form.username.as_deref().unwrap_or(""),
                form.password.as_deref().unwrap_or(""),
                &form.scope,
            )
            .await
        }
        "client_credentials" => oauth::client_credentials(&svc, &app, &form.scope).await,
        other => {
            return Ok(oauth_error(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                &format!("grant_type {other:?} is not supported"),
            ));
        }
    };
    match issued {
        Ok(t) => Ok(Json(json!({
            "access_token": t.access_token,
            "token_type": "Bearer",
            "scope": t.scopes,
            "created_at": t.created_at,
        }))
        .into_response()),
        Err(e) if !e.field_errors().is_empty() => {
            let msg = e.public_message();
            let code = if msg.starts_with("invalid_scope") {
                "invalid_scope"
            } else {
                "invalid_grant"
            };
            Ok(oauth_error(StatusCode::BAD_REQUEST, code, &msg))
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    token: String,
}

async fn revoke(
    State(svc): State<Services>,
    headers: HeaderMap,
    ApiForm(form): ApiForm<RevokeForm>,
) -> Result<Response, AppError> {
    let authenticated = match client_credentials(&headers, &form.client_id, &form.client_secret) {
        Some((id, secret)) => oauth::authenticate_app(&svc, &id, &secret).await.ok(),
        None => None,
    };
    let Some(app) = authenticated else {
        return Ok(oauth_error(
            StatusCode::FORBIDDEN,
            "unauthorized_client",
            "You are not authorized to revoke this token",
        ));
    };
    oauth::revoke(&svc, &app, &form.token).await?;
    Ok(Json(json!({})).into_response())
}

async fn metadata(State(svc): State<Services>) -> Response {
    let base = svc.base_url();
    let scopes: Vec<&str> = TOP_LEVEL
        .iter()
        .chain(SUB_SCOPES)
        .chain(ADMIN_SCOPES)
        .copied()
        .collect();
    Json(json!({
        "issuer": format!("{base}/"),
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": format!("{base}/oauth/authorize"),
        "token_endpoint": format!("{base}/oauth/token"),
        "revocation_endpoint": format!("{base}/oauth/revoke"),
        "app_registration_endpoint": format!("{base}/api/v1/apps"),
        "scopes_supported": scopes,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256", "plain"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
    .into_response()
}
