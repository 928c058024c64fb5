//! A stand-in remote server on a loopback port: it serves actors (each with its own RSA
//! key) and WebFinger for them, records every POST to its shared inbox (`/inbox`) and to
//! the actors' inboxes (`/users/{name}/inbox`), optionally answering slowly, and signs
//! activities it sends to an instance (as a real peer would).
//!
//! Used by the delivery and outgoing-federation tests (`crate::common::recording_peer`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use serde_json::{Value, json};
use tidings::federation::signatures::sign_request;
use tidings::service::crypto::generate_keypair;
use url::Url;

/// One POST the peer received.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Received {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("an activity is JSON")
    }

    pub fn kind(&self) -> String {
        self.json()["type"].as_str().unwrap_or_default().to_owned()
    }
}

/// An actor the peer serves.
#[derive(Clone, Debug)]
pub struct PeerActor {
    pub name: String,
    pub id: String,
    pub key_id: String,
    pub inbox: String,
    pub public_pem: String,
    pub private_pem: String,
    pub document: Value,
}

#[derive(Clone)]
struct PeerState {
    host: String,
    actors: Arc<HashMap<String, PeerActor>>,
    received: Arc<Mutex<Vec<Received>>>,
    delay: Duration,
}

pub struct RecordingPeer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    /// `127.0.0.1:PORT`: the peer's domain (as handles and stored accounts show it).
    pub host: String,
    actors: Arc<HashMap<String, PeerActor>>,
    received: Arc<Mutex<Vec<Received>>>,
}

fn activity_json(v: &Value) -> impl IntoResponse + use<> {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        )],
        v.to_string(),
    )
}

async fn serve_actor(
    State(s): State<PeerState>,
    Path(name): Path<String>,
) -> axum::response::Response {
    match s.actors.get(&name) {
        Some(a) => activity_json(&a.document).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn webfinger(
    State(s): State<PeerState>,
    Query(q): Query<HashMap<String, String>>,
) -> axum::response::Response {
    let resource = q.get("resource").cloned().unwrap_or_default();
    let Some((name, host)) = resource
        .strip_prefix("acct:")
        .and_then(|r| r.split_once('@'))
    else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    match s.actors.get(name).filter(|_| host == s.host) {
        Some(a) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jrd+json"),
            )],
            json!({
                "subject": resource,
                "links": [
                    {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": a.id},
                    {"rel": "self", "type": "application/activity+json", "href": a.id},
                ],
            })
            .to_string(),
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn record(
    State(s): State<PeerState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    s.received.lock().unwrap().push(Received {
        path: uri.path().to_owned(),
        headers,
        body,
    });
    if !s.delay.is_zero() {
        tokio::time::sleep(s.delay).await;
    }
    StatusCode::ACCEPTED
}

impl RecordingPeer {
    /// A peer serving the named actors, answering at once.
    pub async fn start(names: &[&str]) -> RecordingPeer {
        Self::start_with_delay(names, Duration::ZERO).await
    }

    /// A peer whose inboxes take `delay` to answer each POST (recorded on arrival).
    pub async fn start_with_delay(names: &[&str], delay: Duration) -> RecordingPeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let host = listener.local_addr().unwrap().to_string();
        let base = format!("http://{host}");
        let mut actors = HashMap::new();
        for name in names {
            let id = format!("{base}/users/{name}");
            let key_id = format!("{id}#main-key");
            let inbox = format!("{id}/inbox");
            let (public_pem, private_pem) = generate_keypair().await.unwrap();
            let document = json!({
                "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
                "id": id,
                "type": "Person",
                "preferredUsername": name,
                "name": format!("{name} elsewhere"),
                "summary": format!("<p>I am {name}<script>alert(1)</script></p>"),
                "url": id,
                "inbox": inbox,
                "outbox": format!("{id}/outbox"),
                "followers": format!("{id}/followers"),
                "endpoints": {"sharedInbox": format!("{base}/inbox")},
                "publicKey": {"id": key_id, "owner": id, "publicKeyPem": public_pem},
            });
            actors.insert(
                name.to_string(),
                PeerActor {
                    name: name.to_string(),
                    id,
                    key_id,
                    inbox,
                    public_pem,
                    private_pem,
                    document,
                },
            );
        }
        let actors = Arc::new(actors);
        let received = Arc::new(Mutex::new(Vec::new()));
        let state = PeerState {
            host: host.clone(),
            actors: actors.clone(),
            received: received.clone(),
            delay,
        };
        let app = Router::new()
            .route("/users/{name}", get(serve_actor))
            .route("/users/{name}/inbox", post(record))
            .route("/inbox", post(record))
            .route("/.well-known/webfinger", get(webfinger))
            .with_state(state);
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        RecordingPeer {
            base,
            host,
            actors,
            received,
        }
    }

    pub fn actor(&self, name: &str) -> &PeerActor {
        &self.actors[name]
    }

    /// Everything received so far, in order of arrival.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// What arrived at `path` with activity type `kind`.
    pub fn received_of(&self, path: &str, kind: &str) -> Vec<Received> {
        self.received()
            .into_iter()
            .filter(|r| r.path == path && r.kind() == kind)
            .collect()
    }

    /// Waits (up to 10 s) until `n` activities of type `kind` arrived at `path`.
    pub async fn wait_for(&self, path: &str, kind: &str, n: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received_of(path, kind);
            if got.len() >= n {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "expected {n} {kind} at {path}; received: {:?}",
            self.received()
                .iter()
                .map(|r| (r.path.clone(), r.kind()))
                .collect::<Vec<_>>()
        );
    }

    /// POSTs `activity` to `url` signed (draft-cavage) by the actor `name`; the status.
    pub async fn send(&self, name: &str, url: &str, activity: &Value) -> reqwest::StatusCode {
        let actor = self.actor(name);
        let url = Url::parse(url).unwrap();
        // Signed for the instance's domain (`tidings.test` in the tests), sent to `url`
        // (its loopback port) with that `Host`.
        let mut signed_for = url.clone();
        signed_for.set_host(Some("tidings.test")).unwrap();
        signed_for.set_port(None).unwrap();
        let body = activity.to_string();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        sign_request(
            &Method::POST,
            &signed_for,
            &mut headers,
            Some(body.as_bytes()),
            &actor.key_id,
            &actor.private_pem,
            Utc::now(),
        )
        .unwrap();
        let res = reqwest::Client::new()
            .post(url)
            .headers(headers)
            .body(body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            res.text().await.unwrap_or_default()
        );
        status
    }
}
