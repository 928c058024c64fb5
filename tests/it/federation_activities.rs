//! What the inbox does with each activity a peer sends (issue #5): remote stories and
//! replies, edits and deletes, votes and reactions and their Undo, shares, reports, answers
//! to our follows, and bad input. A stand-in peer (tests/it/common/peer.rs) signs and sends;
//! the effects are checked where people see them (pages, the client API) and in the rows.

use crate::common::peer::{Peer, RemoteActor, signed_by};
use crate::common::{Browser, TestApp};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::models::Post;
use tidings::db::schema::{accounts, follows, notifications, posts, reactions, reports, votes};
use tidings::service::timelines::{self, Range};

const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

struct World {
    app: TestApp,
    peer: Peer,
    alice: Browser,
    remote: RemoteActor,
}

async fn world() -> World {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let alice = app.user("alice").await;
    let peer = Peer::start().await;
    let remote = peer.actor();
    World {
        app,
        peer,
        alice,
        remote,
    }
}

fn story_url(id: i64) -> String {
    format!("http://tidings.test/stories/{id}")
}

/// A public Note by `actor` at `{base}/notes/{name}`.
fn note(
    peer: &Peer,
    actor: &RemoteActor,
    name: &str,
    in_reply_to: Option<&str>,
    html: &str,
) -> Value {
    json!({
        "id": format!("{}/notes/{name}", peer.base),
        "type": "Note",
        "attributedTo": actor.id,
        "content": html,
        "inReplyTo": in_reply_to,
        "to": [PUBLIC],
        "cc": [format!("{}/followers", actor.id)],
        "tag": [],
    })
}

fn activity(kind: &str, actor: &RemoteActor, id: &str, object: Value) -> Value {
    json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": id,
        "type": kind,
        "actor": actor.id,
        "object": object,
    })
}

fn create(actor: &RemoteActor, note: &Value) -> Value {
    let id = format!("{}/activity", note["id"].as_str().unwrap());
    activity("Create", actor, &id, note.clone())
}

#[track_caller]
fn accepted((status, body): (StatusCode, String)) {
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn post(app: &TestApp, ap_id: &str) -> Option<Post> {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::ap_id.eq(ap_id))
                .first::<Post>(conn)
                .optional()?)
        })
        .await
        .unwrap()
}

async fn post_by_id(app: &TestApp, id: i64) -> Post {
    app.svc
        .db
        .run(move |conn| Ok(posts::table.find(id).first::<Post>(conn)?))
        .await
        .unwrap()
}

async fn account_id(app: &TestApp, ap_id_or_name: &str) -> i64 {
    let key = ap_id_or_name.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(
                    accounts::ap_id
                        .eq(&key)
                        .or(accounts::username_lower.eq(&key)),
                )
                .select(accounts::id)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// Kinds of alice's notifications, oldest first.
async fn notification_kinds(app: &TestApp, account: i64) -> Vec<String> {
    app.svc
        .db
        .run(move |conn| {
            Ok(notifications::table
                .filter(notifications::account_id.eq(account))
                .order(notifications::created_at.asc())
                .select(notifications::kind)
                .load::<String>(conn)?)
        })
        .await
        .unwrap()
}

async fn count_posts(app: &TestApp) -> i64 {
    app.svc
        .db
        .run(|conn| Ok(posts::table.count().get_result::<i64>(conn)?))
        .await
        .unwrap()
}

async fn count_follows(app: &TestApp) -> i64 {
    app.svc
        .db
        .run(|conn| Ok(follows::table.count().get_result::<i64>(conn)?))
        .await
        .unwrap()
}

async fn api_json(app: &TestApp, path: &str) -> Value {
    let res = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_remote_reply_joins_the_thread_and_notifies() {
    let mut w = world().await;
    let story = w
        .alice
        .post_story("Local news", "Something happened.")
        .await;
    // Bob follows the story: he hears of replies too.
    let mut bob = w.app.user("bob").await;
    let res = bob
        .post_form(&format!("/stories/{story}/follow"), &[])
        .await;
    assert!(res.status().is_redirection() || res.status().is_success());

    let reply = note(
        &w.peer,
        &w.remote,
        "r1",
        Some(&story_url(story)),
        "<p>A reply from <b>afar</b>, cc @bob (of its own server)</p>",
    );
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &reply)).await);

    let stored = post(&w.app, reply["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.in_reply_to_id, Some(story));
    assert_eq!(stored.thread_root_id, Some(story));
    assert!(!stored.local);
    assert_eq!(post_by_id(&w.app, story).await.reply_count, 1);

    let page = w.alice.get(&format!("/stories/{story}")).await;
    page.assert_contains("A reply from <b>afar</b>");
    let context = api_json(&w.app, &format!("/api/v1/statuses/{story}/context")).await;
    let descendants = context["descendants"].as_array().unwrap();
    assert_eq!(descendants.len(), 1, "{context}");
    assert_eq!(descendants[0]["id"], stored.id.to_string());
    assert_eq!(descendants[0]["uri"], reply["id"]);
    // "@bob" in a remote text is not our bob: no Mention tag named him.
    assert_eq!(descendants[0]["mentions"], json!([]));

    let alice_id = account_id(&w.app, "alice").await;
    let bob_id = account_id(&w.app, "bob").await;
    assert_eq!(notification_kinds(&w.app, alice_id).await, ["reply"]);
    assert!(
        notification_kinds(&w.app, bob_id)
            .await
            .contains(&"followed_reply".to_owned()),
        "{:?}",
        notification_kinds(&w.app, bob_id).await
    );

    // The same activity again changes nothing.
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &reply)).await);
    assert_eq!(post_by_id(&w.app, story).await.reply_count, 1);
    assert_eq!(notification_kinds(&w.app, alice_id).await, ["reply"]);
}

