//! Whom the inbox believes (issue #12): documents fetched through redirects, keys, key
//! fetches provoked by unsigned or badly signed requests. The remote servers are stand-ins
//! on loopback ports (two ports are two hosts: ids compare host and port), which serve
//! documents, answer redirects and count the GETs they receive.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode as AxStatus, Uri, header};
use axum::response::{IntoResponse, Response};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::{accounts, posts};
use tidings::service::crypto::generate_keypair;

use crate::common::TestApp;
use crate::common::peer::post_inbox;

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

#[derive(Clone, Default)]
struct StandInState {
    docs: Arc<Mutex<HashMap<String, Value>>>,
    redirects: Arc<Mutex<HashMap<String, String>>>,
    /// Paths answered with an error status and a body.
    errors: Arc<Mutex<HashMap<String, (u16, String)>>>,
    /// Paths of the GETs received, in order.
    gets: Arc<Mutex<Vec<String>>>,
}

/// A remote server: documents by path, redirects by path, a log of GETs.
struct StandIn {
    /// `http://127.0.0.1:PORT`
    base: String,
    state: StandInState,
}

async fn answer(State(s): State<StandInState>, uri: Uri) -> Response {
    let path = uri.path().to_owned();
    s.gets.lock().unwrap().push(path.clone());
    if let Some(to) = s.redirects.lock().unwrap().get(&path) {
        return (AxStatus::FOUND, [(header::LOCATION, to.clone())]).into_response();
    }
    if let Some((status, body)) = s.errors.lock().unwrap().get(&path) {
        return (AxStatus::from_u16(*status).unwrap(), body.clone()).into_response();
    }
    match s.docs.lock().unwrap().get(&path) {
        Some(doc) => (
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

/// An actor with its keys.
struct Actor {
    id: String,
    key_id: String,
    public_pem: String,
    private_pem: String,
}

impl StandIn {
    async fn start() -> StandIn {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = StandInState::default();
        let app = Router::new().fallback(answer).with_state(state.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        StandIn { base, state }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn serve(&self, path: &str, doc: Value) {
        self.state.docs.lock().unwrap().insert(path.to_owned(), doc);
    }

    fn redirect(&self, path: &str, to: &str) {
        self.state
            .redirects
            .lock()
            .unwrap()
            .insert(path.to_owned(), to.to_owned());
    }

    fn fail(&self, path: &str, status: u16, body: &str) {
        self.state
            .errors
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body.to_owned()));
    }

    /// GETs received so far.
    fn gets(&self) -> Vec<String> {
        self.state.gets.lock().unwrap().clone()
    }

    /// Serves a new actor at `/users/{name}` with a fresh key.
    async fn actor(&self, name: &str) -> Actor {
        let id = self.url(&format!("/users/{name}"));
        let key_id = format!("{id}#main-key");
        let (public_pem, private_pem) = generate_keypair().await.unwrap();
        self.serve(
            &format!("/users/{name}"),
            actor_doc(&id, name, &self.url("/inbox"), &key_id, &public_pem),
        );
        Actor {
            id,
            key_id,
            public_pem,
            private_pem,
        }
    }
}

fn actor_doc(id: &str, name: &str, inbox: &str, key_id: &str, public_pem: &str) -> Value {
    json!({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": id,
        "type": "Person",
        "preferredUsername": name,
        "inbox": inbox,
        "publicKey": {"id": key_id, "owner": id, "publicKeyPem": public_pem},
    })
}

fn note(id: &str, author: &str, in_reply_to: Option<&str>, text: &str) -> Value {
    json!({
        "id": id,
        "type": "Note",
        "attributedTo": author,
        "content": format!("<p>{text}</p>"),
        "inReplyTo": in_reply_to,
        "to": [PUBLIC],
        "cc": [],
    })
}

fn create(actor: &str, note: &Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/activity", note["id"].as_str().unwrap()),
        "type": "Create",
        "actor": actor,
        "object": note,
        "to": [PUBLIC],
    })
}

async fn send(app: &TestApp, activity: &Value, key_id: &str, pem: &str) -> (StatusCode, String) {
    post_inbox(
        app,
        "/inbox",
        activity.to_string().as_bytes(),
        Some((key_id, pem)),
    )
    .await
}

async fn stored_key(app: &TestApp, ap_id: &str) -> Option<String> {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(ap_id))
                .select(accounts::public_key_pem)
                .first::<String>(conn)
                .optional()?)
        })
        .await
        .unwrap()
}

