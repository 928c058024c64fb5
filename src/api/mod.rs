//! Mastodon-compatible client API (JSON). Its own wire types live in `entities`; handlers
//! call the same `service` functions as the web pages.

pub mod accounts;
pub mod admin_accounts;
pub mod admin_entities;
pub mod auth;
pub mod conversations;
pub mod domain_blocks;
pub mod entities;
pub mod instance;
pub mod media;
pub mod misc;
pub mod notification_groups;
pub mod notifications;
pub mod oauth;
pub mod params;
pub mod polls;
pub mod registrations;
pub mod statuses;
pub mod timelines;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::AppError;
use crate::service::Services;
use crate::web::context::ErrorInfo;

pub use auth::Auth;

/// Every API route (`/api/…`, `/oauth/token`, `/oauth/revoke`, OAuth metadata), with
/// errors answered as `{"error": "…"}`.
pub fn router(svc: Services) -> Router {
    Router::new()
        .merge(oauth::routes())
        .merge(instance::routes())
        .merge(media::routes())
        .merge(statuses::routes())
        .merge(polls::routes())
        .merge(timelines::routes())
        .merge(accounts::routes())
        .merge(notifications::routes())
        .merge(notification_groups::routes())
        .merge(conversations::routes())
        .merge(misc::routes())
        .merge(registrations::routes())
        .merge(admin_accounts::routes())
        .merge(domain_blocks::routes())
        .route("/api/{*rest}", axum::routing::any(api_not_found))
        .layer(middleware::from_fn(json_errors))
        .with_state(svc)
}

async fn api_not_found() -> AppError {
    AppError::not_found()
}

/// Turns error responses (ours and axum's rejections) into Mastodon's `{"error": "…"}`.
async fn json_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let message = match parts.extensions.remove::<ErrorInfo>() {
        Some(info) => info.message,
        None => {
            let bytes = axum::body::to_bytes(body, 64 * 1024)
                .await
                .unwrap_or_default();
            let text = String::from_utf8_lossy(&bytes).trim().to_owned();
            if text.is_empty() {
                status.canonical_reason().unwrap_or("Error").to_owned()
            } else {
                text
            }
        }
    };
    let mut out = (status, Json(serde_json::json!({ "error": message }))).into_response();
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name.clone(), value.clone());
        }
    }
    out
}

/// A request body given as JSON or as a form (`application/x-www-form-urlencoded`, with
/// `key[]=a&key[]=b` arrays), as Mastodon accepts both. Without a body, the query string
/// is read instead (some clients send parameters there on POST).
pub struct ApiForm<T>(pub T);

impl<S, T> FromRequest<S> for ApiForm<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let query = req.uri().query().unwrap_or("").to_owned();
        if content_type.starts_with("multipart/form-data") {
            let mut multipart = axum::extract::Multipart::from_request(req, state)
                .await
                .map_err(|e| AppError::bad_request(e.body_text()))?;
            let mut pairs: Vec<(String, String)> = Vec::new();
            while let Some(field) = multipart
                .next_field()
                .await
                .map_err(|e| AppError::bad_request(e.body_text()))?
            {
                let name = field.name().unwrap_or_default().to_owned();
                if field.file_name().is_some() {
                    continue;
                }
                let value = field
                    .text()
                    .await
                    .map_err(|e| AppError::bad_request(e.body_text()))?;
                pairs.push((name, value));
            }
            let encoded = serde_urlencoded::to_string(&pairs).map_err(AppError::internal)?;
            return parse_form(&encoded);
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| AppError::bad_request(e.body_text()))?;
        if content_type.starts_with("application/json") {
            if bytes.is_empty() {
                return parse_form(&query);
            }
            return serde_json::from_slice(&bytes)
                .map(ApiForm)
                .map_err(|e| AppError::bad_request(format!("invalid JSON: {e}")));
        }
        if bytes.is_empty() {
            return parse_form(&query);
        }
        parse_form(
            std::str::from_utf8(&bytes).map_err(|_| AppError::bad_request("body is not UTF-8"))?,
        )
    }
}

fn parse_form<T: DeserializeOwned>(s: &str) -> Result<ApiForm<T>, AppError> {
    serde_html_form::from_str(s)
        .map(ApiForm)
        .map_err(|e| AppError::bad_request(format!("invalid parameters: {e}")))
}

/// Query parameters for lists: Mastodon's `max_id`, `since_id`, `min_id`, `limit`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Paging {
    #[serde(default, deserialize_with = "id_param")]
    pub max_id: Option<i64>,
    #[serde(default, deserialize_with = "id_param")]
    pub since_id: Option<i64>,
    #[serde(default, deserialize_with = "id_param")]
    pub min_id: Option<i64>,
    pub limit: Option<String>,
}

impl Paging {
    pub const DEFAULT_LIMIT: i64 = 20;
    pub const MAX_LIMIT: i64 = 40;

    /// The page size asked for, within 1..=40.
    pub fn limit(&self) -> i64 {
        self.limit
            .as_deref()
            .and_then(|l| l.parse::<i64>().ok())
            .unwrap_or(Self::DEFAULT_LIMIT)
            .clamp(1, Self::MAX_LIMIT)
    }
}

/// Ids arrive as strings (or numbers); an empty value means "not given".
fn id_param<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        S(String),
        N(i64),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::N(n)) => Ok(Some(n)),
        Some(Raw::S(s)) if s.is_empty() => Ok(None),
        Some(Raw::S(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// The `Link` header of a page whose items have these ids (newest first): `next` continues
/// below the last, `prev` above the first. `url` is the absolute URL of the list, with any
/// other query parameters already on it.
pub fn link_header(url: &str, ids: &[i64]) -> Option<HeaderValue> {
    let (first, last) = (ids.first()?, ids.last()?);
    let sep = if url.contains('?') { '&' } else { '?' };
    let value = format!(
        "<{url}{sep}max_id={last}>; rel=\"next\", <{url}{sep}min_id={first}>; rel=\"prev\""
    );
    HeaderValue::from_str(&value).ok()
}

/// A JSON list with its `Link` header.
pub fn paged<T: serde::Serialize>(items: Vec<T>, url: &str, ids: &[i64]) -> Response {
    let mut res = (StatusCode::OK, Json(items)).into_response();
    if let Some(link) = link_header(url, ids) {
        res.headers_mut().insert(header::LINK, link);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_points_both_ways() {
        let v = link_header(
            "https://x.example/api/v1/timelines/public?local=true",
            &[9, 5, 3],
        )
        .unwrap();
        assert_eq!(
            v.to_str().unwrap(),
            "<https://x.example/api/v1/timelines/public?local=true&max_id=3>; rel=\"next\", \
             <https://x.example/api/v1/timelines/public?local=true&min_id=9>; rel=\"prev\""
        );
        assert!(link_header("https://x", &[]).is_none());
    }

    #[test]
    fn paging_limits() {
        let p: Paging = serde_html_form::from_str("limit=100&max_id=12&since_id=").unwrap();
        assert_eq!(p.limit(), 40);
        assert_eq!(p.max_id, Some(12));
        assert_eq!(p.since_id, None);
        assert_eq!(Paging::default().limit(), 20);
    }
}