#[tokio::test]
async fn a_remote_story_is_sanitised_tagged_and_mentions_notify() {
    let w = world().await;
    let mut n = note(
        &w.peer,
        &w.remote,
        "s1",
        None,
        "<p>Fediverse news <script>alert(1)</script><img src=x onerror=\"alert(2)\">\
         <a href=\"javascript:alert(3)\">click</a> <a href=\"https://ok.example/\">ok</a> \
         #Fediverse @alice</p>",
    );
    n["tag"] = json!([
        {"type": "Hashtag", "name": "#Fediverse", "href": "https://x.example/tags/fediverse"},
        {"type": "Mention", "name": "@alice@tidings.test", "href": "http://tidings.test/users/alice"}
    ]);
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &n)).await);
    let stored = post(&w.app, n["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.in_reply_to_id, None);
    assert_eq!(stored.visibility, "public");

    let page = w.alice.get(&format!("/stories/{}", stored.id)).await;
    page.assert_contains("Fediverse news");
    page.assert_contains("rel=\"nofollow noopener noreferrer\"");
    page.assert_lacks("alert(");
    page.assert_lacks("javascript:");

    let tag = w.alice.get("/tags/fediverse").await;
    tag.assert_contains(&format!("/stories/{}", stored.id));

    let alice_id = account_id(&w.app, "alice").await;
    assert_eq!(notification_kinds(&w.app, alice_id).await, ["mention"]);

    // Followers-only: accepted, not stored.
    let mut private = note(&w.peer, &w.remote, "p1", None, "<p>for followers</p>");
    private["to"] = json!([format!("{}/followers", w.remote.id)]);
    private["cc"] = json!([]);
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &private)).await);
    assert!(
        post(&w.app, private["id"].as_str().unwrap())
            .await
            .is_none()
    );
}

#[tokio::test]
async fn missing_parents_are_fetched_first() {
    let mut w = world().await;
    let story = w.alice.post_story("Root", "The root story.").await;
    let carol = w.peer.add_actor("carol").await;
    // Two replies we never received, then a third that answers the second.
    let a = note(
        &w.peer,
        &carol,
        "a",
        Some(&story_url(story)),
        "<p>first</p>",
    );
    let b = note(
        &w.peer,
        &w.remote,
        "b",
        Some(a["id"].as_str().unwrap()),
        "<p>second</p>",
    );
    w.peer.serve("/notes/a", a.clone());
    w.peer.serve("/notes/b", b.clone());
    let c = note(
        &w.peer,
        &w.remote,
        "c",
        Some(b["id"].as_str().unwrap()),
        "<p>third</p>",
    );
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &c)).await);

    let pa = post(&w.app, a["id"].as_str().unwrap())
        .await
        .expect("a fetched");
    let pb = post(&w.app, b["id"].as_str().unwrap())
        .await
        .expect("b fetched");
    let pc = post(&w.app, c["id"].as_str().unwrap())
        .await
        .expect("c stored");
    assert_eq!(pa.in_reply_to_id, Some(story));
    assert_eq!(pb.in_reply_to_id, Some(pa.id));
    assert_eq!(pc.in_reply_to_id, Some(pb.id));
    assert_eq!(pc.thread_root_id, Some(story));
    // carol's account came with the fetch.
    assert_eq!(account_id(&w.app, &carol.id).await, pa.account_id);
    let page = w.alice.get(&format!("/stories/{story}")).await;
    for text in ["first", "second", "third"] {
        page.assert_contains(text);
    }

    // Issue #13: a parent that cannot be had. The reply was accepted and dropped; now it
    // is stored (as Mastodon does), without a thread, and shown as a reply to a post that
    // is not available: on its page and the author's profile, not on the front page.
    let missing = format!("{}/notes/missing", w.peer.base);
    let orphan = note(
        &w.peer,
        &w.remote,
        "orphan",
        Some(&missing),
        "<p>orphan reply</p>",
    );
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &orphan)).await);
    let stored = post(&w.app, orphan["id"].as_str().unwrap())
        .await
        .expect("the reply is stored");
    assert_eq!(stored.in_reply_to_id, None);
    assert_eq!(stored.in_reply_to_uri.as_deref(), Some(missing.as_str()));
    let page = w.alice.get(&format!("/stories/{}", stored.id)).await;
    page.assert_contains("In reply to a post that is not available.");
    page.assert_contains("orphan reply");
    let front = w.alice.get("/").await;
    front.assert_lacks("orphan reply");
    let profile = w
        .alice
        .get(&format!(
            "/@remote@{}",
            w.peer.base.trim_start_matches("http://")
        ))
        .await;
    profile.assert_contains("orphan reply");
    // Apps see a status that replies to nothing they can show (as on Mastodon).
    let status: Value = reqwest::get(format!("{}/api/v1/statuses/{}", w.app.base, stored.id))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["in_reply_to_id"], Value::Null);
    assert!(
        status["content"].as_str().unwrap().contains("orphan reply"),
        "{status}"
    );

    // Higher up the thread: the parents that can be had are stored, the topmost of them
    // as the reply to a post that is not available, and the reply under it.
    let missing = format!("{}/notes/missing-too", w.peer.base);
    let mid = note(&w.peer, &carol, "mid", Some(&missing), "<p>mid</p>");
    w.peer.serve("/notes/mid", mid.clone());
    let low = note(
        &w.peer,
        &w.remote,
        "low",
        Some(mid["id"].as_str().unwrap()),
        "<p>low</p>",
    );
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &low)).await);
    let pmid = post(&w.app, mid["id"].as_str().unwrap()).await.unwrap();
    let plow = post(&w.app, low["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(
        (pmid.in_reply_to_id, pmid.in_reply_to_uri.as_deref()),
        (None, Some(missing.as_str()))
    );
    assert_eq!(plow.in_reply_to_id, Some(pmid.id));
    assert_eq!(plow.in_reply_to_uri, None);
}

