//! The inbox over the real router, with a real second HTTP server in the test process as
//! the remote peer (tests/it/common/peer.rs): it serves a remote actor (with its own RSA key)
//! at `/users/remote` and records the POSTs it receives at `/inbox`.

use std::time::Duration;

use crate::common::TestApp;
use crate::common::peer::{Peer, Received, post_inbox};
use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::{accounts, deliveries, follows};
use tidings::federation::signatures::{DEFAULT_MAX_SKEW, sign_request_rfc9421, verify_request};
use tidings::service::crypto::generate_keypair;
use url::Url;

async fn spawn() -> (TestApp, Peer) {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    (app, Peer::start().await)
}

async fn signed(app: &TestApp, peer: &Peer, activity: &Value) -> (StatusCode, String) {
    post_inbox(
        app,
        "/users/alice/inbox",
        activity.to_string().as_bytes(),
        Some((&peer.key_id, &peer.private_pem)),
    )
    .await
}

/// Follows of alice by the remote actor.
async fn follow_count(app: &TestApp, remote: &str) -> i64 {
    let remote = remote.to_owned();
    app.svc
        .db
        .run(move |conn| {
            let follower: Option<i64> = accounts::table
                .filter(accounts::ap_id.eq(remote))
                .select(accounts::id)
                .first(conn)
                .optional()?;
            let Some(follower) = follower else {
                return Ok(0);
            };
            Ok(follows::table
                .filter(follows::follower_id.eq(follower))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

async fn wait_for_posts(peer: &Peer, n: usize) -> Vec<Received> {
    for _ in 0..100 {
        let got = peer.received();
        if got.len() >= n {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the peer received {} POSTs, expected {n}",
        peer.received().len()
    );
}

async fn alice_public_key(app: &TestApp) -> String {
    app.svc
        .db
        .run(|conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq("alice"))
                .filter(accounts::domain.is_null())
                .select(accounts::public_key_pem)
                .first::<String>(conn)?)
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_remote_follow_is_stored_and_accepted() {
    let (app, peer) = spawn().await;
    let follow = peer.follow(1);
    let (status, body) = signed(&app, &peer, &follow).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(follow_count(&app, &peer.actor_id).await, 1);

    // The remote actor is stored as an account, its bio sanitised.
    let actor_id = peer.actor_id.clone();
    let (domain, bio, inbox) = app
        .svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(actor_id))
                .select((accounts::domain, accounts::bio, accounts::inbox_url))
                .first::<(Option<String>, String, Option<String>)>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(
        domain.as_deref(),
        Some(peer.base.trim_start_matches("http://"))
    );
    assert!(!bio.contains("script"), "{bio}");
    assert_eq!(inbox, Some(format!("{}/inbox", peer.base)));

    // The Accept arrives, signed with alice's key.
    let got = wait_for_posts(&peer, 1).await;
    let accept: Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(accept["type"], "Accept");
    assert_eq!(accept["actor"], "http://tidings.test/users/alice");
    assert_eq!(accept["object"]["id"], follow["id"]);
    assert_eq!(accept["object"]["type"], "Follow");
    let verified = verify_request(
        &Method::POST,
        "/inbox",
        &got[0].headers,
        Some(&got[0].body),
        &alice_public_key(&app).await,
        Utc::now(),
        DEFAULT_MAX_SKEW,
    )
    .expect("the Accept is signed by alice");
    assert_eq!(verified.key_id, "http://tidings.test/users/alice#main-key");

    // The queue row is marked delivered.
    let mut pending = 1;
    for _ in 0..100 {
        pending = app
            .svc
            .db
            .run(|conn| {
                Ok(deliveries::table
                    .filter(deliveries::delivered_at.is_null())
                    .count()
                    .get_result::<i64>(conn)?)
            })
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "the delivery is marked delivered");

    // The same Follow again: nothing new. A new Follow of the same account: one row.
    let (status, _) = signed(&app, &peer, &follow).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, _) = signed(&app, &peer, &peer.follow(2)).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(follow_count(&app, &peer.actor_id).await, 1);

    // Undo(Follow) removes it (through the shared inbox this time).
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/2/undo", peer.base),
        "type": "Undo",
        "actor": peer.actor_id,
        "object": peer.follow(2),
    });
    let (status, body) = post_inbox(
        &app,
        "/inbox",
        undo.to_string().as_bytes(),
        Some((&peer.key_id, &peer.private_pem)),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(follow_count(&app, &peer.actor_id).await, 0);

    // Other types are accepted and ignored.
    let like = json!({
        "id": format!("{}/likes/1", peer.base), "type": "Like",
        "actor": peer.actor_id, "object": "http://tidings.test/stories/1",
    });
    assert_eq!(signed(&app, &peer, &like).await.0, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn rfc9421_signatures_are_accepted() {
    let (app, peer) = spawn().await;
    let body = peer.follow(1).to_string();
    // Signed for the URL the sender knows us by; sent to the loopback port.
    let target = Url::parse("http://tidings.test/users/alice/inbox").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request_rfc9421(
        &Method::POST,
        &target,
        &mut headers,
        Some(body.as_bytes()),
        &peer.key_id,
        &peer.private_pem,
        Utc::now(),
    )
    .unwrap();
    let res = reqwest::Client::new()
        .post(format!("{}/users/alice/inbox", app.base))
        .headers(headers)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::ACCEPTED,
        "{}",
        res.text().await.unwrap()
    );
    assert_eq!(follow_count(&app, &peer.actor_id).await, 1);
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let (app, peer) = spawn().await;
    let follow = peer.follow(1).to_string();

    // Unsigned.
    let (status, body) = post_inbox(&app, "/users/alice/inbox", follow.as_bytes(), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("missing header"), "{body}");

    // Signed with another key than the actor's.
    let (_, other_pem) = generate_keypair().await.unwrap();
    let (status, body) = post_inbox(
        &app,
        "/users/alice/inbox",
        follow.as_bytes(),
        Some((&peer.key_id, &other_pem)),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("signature verification failed"), "{body}");

    // Malformed JSON.
    let (status, body) = post_inbox(
        &app,
        "/users/alice/inbox",
        b"{not json",
        Some((&peer.key_id, &peer.private_pem)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("malformed JSON"), "{body}");

    // The activity's actor is not the key's owner.
    let mut forged = peer.follow(2);
    forged["actor"] = json!(format!("{}/users/someone-else", peer.base));
    let (status, body) = signed(&app, &peer, &forged).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("not the activity's actor"), "{body}");

    // An activity id on another host than the actor's.
    let mut elsewhere = peer.follow(3);
    elsewhere["id"] = json!("https://elsewhere.example/follows/3");
    let (status, body) = signed(&app, &peer, &elsewhere).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Unknown local inbox.
    let (status, _) = post_inbox(
        &app,
        "/users/nobody/inbox",
        follow.as_bytes(),
        Some((&peer.key_id, &peer.private_pem)),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    assert_eq!(follow_count(&app, &peer.actor_id).await, 0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(peer.received().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn private_addresses_are_refused_by_default() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let peer = Peer::start().await;
    let (status, body) = signed(&app, &peer, &peer.follow(1)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("cannot be fetched"), "{body}");
    assert!(!body.contains("refused address"), "{body}");
    assert_eq!(follow_count(&app, &peer.actor_id).await, 0);
}
