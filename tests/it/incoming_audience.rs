//! Followers-only and direct notes from other servers (issue #13, item 1; docs/visibility.md):
//! stored with the visibility Mastodon gives them when they are for someone here (a local
//! account addressed or mentioned, or a local follower of a followers-only note's author),
//! otherwise accepted and not stored; their mentions stored (local accounts, remote
//! accounts we know, local accounts in `to`/`cc`) and the mentioned notified.

use crate::common::TestApp;
use crate::common::api::Api;
use crate::common::peer::{Peer, signed_by};
use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::{accounts, follows, mentions, posts};
use tidings::federation::fetch::fetch_actor;
use url::Url;

const ALICE: &str = "http://tidings.test/users/alice";

fn fixture(path: &str) -> Value {
    let full = format!(
        "{}/tests/fixtures/federation/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn rewritten(path: &str, pairs: &[(&str, &str)]) -> Value {
    let mut text = fixture(path).to_string();
    for (from, to) in pairs {
        text = text.replace(from, to);
    }
    serde_json::from_str(&text).unwrap()
}

/// (visibility, mentioned usernames sorted) of the post stored under `ap_id`.
async fn stored(app: &TestApp, ap_id: &str) -> Option<(i64, String, Vec<String>)> {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            let Some((id, visibility)) = posts::table
                .filter(posts::ap_id.eq(&ap_id))
                .select((posts::id, posts::visibility))
                .first::<(i64, String)>(conn)
                .optional()?
            else {
                return Ok(None);
            };
            let mut names: Vec<String> = mentions::table
                .inner_join(accounts::table.on(accounts::id.eq(mentions::account_id)))
                .filter(mentions::post_id.eq(id))
                .select(accounts::username)
                .load(conn)?;
            names.sort();
            Ok(Some((id, visibility, names)))
        })
        .await
        .unwrap()
}