/// Issue #13, incoming edge cases: an object whose `type` is an array is stored as its
/// known type (it was accepted and ignored), and a Create whose object has no id is
/// refused saying so.
#[tokio::test]
async fn an_array_of_types_and_a_create_without_object_id() {
    let w = world().await;
    let mut n = note(&w.peer, &w.remote, "typed", None, "<p>Two types</p>");
    n["type"] = json!(["Note", "Article"]);
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &n)).await);
    let stored = post(&w.app, n["id"].as_str().unwrap())
        .await
        .expect("stored as a Note");
    assert_eq!(stored.headline.as_deref(), Some("Two types"));
    // An Update with the same shape is applied too.
    let mut edited = n.clone();
    edited["content"] = json!("<p>Two types, edited</p>");
    let update = activity(
        "Update",
        &w.remote,
        &format!("{}/notes/typed#update", w.peer.base),
        edited,
    );
    accepted(signed_by(&w.app, &w.remote, &update).await);
    let stored = post(&w.app, n["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.body, "Two types, edited");

    let mut anonymous = note(&w.peer, &w.remote, "noid", None, "<p>No id</p>");
    anonymous.as_object_mut().unwrap().remove("id");
    let act = activity(
        "Create",
        &w.remote,
        &format!("{}/notes/noid/activity", w.peer.base),
        anonymous,
    );
    let (status, body) = signed_by(&w.app, &w.remote, &act).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("Create of an object without id"), "{body}");
}

#[tokio::test]
async fn updates_and_deletes_only_from_the_author() {
    let w = world().await;
    let mallory = w.peer.add_actor("mallory").await;
    let mut article = note(&w.peer, &w.remote, "art", None, "<p>Old text #old</p>");
    article["type"] = json!("Article");
    article["name"] = json!("Old title");
    article["tag"] = json!([{"type": "Hashtag", "name": "#old"}]);
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &article)).await);
    let id = post(&w.app, "x").await.map(|p| p.id);
    assert!(id.is_none());
    let stored = post(&w.app, article["id"].as_str().unwrap()).await.unwrap();
    assert_eq!(stored.headline.as_deref(), Some("Old title"));

    let mut edited = article.clone();
    edited["name"] = json!("New title");
    edited["content"] = json!("<p>New text #new</p>");
    edited["tag"] = json!([{"type": "Hashtag", "name": "#new"}]);

    // Someone else on the same server: refused, nothing changes.
    let mut forged = edited.clone();
    forged["attributedTo"] = json!(mallory.id);
    let upd = activity(
        "Update",
        &mallory,
        &format!("{}/updates/1", w.peer.base),
        forged,
    );
    let (status, body) = signed_by(&w.app, &mallory, &upd).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let upd = activity(
        "Update",
        &mallory,
        &format!("{}/updates/2", w.peer.base),
        edited.clone(),
    );
    let (status, _) = signed_by(&w.app, &mallory, &upd).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let del = activity(
        "Delete",
        &mallory,
        &format!("{}/deletes/1", w.peer.base),
        article["id"].clone(),
    );
    let (status, _) = signed_by(&w.app, &mallory, &del).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let same = post_by_id(&w.app, stored.id).await;
    assert_eq!(same.headline.as_deref(), Some("Old title"));
    assert!(same.deleted_at.is_none());

    // The author: the edit shows, tags follow.
    let upd = activity(
        "Update",
        &w.remote,
        &format!("{}/updates/3", w.peer.base),
        edited,
    );
    accepted(signed_by(&w.app, &w.remote, &upd).await);
    let page = w.alice.get(&format!("/stories/{}", stored.id)).await;
    page.assert_contains("New title");
    page.assert_contains("New text");
    page.assert_lacks("Old text");
    w.alice
        .get("/tags/new")
        .await
        .assert_contains(&format!("/stories/{}", stored.id));
    w.alice
        .get("/tags/old")
        .await
        .assert_lacks(&format!("/stories/{}", stored.id));

    // The author deletes it (as a Tombstone): gone like a local delete.
    let del = activity(
        "Delete",
        &w.remote,
        &format!("{}/deletes/2", w.peer.base),
        json!({"id": article["id"], "type": "Tombstone"}),
    );
    accepted(signed_by(&w.app, &w.remote, &del).await);
    assert!(post_by_id(&w.app, stored.id).await.deleted_at.is_some());
    let page = w.alice.get(&format!("/stories/{}", stored.id)).await;
    assert_eq!(page.status(), StatusCode::GONE);
}

