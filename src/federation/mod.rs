//! The faces other servers see first: discovery (WebFinger, host-meta, NodeInfo) and the
//! read-only ActivityPub documents (actors, notes, collections). See docs/federation.md.
//!
//! `router` serves the paths only federation has; `negotiate` (a middleware around the
//! whole application) answers ActivityPub requests for the HTML pages `/@name`,
//! `/stories/{id}` and `/replies/{id}` before the page router sees them.

pub mod actors;
pub mod delivery;
pub mod fetch;
pub mod flag;
pub mod inbox;
pub mod nodeinfo;
pub mod notes;
pub mod objects;
pub mod outbox;
pub mod polls;
pub mod protocol;
pub mod resolve;
pub mod signatures;
pub mod signers;
pub mod store;
pub mod webfinger;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::error::AppError;
use crate::service::Services;
use objects::Urls;
use protocol::{ACTIVITY_JSON, Tombstone};

/// Discovery and ActivityPub routes.
pub fn router(svc: Services) -> Router {
    Router::new()
        .route("/.well-known/webfinger", get(webfinger::webfinger))
        .route("/.well-known/host-meta", get(webfinger::host_meta))
        .route(
            "/.well-known/host-meta.json",
            get(webfinger::host_meta_json),
        )
        .route("/.well-known/nodeinfo", get(nodeinfo::well_known))
        .route("/nodeinfo/2.0", get(nodeinfo::v20))
        .route("/nodeinfo/2.1", get(nodeinfo::v21))
        .route("/actor", get(actors::instance_actor))
        .route("/users/{name}", get(actors::actor))
        .route("/users/{name}/outbox", get(actors::outbox))
        .route("/users/{name}/inbox", post(inbox::user_inbox))
        .route("/inbox", post(inbox::shared_inbox))
        .route("/users/{name}/followers", get(actors::followers))
        .route("/users/{name}/following", get(actors::following))
        .route("/stories/{id}/replies", get(notes::replies))
        .route("/replies/{id}/replies", get(notes::replies))
        .with_state(svc)
}

/// Answers an ActivityPub request for an HTML page's URL with the JSON document; every
/// other request goes on to the router. Responses of those URLs say `Vary: Accept`.
pub async fn negotiate(State(svc): State<Services>, req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return next.run(req).await;
    }
    let Some(target) = Negotiated::of(req.uri().path()) else {
        return next.run(req).await;
    };
    let mut res = if wants_activitypub(req.headers()) {
        let res = match target {
            Negotiated::Profile(name) => actors::actor_document(&svc, &name).await,
            Negotiated::Post(id) => {
                let asker = notes::Asker {
                    method: req.method(),
                    uri: req.uri(),
                    headers: req.headers(),
                };
                notes::note_document(&svc, &id, asker).await
            }
        };
        res.unwrap_or_else(IntoResponse::into_response)
    } else {
        next.run(req).await
    };
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Accept"));
    res
}

/// An HTML page that also has an ActivityPub face.
enum Negotiated {
    /// `/@name` (local accounts only).
    Profile(String),
    /// `/stories/{id}` or `/replies/{id}`: the path, to check the kind of post.
    Post(String),
}

impl Negotiated {
    fn of(path: &str) -> Option<Negotiated> {
        if let Some(name) = path.strip_prefix("/@") {
            return (!name.is_empty() && !name.contains(['/', '@']))
                .then(|| Negotiated::Profile(name.to_owned()));
        }
        for prefix in ["/stories/", "/replies/"] {
            if let Some(id) = path.strip_prefix(prefix) {
                return (!id.is_empty() && !id.contains('/'))
                    .then(|| Negotiated::Post(path.to_owned()));
            }
        }
        None
    }
}

/// The media ranges of an `Accept` header with a q-value above zero, lowercased, without
/// parameters other than `profile`.
fn accepted(headers: &HeaderMap) -> Vec<(String, Option<String>)> {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|range| {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next()?.to_ascii_lowercase();
            let mut profile = None;
            for p in parts {
                let Some((k, v)) = p.split_once('=') else {
                    continue;
                };
                let v = v.trim().trim_matches('"');
                match k.trim().to_ascii_lowercase().as_str() {
                    "q" if v.parse::<f32>().is_ok_and(|q| q <= 0.0) => return None,
                    "profile" => profile = Some(v.to_owned()),
                    _ => {}
                }
            }
            Some((media, profile))
        })
        .collect()
}

/// `Accept: application/activity+json` or `application/ld+json` (with or without the
/// ActivityStreams profile; Mastodon accepts both).
pub fn wants_activitypub(headers: &HeaderMap) -> bool {
    accepted(headers)
        .iter()
        .any(|(m, _)| m == "application/activity+json" || m == "application/ld+json")
}

/// A browser: asks for `text/html`.
pub fn wants_html(headers: &HeaderMap) -> bool {
    accepted(headers)
        .iter()
        .any(|(m, _)| m == "text/html" || m == "application/xhtml+xml")
}

pub(crate) fn urls(svc: &Services) -> Urls {
    Urls {
        base: svc.base_url().to_owned(),
        domain: svc.config.domain.clone(),
    }
}

/// A JSON answer with the given content type.
pub(crate) fn json_as(
    status: StatusCode,
    content_type: &'static str,
    body: &impl Serialize,
) -> Response {
    match serde_json::to_vec(body) {
        Ok(bytes) => (
            status,
            [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
            bytes,
        )
            .into_response(),
        Err(e) => FedError::from(AppError::internal(e)).into_response(),
    }
}

/// An ActivityStreams document.
pub(crate) fn activity_json(body: &impl Serialize) -> Response {
    json_as(StatusCode::OK, ACTIVITY_JSON, body)
}

/// Errors of federation routes, answered as JSON (`{"error": "…"}`), and deleted objects,
/// answered `410 Gone` with their `Tombstone`.
pub enum FedError {
    App(AppError),
    Gone(Tombstone),
}

impl From<AppError> for FedError {
    fn from(e: AppError) -> FedError {
        FedError::App(e)
    }
}

impl IntoResponse for FedError {
    fn into_response(self) -> Response {
        match self {
            FedError::Gone(t) => json_as(StatusCode::GONE, ACTIVITY_JSON, &t),
            FedError::App(e) => {
                e.log();
                json_as(
                    e.status(),
                    "application/json; charset=utf-8",
                    &serde_json::json!({ "error": e.public_message() }),
                )
            }
        }
    }
}

pub type FedResult = Result<Response, FedError>;

/// The value of one query parameter (the first, percent-decoded).
pub(crate) fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn activitypub_accept_headers() {
        assert!(wants_activitypub(&accept("application/activity+json")));
        assert!(wants_activitypub(&accept(
            "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\""
        )));
        assert!(wants_activitypub(&accept(
            "text/html;q=0.5, Application/Activity+JSON"
        )));
        assert!(!wants_activitypub(&accept("application/activity+json;q=0")));
        assert!(!wants_activitypub(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,*/*;q=0.8"
        )));
    }

    #[test]
    fn negotiated_paths() {
        assert!(matches!(Negotiated::of("/@alice"), Some(Negotiated::Profile(n)) if n == "alice"));
        assert!(Negotiated::of("/@alice@other.example").is_none());
        assert!(matches!(
            Negotiated::of("/stories/12"),
            Some(Negotiated::Post(_))
        ));
        assert!(Negotiated::of("/stories/12/edit").is_none());
        assert!(Negotiated::of("/replies/").is_none());
        assert!(Negotiated::of("/users/alice").is_none());
    }
}