async fn has_post(app: &TestApp, ap_id: &str) -> bool {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::ap_id.eq(ap_id))
                .count()
                .get_result::<i64>(conn)?
                > 0)
        })
        .await
        .unwrap()
}

async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| s.allow_private_addresses = true).await
}

/// An attacker signs with its own key and names a key id on the victim's server whose URL
/// redirects to the attacker's document claiming to be the victim's actor. The victim's
/// key must stay, and nothing is stored under the victim's name.
#[tokio::test]
async fn a_key_fetched_through_a_redirect_cannot_impersonate_another_server() {
    let app = spawn().await;
    let victim = StandIn::start().await;
    let attacker = StandIn::start().await;
    let bob = victim.actor("bob").await;

    // Bob is known, with his real key.
    let real = note(&victim.url("/notes/1"), &bob.id, None, "hello from bob");
    let (status, body) = send(&app, &create(&bob.id, &real), &bob.key_id, &bob.private_pem).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        stored_key(&app, &bob.id).await.as_deref(),
        Some(bob.public_pem.as_str())
    );

    // The attacker's document, reached from the victim's open redirect.
    let (evil_public, evil_private) = generate_keypair().await.unwrap();
    let evil_key_id = victim.url("/redirect/bob#main-key");
    attacker.serve(
        "/fake-bob",
        actor_doc(
            &bob.id,
            "bob",
            &victim.url("/inbox"),
            &evil_key_id,
            &evil_public,
        ),
    );
    victim.redirect("/redirect/bob", &attacker.url("/fake-bob"));

    let forged = note(&victim.url("/notes/forged"), &bob.id, None, "forged");
    let (status, body) = send(&app, &create(&bob.id, &forged), &evil_key_id, &evil_private).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(
        attacker.gets().contains(&"/fake-bob".to_owned()),
        "the redirect was followed: {:?}",
        attacker.gets()
    );
    assert_eq!(
        stored_key(&app, &bob.id).await.as_deref(),
        Some(bob.public_pem.as_str()),
        "bob's key was replaced"
    );
    assert!(!has_post(&app, forged["id"].as_str().unwrap()).await);

    // Nor is the attacker's key taken for bob's own key id afterwards.
    let forged2 = note(&victim.url("/notes/forged2"), &bob.id, None, "forged again");
    let (status, body) = send(&app, &create(&bob.id, &forged2), &bob.key_id, &evil_private).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(!has_post(&app, forged2["id"].as_str().unwrap()).await);
}

/// A reply whose `inReplyTo` on the victim's server redirects to the attacker's note
/// claiming to be the victim's: the forged parent is not stored under the victim.
#[tokio::test]
async fn a_parent_fetched_through_a_redirect_cannot_impersonate_another_server() {
    let app = spawn().await;
    let victim = StandIn::start().await;
    let attacker = StandIn::start().await;
    let bob = victim.actor("bob").await;
    let mallory = attacker.actor("mallory").await;

    let forged_parent = victim.url("/notes/forged-parent");
    attacker.serve(
        "/forged-parent",
        note(&forged_parent, &bob.id, None, "bob never said this"),
    );
    victim.redirect("/redirect/note", &attacker.url("/forged-parent"));

    let reply = note(
        &attacker.url("/notes/reply"),
        &mallory.id,
        Some(&victim.url("/redirect/note")),
        "look what bob said",
    );
    let (status, body) = send(
        &app,
        &create(&mallory.id, &reply),
        &mallory.key_id,
        &mallory.private_pem,
    )
    .await;
    assert!(
        status.is_success() || status.is_client_error(),
        "{status} {body}"
    );
    assert!(
        attacker.gets().contains(&"/forged-parent".to_owned()),
        "the redirect was followed: {:?}",
        attacker.gets()
    );
    assert!(
        !has_post(&app, &forged_parent).await,
        "a forged post of bob was stored"
    );
    assert!(!has_post(&app, &victim.url("/redirect/note")).await);
}