#[tokio::test]
async fn votes_and_reactions_count_and_undo_exactly() {
    let mut w = world().await;
    let story = w.alice.post_story("Vote on me", "Please.").await;
    let target = story_url(story);
    let b = w.peer.base.clone();
    let send = |a: Value| {
        let app = &w.app;
        let remote = w.remote.clone();
        async move { signed_by(app, &remote, &a).await }
    };
    let counts = || async { post_by_id(&w.app, story).await };
    let reaction_rows = || async {
        w.app
            .svc
            .db
            .run(move |conn| {
                Ok(reactions::table
                    .filter(reactions::post_id.eq(story))
                    .select((reactions::emoji, reactions::ap_id))
                    .load::<(String, String)>(conn)?)
            })
            .await
            .unwrap()
    };

    let like = activity("Like", &w.remote, &format!("{b}/likes/1"), json!(target));
    accepted(send(like.clone()).await);
    accepted(send(like.clone()).await); // same activity twice
    let p = counts().await;
    assert_eq!((p.up_count, p.down_count), (1, 0));

    // A Dislike after the Like replaces the vote and takes its id.
    let dislike = activity(
        "Dislike",
        &w.remote,
        &format!("{b}/dislikes/1"),
        json!(target),
    );
    accepted(send(dislike.clone()).await);
    let p = counts().await;
    assert_eq!((p.up_count, p.down_count), (0, 1));
    let vote_ids: Vec<String> = w
        .app
        .svc
        .db
        .run(move |conn| {
            Ok(votes::table
                .filter(votes::post_id.eq(story))
                .select(votes::ap_id)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(vote_ids, [format!("{b}/dislikes/1")]);

    // Undo of the old Like takes nothing back; Undo of the Dislike does.
    accepted(
        send(activity(
            "Undo",
            &w.remote,
            &format!("{b}/undo/1"),
            like.clone(),
        ))
        .await,
    );
    assert_eq!(counts().await.down_count, 1);
    accepted(send(activity("Undo", &w.remote, &format!("{b}/undo/2"), dislike)).await);
    let p = counts().await;
    assert_eq!((p.up_count, p.down_count), (0, 0));

    // Reactions: EmojiReact, a Like with content, a Misskey Like.
    let react = json!({
        "id": format!("{b}/react/1"), "type": "EmojiReact", "actor": w.remote.id,
        "object": target, "content": "🎉"
    });
    accepted(send(react.clone()).await);
    let like_content = json!({
        "id": format!("{b}/likes/2"), "type": "Like", "actor": w.remote.id,
        "object": target, "content": "🔥"
    });
    accepted(send(like_content).await);
    let misskey = json!({
        "id": format!("{b}/likes/3"), "type": "Like", "actor": w.remote.id,
        "object": target, "content": "👀", "_misskey_reaction": "👀"
    });
    accepted(send(misskey).await);
    let custom = json!({
        "id": format!("{b}/react/2"), "type": "EmojiReact", "actor": w.remote.id,
        "object": target, "content": ":blobcat:"
    });
    accepted(send(custom).await);
    let mut emoji: Vec<String> = reaction_rows().await.into_iter().map(|r| r.0).collect();
    emoji.sort();
    let mut want = vec!["🎉".to_owned(), "🔥".to_owned(), "👀".to_owned()];
    want.sort();
    assert_eq!(emoji, want);
    // Reactions are not votes.
    let p = counts().await;
    assert_eq!((p.up_count, p.down_count), (0, 0));
    let status = api_json(&w.app, &format!("/api/v1/statuses/{story}")).await;
    assert_eq!(status["favourites_count"], 0);

    // Undo by id only takes back exactly that reaction.
    accepted(
        send(activity(
            "Undo",
            &w.remote,
            &format!("{b}/undo/3"),
            json!(format!("{b}/react/1")),
        ))
        .await,
    );
    let left: Vec<String> = reaction_rows().await.into_iter().map(|r| r.0).collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&"🎉".to_owned()));

    // Alice heard of the first vote and of each reaction.
    let alice_id = account_id(&w.app, "alice").await;
    let kinds = notification_kinds(&w.app, alice_id).await;
    assert_eq!(
        kinds.iter().filter(|k| *k == "reaction").count(),
        3,
        "{kinds:?}"
    );
    assert!(kinds.contains(&"vote".to_owned()), "{kinds:?}");

    // An Undo of someone else's activity is refused.
    let mallory = w.peer.add_actor("mallory").await;
    let stolen = activity(
        "Undo",
        &mallory,
        &format!("{b}/undo/4"),
        json!({"id": format!("{b}/likes/2"), "type": "Like", "actor": w.remote.id, "object": target}),
    );
    let (status, _) = signed_by(&w.app, &mallory, &stolen).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(reaction_rows().await.len(), 2);
}

#[tokio::test]
async fn shares_are_counted_and_undone() {
    let mut w = world().await;
    let story = w.alice.post_story("Share me", "Please.").await;
    let b = w.peer.base.clone();
    let announce = activity(
        "Announce",
        &w.remote,
        &format!("{b}/announces/1"),
        json!(story_url(story)),
    );
    accepted(signed_by(&w.app, &w.remote, &announce).await);
    accepted(signed_by(&w.app, &w.remote, &announce).await);
    assert_eq!(post_by_id(&w.app, story).await.share_count, 1);
    let status = api_json(&w.app, &format!("/api/v1/statuses/{story}")).await;
    assert_eq!(status["reblogs_count"], 1);

    // A share of something we do not have is fetched from its server; when it cannot be
    // had there, the share is refused with the reason and nothing is stored.
    let elsewhere = activity(
        "Announce",
        &w.remote,
        &format!("{b}/announces/2"),
        json!("https://elsewhere.example/notes/1"),
    );
    let (status, body) = signed_by(&w.app, &w.remote, &elsewhere).await;
    assert_eq!(status, reqwest::StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("cannot be had from its server"), "{body}");

    let undo = activity("Undo", &w.remote, &format!("{b}/undo/1"), announce);
    accepted(signed_by(&w.app, &w.remote, &undo).await);
    assert_eq!(post_by_id(&w.app, story).await.share_count, 0);
}

#[tokio::test]
async fn flags_land_in_the_moderation_queue() {
    let mut w = world().await;
    let story = w.alice.post_story("Reported", "Something.").await;
    let moderator = w.app.user("modo").await;
    w.app
        .svc
        .db
        .write(|conn| {
            diesel::update(accounts::table.filter(accounts::username_lower.eq("modo")))
                .set(accounts::is_moderator.eq(true))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/flags/1", w.peer.base),
        "type": "Flag",
        "actor": w.remote.id,
        "object": ["http://tidings.test/users/alice", story_url(story)],
        "content": "Spam from afar",
    });
    accepted(signed_by(&w.app, &w.remote, &flag).await);
    accepted(signed_by(&w.app, &w.remote, &flag).await);
    let remote_id = account_id(&w.app, &w.remote.id).await;
    let rows: Vec<(Option<i64>, Option<i64>, String)> = w
        .app
        .svc
        .db
        .run(|conn| {
            Ok(reports::table
                .select((
                    reports::reporter_id,
                    reports::target_post_id,
                    reports::reason,
                ))
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        [(Some(remote_id), Some(story), "Spam from afar".to_owned())]
    );
    let queue = moderator.get("/moderation").await;
    assert_eq!(queue.status(), StatusCode::OK);
    queue.assert_contains("Spam from afar");
}

#[tokio::test]
async fn accepted_follows_bring_remote_posts_home() {
    let w = world().await;
    let alice_id = account_id(&w.app, "alice").await;
    // Make the remote actor known, then record alice's pending follow of it (as the
    // outgoing side does when it sends the Follow).
    let hello = note(&w.peer, &w.remote, "hello", None, "<p>hello</p>");
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &hello)).await);
    let remote_id = account_id(&w.app, &w.remote.id).await;
    let follow_id = "http://tidings.test/users/alice#follows/1".to_owned();
    let fid = follow_id.clone();
    w.app
        .svc
        .db
        .write(move |conn| {
            diesel::insert_into(follows::table)
                .values((
                    follows::id.eq(424242),
                    follows::ap_id.eq(fid),
                    follows::follower_id.eq(alice_id),
                    follows::followed_id.eq(remote_id),
                    follows::state.eq("pending"),
                    follows::created_at.eq(chrono::Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let home = timelines::home(&w.app.svc, alice_id, Range::newest(20))
        .await
        .unwrap();
    assert!(home.items.iter().all(|p| p.author.id != remote_id));

    let accept = activity(
        "Accept",
        &w.remote,
        &format!("{}/accepts/1", w.peer.base),
        json!({"id": follow_id, "type": "Follow", "actor": "http://tidings.test/users/alice",
               "object": w.remote.id}),
    );
    accepted(signed_by(&w.app, &w.remote, &accept).await);
    let home = timelines::home(&w.app.svc, alice_id, Range::newest(20))
        .await
        .unwrap();
    assert!(home.items.iter().any(|p| p.ap_id == hello["id"]));

    // A remote profile page shows the remote story.
    let profile = w
        .alice
        .get(&format!(
            "/@remote@{}",
            w.peer.base.trim_start_matches("http://")
        ))
        .await;
    profile.assert_contains("hello");

    // Reject (by the Follow's id) removes the follow.
    let reject = activity(
        "Reject",
        &w.remote,
        &format!("{}/rejects/1", w.peer.base),
        json!("http://tidings.test/users/alice#follows/1"),
    );
    accepted(signed_by(&w.app, &w.remote, &reject).await);
    assert_eq!(count_follows(&w.app).await, 0);
}

#[tokio::test]
async fn actors_update_and_delete_themselves() {
    let w = world().await;
    let n = note(&w.peer, &w.remote, "s", None, "<p>soon gone #bye</p>");
    let mut n = n;
    n["tag"] = json!([{"type": "Hashtag", "name": "#bye"}]);
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &n)).await);
    let stored = post(&w.app, n["id"].as_str().unwrap()).await.unwrap();

    let mut person = reqwest::get(&w.remote.id)
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    person["name"] = json!("Renamed Person");
    let upd = activity(
        "Update",
        &w.remote,
        &format!("{}/updates/p1", w.peer.base),
        person,
    );
    accepted(signed_by(&w.app, &w.remote, &upd).await);
    let remote_id = account_id(&w.app, &w.remote.id).await;
    let name: String = w
        .app
        .svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .find(remote_id)
                .select(accounts::display_name)
                .first(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(name, "Renamed Person");

    w.alice
        .get("/tags/bye")
        .await
        .assert_contains(&format!("/stories/{}", stored.id));
    let del = activity(
        "Delete",
        &w.remote,
        &format!("{}/deletes/me", w.peer.base),
        json!(w.remote.id),
    );
    accepted(signed_by(&w.app, &w.remote, &del).await);
    w.alice
        .get("/tags/bye")
        .await
        .assert_lacks(&format!("/stories/{}", stored.id));
    // Further activities from it are refused.
    let again = note(&w.peer, &w.remote, "again", None, "<p>again</p>");
    let (status, _) = signed_by(&w.app, &w.remote, &create(&w.remote, &again)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn bad_activities_are_refused_and_store_nothing() {
    let mut w = world().await;
    let story = w.alice.post_story("Target", "Text.").await;
    let other = Peer::start().await;
    let before = count_posts(&w.app).await;

    // The note's id is on another server than the actor's.
    let mut foreign = note(&other, &w.remote, "x", Some(&story_url(story)), "<p>x</p>");
    foreign["attributedTo"] = json!(w.remote.id);
    let act = activity(
        "Create",
        &w.remote,
        &format!("{}/creates/1", w.peer.base),
        foreign,
    );
    let (status, body) = signed_by(&w.app, &w.remote, &act).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("not on the actor's server"), "{body}");

    // A note attributed to someone else.
    let mut theirs = note(&w.peer, &w.remote, "y", None, "<p>y</p>");
    theirs["attributedTo"] = json!(format!("{}/users/someone", w.peer.base));
    let (status, body) = signed_by(&w.app, &w.remote, &create(&w.remote, &theirs)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Missing pieces.
    let mut empty = note(&w.peer, &w.remote, "z", None, "");
    empty.as_object_mut().unwrap().remove("attributedTo");
    let (status, body) = signed_by(&w.app, &w.remote, &create(&w.remote, &empty)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("attributedTo"), "{body}");
    let no_object = json!({
        "id": format!("{}/creates/2", w.peer.base), "type": "Create", "actor": w.remote.id
    });
    let (status, body) = signed_by(&w.app, &w.remote, &no_object).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // Unknown types are accepted and ignored.
    let odd = json!({
        "id": format!("{}/odd/1", w.peer.base), "type": "Arrive", "actor": w.remote.id
    });
    accepted(signed_by(&w.app, &w.remote, &odd).await);

    assert_eq!(count_posts(&w.app).await, before);
}

/// Activities that arrive together are written in shared transactions (the inbox's group
/// commit); each must still be applied, refused or recognised as a duplicate on its own.
#[tokio::test]
async fn activities_arriving_together_are_each_applied_or_refused_alone() {
    let mut w = world().await;
    let story = w.alice.post_story("Together", "Text.").await;
    let b = w.peer.base.clone();
    let before = count_posts(&w.app).await;

    let notes: Vec<Value> = (0..30)
        .map(|i| {
            let n = note(
                &w.peer,
                &w.remote,
                &format!("many-{i}"),
                None,
                "<p>hi gathered</p>",
            );
            create(&w.remote, &n)
        })
        .collect();
    let like = activity(
        "Like",
        &w.remote,
        &format!("{b}/likes/t"),
        json!(story_url(story)),
    );
    // Refused inside the write (a Follow must name whom it follows), after its id was
    // recorded: the refusal must take the record back with it.
    let follow_id = format!("{b}/follows/t");
    let broken = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": follow_id, "type": "Follow", "actor": w.remote.id,
    });
    let mut all: Vec<Value> = notes;
    all.extend(std::iter::repeat_n(like, 5));
    all.push(broken);
    let sends = all.iter().map(|a| signed_by(&w.app, &w.remote, a));
    let answers = futures_util::future::join_all(sends).await;

    let (refused, ok): (Vec<_>, Vec<_>) = answers
        .into_iter()
        .partition(|(status, _)| *status == StatusCode::BAD_REQUEST);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].1.contains("Follow without object"),
        "{refused:?}"
    );
    assert!(ok.iter().all(|(s, _)| *s == StatusCode::ACCEPTED), "{ok:?}");
    assert_eq!(count_posts(&w.app).await, before + 30);
    // Each stored note is found by its words: the batch indexed them all for search.
    // (Also: the API's limit goes up to 40, and offset counts posts, as on Mastodon.)
    let api = crate::api::token_for(&w.app, "alice", "read").await;
    let uris = |page: Value| -> Vec<String> {
        page["statuses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["uri"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = uris(
        api.get("/api/v2/search?q=gathered&type=statuses&limit=40")
            .await
            .ok(),
    );
    let distinct: std::collections::HashSet<_> = all.iter().collect();
    assert_eq!((all.len(), distinct.len()), (30, 30), "{all:?}");
    let rest = uris(
        api.get("/api/v2/search?q=gathered&type=statuses&offset=25")
            .await
            .ok(),
    );
    assert_eq!(
        rest,
        all[25..],
        "offset 25 gives the last five, in the same order"
    );
    let p = post_by_id(&w.app, story).await;
    assert_eq!((p.up_count, p.down_count), (1, 0), "the Like counted once");

    // The refused activity's id was not kept: sent again, whole, it is applied.
    let fixed = activity(
        "Follow",
        &w.remote,
        &follow_id,
        json!("http://tidings.test/users/alice"),
    );
    accepted(signed_by(&w.app, &w.remote, &fixed).await);
    assert_eq!(count_follows(&w.app).await, 1);
}

/// Incoming hashtags join the tags that exist here, whatever their case, and new ones are
/// made once, also when the notes that carry them arrive together (the inbox reads the
/// existing tags of a whole batch in one query). A story delivered again makes no tags.
#[tokio::test]
async fn incoming_hashtags_join_existing_tags_and_new_ones_are_made_once() {
    let mut w = world().await;
    let local = w
        .alice
        .post_story("Local Rust news", "About #Rust today.")
        .await;
    let tagged = |i: usize, tags: &[&str]| {
        let mut n = note(
            &w.peer,
            &w.remote,
            &format!("tagged-{i}"),
            None,
            "<p>tagged</p>",
        );
        n["tag"] = json!(
            tags.iter()
                .map(|t| json!({"type": "Hashtag", "name": t,
                                "href": format!("{}/tags/{}", w.peer.base, &t[1..])}))
                .collect::<Vec<_>>()
        );
        n
    };
    // First together: one tag that exists, one that does not, and both.
    let mut notes: Vec<Value> = (0..12)
        .map(|i| match i % 3 {
            0 => tagged(i, &["#rust"]),
            1 => tagged(i, &["#RUST", "#Brandnew"]),
            _ => tagged(i, &["#brandNEW"]),
        })
        .collect();
    // Then together, once both tags exist: one tag each.
    let second: Vec<Value> = (12..24)
        .map(|i| match i % 3 {
            0 => tagged(i, &["#Rust"]),
            1 => tagged(i, &["#rust"]),
            _ => tagged(i, &["#brandnew"]),
        })
        .collect();
    for wave in [notes.clone(), second.clone()] {
        let creates: Vec<Value> = wave.iter().map(|n| create(&w.remote, n)).collect();
        let sends = creates.iter().map(|c| signed_by(&w.app, &w.remote, c));
        for answer in futures_util::future::join_all(sends).await {
            accepted(answer);
        }
    }
    notes.extend(second);

    let rust = w.alice.get("/tags/rust").await;
    rust.assert_contains(&format!("/stories/{local}"));
    let brandnew = w.alice.get("/tags/brandnew").await;
    for (i, n) in notes.iter().enumerate() {
        let stored = post(&w.app, n["id"].as_str().unwrap()).await.unwrap();
        let path = format!("/stories/{}", stored.id);
        match i % 3 {
            0 => {
                rust.assert_contains(&path);
                brandnew.assert_lacks(&path);
            }
            1 if i < 12 => {
                rust.assert_contains(&path);
                brandnew.assert_contains(&path);
            }
            1 => {
                rust.assert_contains(&path);
                brandnew.assert_lacks(&path);
            }
            _ => {
                rust.assert_lacks(&path);
                brandnew.assert_contains(&path);
            }
        }
    }
    // A story we have, delivered again under another activity id with another hashtag:
    // nothing is written, not even the tag.
    let mut again = notes[0].clone();
    again["tag"] = json!([{"type": "Hashtag", "name": "#Neverseen",
                           "href": format!("{}/tags/neverseen", w.peer.base)}]);
    let resent = activity(
        "Create",
        &w.remote,
        &format!("{}/again", again["id"].as_str().unwrap()),
        again,
    );
    accepted(signed_by(&w.app, &w.remote, &resent).await);
    let tags: Vec<String> = w
        .app
        .svc
        .db
        .run(|conn| {
            use tidings::db::schema::tags;
            Ok(tags::table
                .select(tags::name_lower)
                .order(tags::name_lower)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(tags, ["brandnew", "rust"]);
}

/// A post seen elsewhere, pasted into search: it is fetched from its server with the
/// thread above it, and the reader lands on it (web) or gets it first (client API).
#[tokio::test]
async fn a_remote_post_url_in_search_fetches_the_post_and_its_thread() {
    let w = world().await;
    let mut parent = note(
        &w.peer,
        &w.remote,
        "top",
        None,
        "<p>The story up top #Found</p>",
    );
    parent["tag"] = json!([{"type": "Hashtag", "name": "#Found",
        "href": format!("{}/tags/found", w.peer.base)}]);
    let parent_id = parent["id"].as_str().unwrap().to_owned();
    let mut child = note(
        &w.peer,
        &w.remote,
        "answer",
        Some(&parent_id),
        "<p>An answer from far away</p>",
    );
    child["url"] = json!(format!("{}/@remote/answer", w.peer.base));
    w.peer.serve("/notes/top", parent);
    w.peer.serve("/notes/answer", child.clone());
    let hidden = json!({
        "id": format!("{}/notes/private", w.peer.base), "type": "Note",
        "attributedTo": w.remote.id, "content": "<p>followers only</p>",
        "to": [format!("{}/followers", w.remote.id)],
    });
    w.peer.serve("/notes/private", hidden.clone());
    let child_id = child["id"].as_str().unwrap();

    // Logged out: a search, not a fetch.
    let page = w.app.browser().get(&format!("/search?q={child_id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(post(&w.app, child_id).await.is_none());

    let page = w.alice.get(&format!("/search?q={child_id}")).await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    let stored = post(&w.app, child_id).await.expect("the answer is stored");
    assert_eq!(page.location(), format!("/replies/{}", stored.id));
    let top = post(&w.app, &parent_id)
        .await
        .expect("its parent is stored");
    assert_eq!(stored.in_reply_to_id, Some(top.id));
    w.alice
        .get(&format!("/stories/{}", top.id))
        .await
        .assert_contains("An answer from far away");
    w.alice
        .get("/tags/found")
        .await
        .assert_contains(&format!("/stories/{}", top.id));

    // The client API, by the post's web URL: the stored post, first.
    let api = crate::api::token_for(&w.app, "alice", "read").await;
    let url = format!("{}/@remote/answer", w.peer.base);
    let q: String = url::form_urlencoded::byte_serialize(url.as_bytes()).collect();
    let found = api
        .get(&format!("/api/v2/search?q={q}&resolve=true&type=statuses"))
        .await
        .ok();
    assert_eq!(found["statuses"][0]["id"], json!(stored.id.to_string()));

    // Not public: not fetched into the open, and nothing stored.
    let private = hidden["id"].as_str().unwrap();
    let q: String = url::form_urlencoded::byte_serialize(private.as_bytes()).collect();
    let found = api
        .get(&format!("/api/v2/search?q={q}&resolve=true&type=statuses"))
        .await
        .ok();
    assert_eq!(found["statuses"], json!([]));
    assert!(post(&w.app, private).await.is_none());
}

/// A moderator's suspension of a remote account takes effect on its very next activity
/// (the inbox keeps verified signers in memory for a few seconds), and so does lifting it.
#[tokio::test]
async fn a_suspended_remote_account_is_refused_at_once() {
    let w = world().await;
    let mut boss = crate::moderation::admin(&w.app, "boss").await;
    let first = note(&w.peer, &w.remote, "before", None, "<p>before</p>");
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &first)).await);
    let remote_id = account_id(&w.app, &w.remote.id).await;

    let res = boss
        .post_form(&format!("/moderation/accounts/{remote_id}/suspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let during = note(&w.peer, &w.remote, "during", None, "<p>during</p>");
    let (status, body) = signed_by(&w.app, &w.remote, &create(&w.remote, &during)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(post(&w.app, during["id"].as_str().unwrap()).await.is_none());

    let res = boss
        .post_form(&format!("/moderation/accounts/{remote_id}/unsuspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let after = note(&w.peer, &w.remote, "after", None, "<p>after</p>");
    accepted(signed_by(&w.app, &w.remote, &create(&w.remote, &after)).await);
}
