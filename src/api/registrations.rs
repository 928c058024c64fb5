//! `POST /api/v1/accounts`: signing up from an app (Mastodon's "Register an account"),
//! with an app token (client_credentials) carrying `write:accounts`. Returns a Token; in
//! approval mode the account waits, and the token answers 403 "Your login is currently
//! pending approval" until staff approve it.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::{ApiForm, Auth};
use crate::error::{AppError, ErrorKind};
use crate::service::instance::Registrations;
use crate::service::signup::{self, SignUp};
use crate::service::{Services, instance, oauth};

pub fn routes() -> Router<Services> {
    Router::new().route("/api/v1/accounts", post(register))
}

/// The parameters Mastodon documents; anything else is refused (422).
const PARAMS: &[&str] = &[
    "username",
    "email",
    "password",
    "agreement",
    "locale",
    "reason",
    "date_of_birth",
    "invite_code",
];

fn text(params: &BTreeMap<String, Value>, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Null => None,
        other => Some(other.to_string()),
    }
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_i64().is_some_and(|n| n != 0),
        Some(Value::String(s)) => matches!(s.trim(), "true" | "1" | "on" | "yes" | "True"),
        _ => false,
    }
}

/// Mastodon's 422 for a failed sign-up: `error` in words and `details` per field, each
/// `[{error: ERR_…, description}]`.
fn unprocessable(details: Vec<(&str, &str, String)>) -> Response {
    let summary = details
        .iter()
        .map(|(_, _, d)| d.as_str())
        .collect::<Vec<_>>()
        .join("; ");
    let mut map = serde_json::Map::new();
    for (field, code, description) in details {
        map.entry(field.to_owned())
            .or_insert_with(|| Value::Array(Vec::new()))
            .as_array_mut()
            .expect("an array")
            .push(json!({ "error": code, "description": description }));
    }
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({ "error": format!("Validation failed: {summary}"), "details": map })),
    )
        .into_response()
}

async fn register(
    State(svc): State<Services>,
    auth: Auth,
    ApiForm(params): ApiForm<BTreeMap<String, Value>>,
) -> Result<Response, AppError> {
    let grant = auth.app("write:accounts")?;
    if let Some(unknown) = params.keys().find(|k| !PARAMS.contains(&k.as_str())) {
        return Err(AppError::field(
            "params",
            format!(
                "unknown parameter {unknown:?}: the parameters are {}",
                PARAMS.join(", ")
            ),
        ));
    }
    let info = instance::info(&svc).await?;
    if info.registrations == Registrations::Closed {
        return Err(AppError::new(ErrorKind::Denied(signup::CLOSED.into())));
    }
    let mut missing = Vec::new();
    for key in ["username", "email", "password"] {
        if text(&params, key).is_none_or(|v| v.trim().is_empty()) {
            missing.push((key, "ERR_BLANK", format!("{key} can't be blank")));
        }
    }
    if !truthy(params.get("agreement")) {
        missing.push((
            "agreement",
            "ERR_ACCEPTED",
            "agreement must be accepted (the rules of this server)".to_owned(),
        ));
    }
    if !missing.is_empty() {
        return Ok(unprocessable(missing));
    }
    let request = SignUp {
        username: text(&params, "username").unwrap_or_default(),
        password: text(&params, "password").unwrap_or_default(),
        email: text(&params, "email"),
        locale: text(&params, "locale"),
        reason: text(&params, "reason"),
        invite: text(&params, "invite_code"),
    };
    let account = match signup::sign_up(&svc, request).await {
        Ok(a) => a,
        Err(e) if !e.field_errors().is_empty() => {
            let details = e
                .field_errors()
                .iter()
                .map(|f| {
                    let code = if f.message.contains("taken") || f.message.contains("in use") {
                        "ERR_TAKEN"
                    } else if f.field == "reason" {
                        "ERR_BLANK"
                    } else {
                        "ERR_INVALID"
                    };
                    (f.field, code, f.message.clone())
                })
                .collect();
            return Ok(unprocessable(details));
        }
        Err(e) => return Err(e),
    };
    let token = oauth::token_for_sign_up(&svc, grant.app_id, account.id).await?;
    Ok(Json(json!({
        "access_token": token.access_token,
        "token_type": "Bearer",
        "scope": token.scopes,
        "created_at": token.created_at,
    }))
    .into_response())
}
