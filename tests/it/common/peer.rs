//! A stand-in remote server for federation tests: a real HTTP server on a loopback port
//! that serves actors (each with its own RSA key) and any other documents a test puts on
//! it, and records the POSTs it receives at `/inbox`. Activities are sent to the app's
//! inboxes signed (draft-cavage) with an actor's key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode as AxStatus, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::federation::signatures::sign_request;
use tidings::service::crypto::generate_keypair;
use url::Url;

use super::TestApp;

/// What the peer received at its inbox.
#[derive(Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Clone, Default)]
struct PeerState {
    /// Path → document.
    docs: Arc<Mutex<HashMap<String, Value>>>,
    inbox: Arc<Mutex<Vec<Received>>>,
}

/// An actor served by the peer, with its private key.
#[derive(Clone)]
pub struct RemoteActor {
    pub id: String,
    pub key_id: String,
    pub private_pem: String,
}

/// The remote server, with one actor (`/users/remote`) made at start.
pub struct Peer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub actor_id: String,
    pub key_id: String,
    pub private_pem: String,
    state: PeerState,
}

async fn serve_doc(State(s): State<PeerState>, Path(path): Path<String>) -> impl IntoResponse {
    let doc = s.docs.lock().unwrap().get(&format!("/{path}")).cloned();
    match doc {
        Some(doc) => (
            AxStatus::OK,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/activity+json"),
            )],
            doc.to_string(),
        )
            .into_response(),
        None => AxStatus::NOT_FOUND.into_response(),
    }
}

async fn record_inbox(State(s): State<PeerState>, headers: HeaderMap, body: Bytes) -> AxStatus {
    s.inbox.lock().unwrap().push(Received { headers, body });
    AxStatus::ACCEPTED
}

impl Peer {
    pub async fn start() -> Peer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = PeerState::default();
        let app = Router::new()
            .route("/inbox", post(record_inbox))
            .route("/{*path}", get(serve_doc))
            .with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut peer = Peer {
            base,
            actor_id: String::new(),
            key_id: String::new(),
            private_pem: String::new(),
            state,
        };
        let main = peer.add_actor("remote").await;
        peer.actor_id = main.id;
        peer.key_id = main.key_id;
        peer.private_pem = main.private_pem;
        peer
    }

    /// Serves a new actor at `/users/{name}`.
    pub async fn add_actor(&self, name: &str) -> RemoteActor {
        let id = format!("{}/users/{name}", self.base);
        let key_id = format!("{id}#main-key");
        let (public_pem, private_pem) = generate_keypair().await.unwrap();
        let doc = json!({
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": id,
            "type": "Person",
            "preferredUsername": name,
            "name": "Remote Person",
            "summary": "<p>Hello <script>alert(1)</script>there</p>",
            "inbox": format!("{}/inbox", self.base),
            "outbox": format!("{id}/outbox"),
            "followers": format!("{id}/followers"),
            "endpoints": {"sharedInbox": format!("{}/inbox", self.base)},
            "publicKey": {"id": key_id, "owner": id, "publicKeyPem": public_pem},
        });
        self.serve(&format!("/users/{name}"), doc);
        RemoteActor {
            id,
            key_id,
            private_pem,
        }
    }

    /// The peer's main actor.
    pub fn actor(&self) -> RemoteActor {
        RemoteActor {
            id: self.actor_id.clone(),
            key_id: self.key_id.clone(),
            private_pem: self.private_pem.clone(),
        }
    }

    /// Serves `doc` at `path` (answered to GETs as activity+json).
    pub fn serve(&self, path: &str, doc: Value) {
        self.state.docs.lock().unwrap().insert(path.to_owned(), doc);
    }

    pub fn follow(&self, n: u32) -> Value {
        json!({
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": format!("{}/follows/{n}", self.base),
            "type": "Follow",
            "actor": self.actor_id,
            "object": "http://tidings.test/users/alice",
        })
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.inbox.lock().unwrap().clone()
    }
}

/// POSTs a body to one of the app's inboxes, signed (cavage) with `key_id` / `pem` when
/// given.
pub async fn post_inbox(
    app: &TestApp,
    path: &str,
    body: &[u8],
    signer: Option<(&str, &str)>,
) -> (StatusCode, String) {
    // Signed for the address peers know the instance by (its domain, `tidings.test`);
    // sent to its loopback port with that `Host`.
    let url = Url::parse(&format!("http://tidings.test{path}")).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(header::HOST, HeaderValue::from_static("tidings.test"));
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    if let Some((key_id, pem)) = signer {
        sign_request(
            &Method::POST,
            &url,
            &mut headers,
            Some(body),
            key_id,
            pem,
            Utc::now(),
        )
        .unwrap();
    }
    let res = reqwest::Client::new()
        .post(format!("{}{path}", app.base))
        .headers(headers)
        .body(body.to_vec())
        .send()
        .await
        .unwrap();
    (res.status(), res.text().await.unwrap())
}

/// Sends an activity to alice's inbox, signed by the peer's main actor.
pub async fn signed(app: &TestApp, peer: &Peer, activity: &Value) -> (StatusCode, String) {
    signed_by(app, &peer.actor(), activity).await
}

/// Sends an activity to the shared inbox, signed by `actor`.
pub async fn signed_by(
    app: &TestApp,
    actor: &RemoteActor,
    activity: &Value,
) -> (StatusCode, String) {
    post_inbox(
        app,
        "/inbox",
        activity.to_string().as_bytes(),
        Some((&actor.key_id, &actor.private_pem)),
    )
    .await
}