/// A redirect within one server is still followed: the document is that server's own.
/// (The parent is stored under its own id.)
#[tokio::test]
async fn a_redirect_within_the_same_server_is_followed() {
    let app = spawn().await;
    let peer = StandIn::start().await;
    let carol = peer.actor("carol").await;
    let dave = peer.actor("dave").await;
    let parent = note(&peer.url("/notes/parent"), &carol.id, None, "parent");
    peer.serve("/notes/parent", parent.clone());
    peer.redirect("/short/parent", &peer.url("/notes/parent"));
    let reply = note(
        &peer.url("/notes/reply"),
        &dave.id,
        Some(&peer.url("/short/parent")),
        "reply",
    );
    let (status, body) = send(
        &app,
        &create(&dave.id, &reply),
        &dave.key_id,
        &dave.private_pem,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(
        has_post(&app, &peer.url("/notes/parent")).await,
        "{:?}",
        peer.gets()
    );
}

fn follow(actor: &str, n: usize) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}/follows/{n}"),
        "type": "Follow",
        "actor": actor,
        "object": "http://tidings.test/users/alice",
    })
}

/// Requests signed with any key, naming key ids on one server: the inbox fetches a failed
/// key id once (not again for minutes), distinct key ids on one host at most
/// `HOST_KEY_FETCHES` times a minute, and refetches a known actor whose signature fails
/// at most once. The 401 says nothing of what the remote server answered.
#[tokio::test]
async fn unsigned_and_badly_signed_posts_cause_a_bounded_number_of_key_fetches() {
    let app = spawn().await;
    app.user("alice").await;
    let (_, pem) = generate_keypair().await.unwrap();

    // One key id that does not exist, named 40 times.
    let target = StandIn::start().await;
    target.fail("/users/ghost", 418, "SECRET-REMOTE-BODY");
    let ghost = target.url("/users/ghost");
    for n in 0..40 {
        let (status, body) =
            send(&app, &follow(&ghost, n), &format!("{ghost}#main-key"), &pem).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        for leak in ["418", "SECRET", "teapot", "answered", "remote"] {
            assert!(!body.contains(leak), "the 401 tells {leak:?}: {body}");
        }
    }
    assert_eq!(target.gets().len(), 1, "{:?}", target.gets());

    // More distinct key ids on one host than the host's budget.
    let limit = tidings::federation::signers::HOST_KEY_FETCHES as usize;
    let victim = StandIn::start().await;
    for n in 0..limit + 30 {
        let actor = victim.url(&format!("/users/u{n}"));
        let (status, body) =
            send(&app, &follow(&actor, n), &format!("{actor}#main-key"), &pem).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    // (The test takes seconds; the budget is per minute.)
    assert_eq!(
        victim.gets().len(),
        limit,
        "GETs for {} requests",
        limit + 30
    );

    // A known actor, then 20 requests under its key id signed with another key.
    let peer = StandIn::start().await;
    let erin = peer.actor("erin").await;
    let (status, body) = send(&app, &follow(&erin.id, 0), &erin.key_id, &erin.private_pem).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let before = peer.gets().len();
    for n in 1..=20 {
        let (status, body) = send(&app, &follow(&erin.id, n), &erin.key_id, &pem).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    assert!(
        peer.gets().len() - before <= 1,
        "{} refetches of a known actor",
        peer.gets().len() - before
    );
    // Its own key still works.
    let (status, body) = send(&app, &follow(&erin.id, 21), &erin.key_id, &erin.private_pem).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

/// An actor that publishes two keys (`publicKey` as an array): a request signed with the
/// second is accepted, also later from the stored keys (no new fetch), and with the first.
#[tokio::test]
async fn every_published_key_of_an_actor_is_accepted() {
    let app = spawn().await;
    app.user("alice").await;
    let peer = StandIn::start().await;
    let id = peer.url("/users/multi");
    let (first_public, first_private) = generate_keypair().await.unwrap();
    let (second_public, second_private) = generate_keypair().await.unwrap();
    let (first, second) = (format!("{id}#main-key"), format!("{id}#second-key"));
    let mut doc = actor_doc(&id, "multi", &peer.url("/inbox"), &first, &first_public);
    doc["publicKey"] = json!([
        {"id": first, "owner": id, "publicKeyPem": first_public},
        {"id": second, "owner": id, "publicKeyPem": second_public},
    ]);
    peer.serve("/users/multi", doc);

    let (status, body) = send(&app, &follow(&id, 1), &second, &second_private).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The stand-in records every request; the Accept of the follow goes to its /inbox
    // whenever the delivery worker gets to it, so only the actor's document is counted.
    let actor_fetches = || {
        peer.gets()
            .into_iter()
            .filter(|p| p == "/users/multi")
            .count()
    };
    assert_eq!(actor_fetches(), 1, "{:?}", peer.gets());
    // Past the in-memory signer cache: the stored keys are used, with no new fetch.
    app.svc.signers.clear();
    let (status, body) = send(&app, &follow(&id, 2), &second, &second_private).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (status, body) = send(&app, &follow(&id, 3), &first, &first_private).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(
        actor_fetches(),
        1,
        "no fetch for stored keys: {:?}",
        peer.gets()
    );

    // A key it does not publish is still refused.
    let (_, other) = generate_keypair().await.unwrap();
    let (status, body) = send(&app, &follow(&id, 4), &second, &other).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
}

async fn follows_of(app: &TestApp, actor: &str) -> i64 {
    use tidings::db::schema::follows;
    let actor = actor.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(follows::table
                .inner_join(accounts::table.on(accounts::id.eq(follows::follower_id)))
                .filter(accounts::ap_id.eq(actor))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

async fn seen_ids(app: &TestApp) -> Vec<String> {
    use tidings::db::schema::inbox_activities;
    app.svc
        .db
        .run(|conn| {
            Ok(inbox_activities::table
                .select(inbox_activities::ap_id)
                .order(inbox_activities::ap_id)
                .load::<String>(conn)?)
        })
        .await
        .unwrap()
}

/// The inbox's record of received activity ids: a replay within the retention changes
/// nothing; records older than the retention are pruned, recent ones stay.
#[tokio::test]
async fn old_activity_ids_are_pruned_and_recent_replays_are_still_ignored() {
    use tidings::db::schema::inbox_activities;
    let app = spawn().await;
    app.user("alice").await;
    let peer = StandIn::start().await;
    let fay = peer.actor("fay").await;
    let f1 = follow(&fay.id, 1);
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/undos/1", fay.id), "type": "Undo", "actor": fay.id, "object": f1,
    });
    let ok =
        |(status, body): (StatusCode, String)| assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    ok(send(&app, &f1, &fay.key_id, &fay.private_pem).await);
    assert_eq!(follows_of(&app, &fay.id).await, 1);
    ok(send(&app, &undo, &fay.key_id, &fay.private_pem).await);
    assert_eq!(follows_of(&app, &fay.id).await, 0);
    // The same Follow again (signed anew): seen, so ignored.
    ok(send(&app, &f1, &fay.key_id, &fay.private_pem).await);
    assert_eq!(follows_of(&app, &fay.id).await, 0);

    // The Follow's record is made older than the retention (14 days by default).
    let f1_id = f1["id"].as_str().unwrap().to_owned();
    let old =
        chrono::Utc::now().naive_utc() - app.svc.config.inbox_retention - chrono::Duration::days(1);
    let id = f1_id.clone();
    app.svc
        .db
        .run(move |conn| {
            Ok(diesel::update(inbox_activities::table.find(id))
                .set(inbox_activities::received_at.eq(old))
                .execute(conn)?)
        })
        .await
        .unwrap();
    let pruned = tidings::federation::inbox::prune_seen_activities(&app.svc)
        .await
        .unwrap();
    assert_eq!(pruned, 1);
    assert_eq!(
        seen_ids(&app).await,
        vec![undo["id"].as_str().unwrap().to_owned()]
    );
    assert_eq!(
        tidings::federation::inbox::prune_seen_activities(&app.svc)
            .await
            .unwrap(),
        0
    );

    // Past the retention the id is forgotten (a real replay would by then carry a
    // signature long expired: they are accepted for 12 hours).
    ok(send(&app, &f1, &fay.key_id, &fay.private_pem).await);
    assert_eq!(follows_of(&app, &fay.id).await, 1);
}

/// A request signed for another server (its `Host` signed as that server's) is refused,
/// before any key is fetched; the same activity addressed to us is accepted.
#[tokio::test]
async fn a_signature_made_for_another_server_is_refused() {
    use axum::http::{HeaderMap, Method};
    use tidings::federation::signatures::{sign_request, sign_request_rfc9421};
    let app = spawn().await;
    app.user("alice").await;
    let peer = StandIn::start().await;
    let gus = peer.actor("gus").await;
    let body = follow(&gus.id, 1).to_string();
    let post = |signed_for: &str, rfc9421: bool| {
        let url = url::Url::parse(signed_for).unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/activity+json"),
        );
        let sign = if rfc9421 {
            sign_request_rfc9421
        } else {
            sign_request
        };
        sign(
            &Method::POST,
            &url,
            &mut headers,
            Some(body.as_bytes()),
            &gus.key_id,
            &gus.private_pem,
            chrono::Utc::now(),
        )
        .unwrap();
        reqwest::Client::new()
            .post(format!("{}/users/alice/inbox", app.base))
            .headers(headers)
            .body(body.clone())
            .send()
    };
    for rfc9421 in [false, true] {
        for other in [
            "http://other.example/users/alice/inbox",
            "http://tidings.test:8443/users/alice/inbox",
        ] {
            let res = post(other, rfc9421).await.unwrap();
            let status = res.status();
            let text = res.text().await.unwrap();
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{other} (9421: {rfc9421}): {text}"
            );
            assert!(text.contains("another server"), "{text}");
        }
    }
    assert!(
        peer.gets().is_empty(),
        "no key was fetched: {:?}",
        peer.gets()
    );
    let res = post("http://tidings.test/users/alice/inbox", false)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::ACCEPTED);
}

