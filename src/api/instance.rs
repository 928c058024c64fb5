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
use crate::service::{Services, accounts, stories};

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
        .route("/api/v1/instance/rules", get(empty_list))
        .route("/api/v1/instance/peers", get(empty_list))
        .route("/api/v1/preferences", get(preferences))
}

fn configuration() -> Value {
    json!({
        "urls": { "streaming": null },
        "accounts": { "max_featured_tags": 0, "max_pinned_statuses": 0 },
        "statuses": {
            "max_characters": MAX_BODY,
            "max_media_attachments": 0,
            "characters_reserved_per_url": 23
        },
        "media_attachments": {
            "supported_mime_types": [],
            "image_size_limit": 0,
            "image_matrix_limit": 0,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0
        },
        "polls": {
            "max_options": 0,
            "max_characters_per_option": 0,
            "min_expiration": 0,
            "max_expiration": 0
        },
        "translation": { "enabled": false }
    })
}

const DESCRIPTION: &str = "A community news site on the fediverse, running Tidings.";

async fn v1(State(svc): State<Services>) -> Result<Response, AppError> {
    let users = accounts::count_local(&svc).await?;
    let posts = stories::count_local(&svc).await?;
    let base = svc.base_url();
    Ok(Json(json!({
        "uri": svc.config.domain,
        "title": "Tidings",
        "short_description": DESCRIPTION,
        "description": DESCRIPTION,
        "email": "",
        "version": version_string(),
        "urls": { "streaming_api": null },
        "stats": { "user_count": users, "status_count": posts, "domain_count": 0 },
        "thumbnail": null,
        "languages": ["en"],
        "registrations": true,
        "approval_required": false,
        "invites_enabled": false,
        "configuration": configuration(),
        "contact_account": null,
        "rules": [],
        "source_url": format!("{base}/"),
    }))
    .into_response())
}

async fn v2(State(svc): State<Services>) -> Result<Response, AppError> {
    let users = accounts::count_local(&svc).await?;
    Ok(Json(json!({
        "domain": svc.config.domain,
        "title": "Tidings",
        "version": version_string(),
        "source_url": format!("{}/", svc.base_url()),
        "description": DESCRIPTION,
        "usage": { "users": { "active_month": users } },
        "thumbnail": { "url": null },
        "icon": [],
        "languages": ["en"],
        "configuration": configuration(),
        "registrations": { "enabled": true, "approval_required": false, "message": null, "url": null },
        "contact": { "email": "", "account": null },
        "rules": [],
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