/// `name` (local) follows the remote account `actor_id` (accepted).
pub(crate) async fn local_follows(app: &TestApp, name: &str, actor_id: &str) {
    let (name, actor_id) = (name.to_owned(), actor_id.to_owned());
    app.svc
        .db
        .write(move |conn| {
            let follower: i64 = accounts::table
                .filter(accounts::username_lower.eq(&name))
                .filter(accounts::domain.is_null())
                .select(accounts::id)
                .first(conn)?;
            let followed: i64 = accounts::table
                .filter(accounts::ap_id.eq(&actor_id))
                .select(accounts::id)
                .first(conn)?;
            let id = tidings::db::ids::new_id();
            diesel::insert_into(follows::table)
                .values((
                    follows::id.eq(id),
                    follows::ap_id.eq(format!("http://tidings.test/follows/{id}")),
                    follows::follower_id.eq(follower),
                    follows::followed_id.eq(followed),
                    follows::state.eq("accepted"),
                    follows::created_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

fn mention_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "mention")
        .map(|n| n["status"]["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Mastodon's captured direct message, addressed to alice: stored as `direct`, alice
/// mentioned and told. The same message addressed to nobody here is accepted and not
/// stored.
#[tokio::test]
async fn a_mastodon_direct_message_is_stored_for_the_one_addressed() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    app.user("bob").await;
    let peer = Peer::start().await;
    let actor = peer.actor();
    let mut note = rewritten(
        "mastodon/objects/private_message.json",
        &[
            ("https://mastodon.world/users/nutomic", &actor.id),
            ("https://mastodon.world", &peer.base),
            ("https://ds9.lemmy.ml/u/nutomic", ALICE),
        ],
    );
    note["inReplyTo"] = Value::Null;
    let note_id = note["id"].as_str().unwrap().to_owned();
    let create = json!({"id": format!("{note_id}/activity"), "type": "Create",
        "actor": actor.id, "to": note["to"], "cc": note["cc"], "object": note});
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (id, visibility, names) = stored(&app, &note_id).await.expect("stored");
    assert_eq!(visibility, "direct");
    assert_eq!(names, ["alice"]);
    let alice = Api::login(&app, "alice").await;
    assert_eq!(
        mention_ids(&alice.ok("/api/v1/notifications").await),
        [id.to_string()]
    );
    let status = alice.ok(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(status["visibility"], "direct");
    assert_eq!(status["mentions"][0]["acct"], "alice");

    // To someone elsewhere only: nothing stored.
    let mut elsewhere = note.clone();
    let other_id = format!("{}/statuses/2", actor.id);
    elsewhere["id"] = other_id.clone().into();
    elsewhere["to"] = json!([format!("{}/users/someone", peer.base)]);
    elsewhere["tag"] = json!([]);
    let create = json!({"id": format!("{other_id}/activity"), "type": "Create",
        "actor": actor.id, "object": elsewhere});
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(stored(&app, &other_id).await.is_none());

    // Addressed in `to` without a Mention tag: alice counts as mentioned.
    let mut untagged = note.clone();
    let third = format!("{}/statuses/3", actor.id);
    untagged["id"] = third.clone().into();
    untagged["tag"] = json!([]);
    let create = json!({"id": format!("{third}/activity"), "type": "Create",
        "actor": actor.id, "object": untagged});
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, visibility, names) = stored(&app, &third).await.expect("stored");
    assert_eq!(
        (visibility.as_str(), names),
        ("direct", vec!["alice".to_owned()])
    );
}

/// A followers-only Create in Mastodon's shape: stored as `private` when a local account
/// follows the author (no mentions) or is mentioned (and told); not stored otherwise.
#[tokio::test]
async fn a_followers_only_note_is_stored_as_private_for_followers_and_the_mentioned() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    app.user("bob").await;
    let peer = Peer::start().await;
    let actor = peer.actor();
    let pairs = [
        ("https://mastodon.example/users/ann", actor.id.as_str()),
        ("https://mastodon.example", peer.base.as_str()),
        ("https://tidings.example/users/alice", ALICE),
        ("https://tidings.example", "http://tidings.test"),
    ];
    let base = rewritten("mastodon/activities/create_private_note.json", &pairs);
    let with_id = |n: u32, mentioning: bool| {
        let mut a = base.clone();
        let id = format!("{}/statuses/{n}", actor.id);
        a["id"] = format!("{id}/activity").into();
        a["object"]["id"] = id.into();
        if !mentioning {
            a["cc"] = json!([]);
            a["object"]["cc"] = json!([]);
            a["object"]["tag"] = json!([]);
            a["object"]["content"] = "<p>Only for my followers</p>".into();
            a["object"].as_object_mut().unwrap().remove("contentMap");
        }
        a
    };

    // Mentioning alice: stored, private, alice mentioned and told.
    let create = with_id(1, true);
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let note_id = create["object"]["id"].as_str().unwrap();
    let (id, visibility, names) = stored(&app, note_id).await.expect("stored");
    assert_eq!(
        (visibility.as_str(), names),
        ("private", vec!["alice".to_owned()])
    );
    let alice = Api::login(&app, "alice").await;
    assert_eq!(
        mention_ids(&alice.ok("/api/v1/notifications").await),
        [id.to_string()]
    );

    // For followers only, nobody here follows: not stored.
    let create = with_id(2, false);
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert!(
        stored(&app, create["object"]["id"].as_str().unwrap())
            .await
            .is_none()
    );

    // Once bob follows the author, the next one is stored, mentioning nobody.
    local_follows(&app, "bob", &actor.id).await;
    let create = with_id(3, false);
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, visibility, names) = stored(&app, create["object"]["id"].as_str().unwrap())
        .await
        .expect("stored");
    assert_eq!((visibility.as_str(), names.len()), ("private", 0));
}

/// A public note mentioning a remote account we know and a local one: both are its
/// mentions in the API (the remote one as `name@host`, with its profile page); a
/// mention of an account we do not know is left out.
#[tokio::test]
async fn a_remote_notes_mentions_of_known_accounts_are_stored_and_shown() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    let peer = Peer::start().await;
    let actor = peer.actor();
    let friend = peer.add_actor("friend").await;
    let (friend_account, _) = fetch_actor(&app.svc, &Url::parse(&friend.id).unwrap())
        .await
        .unwrap();
    let note_id = format!("{}/statuses/9", actor.id);
    let create = json!({
        "id": format!("{note_id}/activity"), "type": "Create", "actor": actor.id,
        "object": {
            "id": note_id, "type": "Note", "attributedTo": actor.id,
            "content": "<p>Hi @friend, @alice and @stranger</p>",
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "cc": [format!("{}/followers", actor.id), friend.id, ALICE],
            "tag": [
                {"type": "Mention", "href": friend.id, "name": "@friend"},
                {"type": "Mention", "href": ALICE, "name": "@alice@tidings.test"},
                {"type": "Mention", "href": format!("{}/users/stranger", peer.base), "name": "@stranger"},
            ],
        },
    });
    let (status, body) = signed_by(&app, &actor, &create).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (id, visibility, names) = stored(&app, &note_id).await.expect("stored");
    assert_eq!(visibility, "public");
    assert_eq!(names, ["alice", "friend"]);
    let alice = Api::login(&app, "alice").await;
    let status = alice.ok(&format!("/api/v1/statuses/{id}")).await;
    let mut accts: Vec<(String, String)> = status["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["acct"].as_str().unwrap().to_owned(),
                m["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    accts.sort();
    let host = friend_account.domain.unwrap();
    assert_eq!(
        accts,
        vec![
            ("alice".to_owned(), "http://tidings.test/@alice".to_owned()),
            (format!("friend@{host}"), friend.id.clone()),
        ]
    );
    // The text is the author's server's.
    assert!(status["content"].as_str().unwrap().contains("Hi @friend"));
}
