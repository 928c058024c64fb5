//! What apps ask for at start: instance information (v1 and v2), and the empty-but-valid
//! answers for features Tidings does not have (custom emoji, filters, lists, …).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

use super::Auth;
use crate::domain::story::MAX_BODY;
use crate::error::AppError;
use crate::service::instance::InstanceInfo;
use crate::service::{Services, accounts, instance, stories};

/// The Mastodon API level we follow, and our own version, in the form apps parse.
pub fn version_string() -> String {
    format!("4.3.0 (compatible; Tidings {})", env!("CARGO_PKG_VERSION"))
}

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/instance", get(v1))
        .route("/api/v1/instance/", get(v1))
        .route("/api/v2/instance", get(v2))
        .route("/api/v2/instance/", get(v2))
        .route("/api/v1/custom_emojis", get(empty_list))
        .route("/api/v1/filters", get(empty_list))
        .route("/api/v2/filters", get(empty_list))
        .route("/api/v1/announcements", get(empty_list))
        .route("/api/v1/lists", get(empty_list))
        .route("/api/v1/instance/rules", get(rules))
        .route("/api/v1/instance/peers", get(empty_list))
        .route("/api/v1/preferences", get(preferences))
}

fn configuration(svc: &Services) -> Value {
    json!({
        "urls": { "streaming": null },
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
        "statuses": {
            "max_characters": MAX_BODY,
            "max_media_attachments": crate::service::media::MAX_ATTACHMENTS,
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": crate::media::process::SUPPORTED_TYPES,
            "image_size_limit": svc.config.media_max_bytes,
            "image_matrix_limit": crate::media::process::MAX_DECODED_PIXELS,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0
        },
        "polls": {
            "max_options": crate::service::polls::MAX_OPTIONS,
            "max_characters_per_option": crate::service::polls::MAX_OPTION_CHARS,
            "min_expiration": crate::service::polls::MIN_EXPIRATION,
            "max_expiration": crate::service::polls::MAX_EXPIRATION
        },
        "translation": { "enabled": false }
    })
}

/// Rules as Mastodon's Rule entities (ids are their numbers, 1-based).
fn rule_entities(info: &InstanceInfo) -> Value {
    info.rules
        .iter()
        .enumerate()
        .map(|(i, text)| json!({ "id": (i + 1).to_string(), "text": text, "hint": "" }))
        .collect()
}

/// The contact account, when the contact is a local `@name` that exists.
async fn contact_account(svc: &Services, info: &InstanceInfo) -> Result<Value, AppError> {
    let Some(name) = info.contact_account() else {
        return Ok(Value::Null);
    };
    match accounts::find_local(svc, name).await? {
        Some(a) => {
            let base = svc.base_url().to_owned();
            let views = svc
                .db
                .run(move |conn| crate::service::relationships::load_accounts(conn, &[a.id], &base))
                .await?;
            Ok(views
                .get(&a.id)
                .map(|v| json!(super::entities::Account::from_view(v, svc.base_url())))
                .unwrap_or(Value::Null))
        }
        None => Ok(Value::Null),
    }
}

async fn rules(State(svc): State<Services>) -> Result<Json<Value>, AppError> {
    Ok(Json(rule_entities(&*instance::info(&svc).await?)))
}

async fn v1(State(svc): State<Services>) -> Result<Response, AppError> {
    let info = instance::info(&svc).await?;
    let users = accounts::count_local(&svc).await?;
    let posts = stories::count_local(&svc).await?;
    let base = svc.base_url();
    Ok(Json(json!({
        "uri": svc.config.domain,
        "title": info.name,
        "short_description": info.short_description,
        "description": info.about(),
        "email": info.contact_email().unwrap_or(""),
        "version": version_string(),
        "urls": { "streaming_api": null },
        "stats": { "user_count": users, "status_count": posts, "domain_count": 0 },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": info.registrations.is_open(),
        "approval_required": info.registrations.needs_approval(),
        "invites_enabled": false,
        "configuration": configuration(&svc),
        "contact_account": contact_account(&svc, &info).await?,
        "rules": rule_entities(&info),
        "source_url": format!("{base}/"),
    }))
    .into_response())
}

async fn v2(State(svc): State<Services>) -> Result<Response, AppError> {
    let info = instance::info(&svc).await?;
    let users = accounts::count_local(&svc).await?;
    Ok(Json(json!({
        "domain": svc.config.domain,
        "title": info.name,
        "version": version_string(),
        "source_url": format!("{}/", svc.base_url()),
        "description": info.short_description,
        "usage": { "users": { "active_month": users } },
        "thumbnail": { "url": null },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(&svc),
        "registrations": {
            "enabled": info.registrations.is_open(),
            "approval_required": info.registrations.needs_approval(),
            "message": (!info.registrations.is_open()).then_some("Sign-ups are closed on this server."),
            "url": null
        },
        "contact": {
            "email": info.contact_email().unwrap_or(""),
            "account": contact_account(&svc, &info).await?
        },
        "rules": rule_entities(&info),
        "api_versions": { "mastodon": 2 },
    }))
    .into_response())
}

async fn empty_list() -> Json<Value> {
    Json(json!([]))
}

async fn preferences(auth: Auth) -> Result<Json<Value>, AppError> {
    auth.user("read:accounts")?;
    Ok(Json(json!({
        "posting:default:visibility": "public",
        "posting:default:sensitive": false,
        "posting:default:language": null,
        "reading:expand:media": "default",
        "reading:expand:spoilers": false,
    })))
}