/// The search box: a URL on the victim's server that redirects to the attacker's note or
/// actor claiming to be the victim's stores nothing under the victim's name.
#[tokio::test]
async fn a_searched_url_that_redirects_cannot_impersonate_another_server() {
    let app = spawn().await;
    let alice = app.user("alice").await;
    let victim = StandIn::start().await;
    let attacker = StandIn::start().await;
    let bob = victim.actor("bob").await;
    let forged = victim.url("/notes/searched-forgery");
    attacker.serve("/note", note(&forged, &bob.id, None, "bob never said this"));
    victim.redirect("/redirect/note", &attacker.url("/note"));
    let (evil_public, _) = generate_keypair().await.unwrap();
    let fake_actor = victim.url("/users/carol");
    attacker.serve(
        "/actor",
        actor_doc(
            &fake_actor,
            "carol",
            &attacker.url("/inbox"),
            &format!("{fake_actor}#main-key"),
            &evil_public,
        ),
    );
    victim.redirect("/redirect/actor", &attacker.url("/actor"));

    for path in ["/redirect/note", "/redirect/actor"] {
        let q: String = url::form_urlencoded::byte_serialize(victim.url(path).as_bytes()).collect();
        let page = alice.get(&format!("/search?q={q}")).await;
        assert!(page.status().is_success() || page.status().is_redirection());
    }
    let gets = attacker.gets();
    assert!(
        gets.contains(&"/note".to_owned()) && gets.contains(&"/actor".to_owned()),
        "the redirects were followed: {gets:?}"
    );
    assert!(
        !has_post(&app, &forged).await,
        "a forged post of bob was stored"
    );
    assert_eq!(
        stored_key(&app, &fake_actor).await,
        None,
        "a forged account was stored"
    );
}
