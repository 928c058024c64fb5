//! What Tidings sends, over the real router and delivery worker, to a stand-in remote
//! server on loopback that records what it receives (tests/it/common/recording_peer.rs):
//! Create/Update/Delete of posts to followers (once per shared inbox), replies, votes and
//! reactions on remote posts, follows of remote accounts, and finding remote accounts by
//! handle (WebFinger).

use crate::common::api::Api;
use crate::common::recording_peer::{Received, RecordingPeer};
use crate::common::{Browser, TestApp};
use axum::http::Method;
use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::models::NewPost;
use tidings::db::schema::{accounts, posts};
use tidings::federation::fetch::fetch_actor;
use tidings::federation::signatures::{DEFAULT_MAX_SKEW, verify_request};
use url::Url;

const ALICE: &str = "http://tidings.test/users/alice";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

async fn spawn() -> (TestApp, Browser) {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let alice = app.user("alice").await;
    (app, alice)
}

async fn public_key_of(app: &TestApp, name: &str) -> String {
    let name = name.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq(name))
                .filter(accounts::domain.is_null())
                .select(accounts::public_key_pem)
                .first::<String>(conn)?)
        })
        .await
        .unwrap()
}

/// The request was signed with alice's key (the peer checks this before anything else).
async fn assert_signed_by_alice(app: &TestApp, r: &Received) {
    let verified = verify_request(
        &Method::POST,
        &r.path,
        &r.headers,
        Some(&r.body),
        &public_key_of(app, "alice").await,
        Utc::now(),
        DEFAULT_MAX_SKEW,
    )
    .expect("signed by alice");
    assert_eq!(verified.key_id, format!("{ALICE}#main-key"));
}

/// The remote actor `name` of `peer` follows alice (through alice's inbox).
/// The peer's shared inbox got alice's signed `Delete` of the story `id`, as a Tombstone.
async fn assert_story_deleted(app: &TestApp, peer: &RecordingPeer, id: i64) {
    let got = peer.wait_for("/inbox", "Delete", 1).await;
    assert_signed_by_alice(app, &got[0]).await;
    let delete = got[0].json();
    assert_eq!(delete["actor"], ALICE);
    assert_eq!(delete["object"]["type"], "Tombstone");
    assert_eq!(
        delete["object"]["id"],
        format!("http://tidings.test/stories/{id}")
    );
}

async fn remote_follows_alice(app: &TestApp, peer: &RecordingPeer, name: &str) {
    let actor = peer.actor(name);
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/of-alice", actor.id),
        "type": "Follow",
        "actor": actor.id,
        "object": ALICE,
    });
    peer.send(name, &format!("{}/users/alice/inbox", app.base), &follow)
        .await;
}

/// A post by the remote actor `name`, stored as if it had arrived; its local id.
async fn remote_post(app: &TestApp, peer: &RecordingPeer, name: &str) -> (i64, String) {
    let actor_url = Url::parse(&peer.actor(name).id).unwrap();
    let (account, _) = fetch_actor(&app.svc, &actor_url).await.unwrap();
    let id = tidings::db::ids::new_id();
    let ap_id = format!("{}/notes/{id}", peer.base);
    let row_ap_id = ap_id.clone();
    app.svc
        .db
        .write(move |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(posts::table)
                .values(&NewPost {
                    id,
                    account_id: account.id,
                    ap_id: &row_ap_id,
                    url: Some(&row_ap_id),
                    local: false,
                    headline: Some("News from afar"),
                    body: "Over here",
                    content_html: "<p>Over here</p>",
                    in_reply_to_id: None,
                    thread_root_id: None,
                    visibility: "public",
                    created_at: now,
                    updated_at: now,
                    spoiler_text: "",
                    sensitive: false,
                })
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    (id, ap_id)
}

fn tags(note: &Value) -> Vec<(String, String, String)> {
    note["tag"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_owned(),
                t["name"].as_str().unwrap().to_owned(),
                t["href"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A new display name or bio reaches the followers' servers as an `Update` of the
/// `Person`, once per server, signed by the account.
#[tokio::test]
async fn a_profile_change_reaches_followers_servers() {
    let (app, mut alice) = spawn().await;
    let peer = RecordingPeer::start(&["ann", "bob"]).await;
    remote_follows_alice(&app, &peer, "ann").await;
    remote_follows_alice(&app, &peer, "bob").await;
    peer.wait_for("/users/ann/inbox", "Accept", 1).await;

    let res = alice
        .post_form(
            "/settings",
            &[
                ("display_name", "Alice Newsdesk"),
                ("bio", "Stories from #here"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let got = peer.wait_for("/inbox", "Update", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let update = got[0].json();
    assert_eq!(update["actor"], ALICE);
    let person = &update["object"];
    assert_eq!(person["type"], "Person");
    assert_eq!(person["id"], ALICE);
    assert_eq!(person["name"], "Alice Newsdesk");
    assert!(
        person["summary"].as_str().unwrap().contains("Stories from"),
        "{person}"
    );
    assert!(person["publicKey"]["publicKeyPem"].is_string());
    // One per server, however many followers it has there.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(peer.received_of("/inbox", "Update").len(), 1);
}

#[tokio::test]
async fn followers_get_create_update_and_delete_once_per_server() {
    let (app, mut alice) = spawn().await;
    // Two followers on one server (one shared inbox), one on another.
    let peer = RecordingPeer::start(&["ann", "bob"]).await;
    let other = RecordingPeer::start(&["cid"]).await;
    remote_follows_alice(&app, &peer, "ann").await;
    remote_follows_alice(&app, &peer, "bob").await;
    remote_follows_alice(&app, &other, "cid").await;
    // Each Follow is answered with an Accept to the follower's own inbox.
    peer.wait_for("/users/ann/inbox", "Accept", 1).await;

    let id = alice
        .post_story("Rust 2.0 is out", "Read all about #Rust and #news")
        .await;
    let story = format!("http://tidings.test/stories/{id}");

    let got = peer.wait_for("/inbox", "Create", 1).await;
    other.wait_for("/inbox", "Create", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let create = got[0].json();
    assert_eq!(create["actor"], ALICE);
    assert_eq!(create["to"], json!([PUBLIC]));
    assert_eq!(create["cc"], json!([format!("{ALICE}/followers")]));
    let note = &create["object"];
    assert_eq!(note["type"], "Note");
    assert_eq!(note["id"], story);
    assert_eq!(note["url"], story);
    assert_eq!(note["attributedTo"], ALICE);
    assert!(note["inReplyTo"].is_null());
    assert!(note["published"].is_string());
    assert!(note.get("updated").is_none());
    assert!(
        note["content"]
            .as_str()
            .unwrap()
            .contains("Rust 2.0 is out"),
        "{note}"
    );
    let t = tags(note);
    assert!(t.contains(&(
        "Hashtag".into(),
        "#Rust".into(),
        "http://tidings.test/tags/rust".into()
    )));
    assert!(t.contains(&(
        "Hashtag".into(),
        "#news".into(),
        "http://tidings.test/tags/news".into()
    )));

    // An edit: Update with `updated`.
    let res = alice
        .post_form(
            &format!("/stories/{id}/edit"),
            &[("headline", "Rust 2.0 is out!"), ("body", "Now with #Rust")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let got = peer.wait_for("/inbox", "Update", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let update = got[0].json();
    assert_eq!(update["object"]["id"], story);
    assert!(update["object"]["updated"].is_string());
    assert!(
        update["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Rust 2.0 is out!")
    );
    assert_ne!(update["id"], create["id"]);

    // Deleted: Delete of a Tombstone.
    let res = alice.post_form(&format!("/stories/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_story_deleted(&app, &peer, id).await;
    other.wait_for("/inbox", "Delete", 1).await;

    // Once per server: two followers on one host got one copy of each.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    for kind in ["Create", "Update", "Delete"] {
        assert_eq!(peer.received_of("/inbox", kind).len(), 1, "{kind}");
        assert_eq!(other.received_of("/inbox", kind).len(), 1, "{kind}");
    }
    // Nothing went to the followers' own inboxes but the Accepts.
    assert!(
        peer.received()
            .iter()
            .all(|r| r.path == "/inbox" || r.kind() == "Accept")
    );
}

/// A moderator's removal of one of our stories deletes it on the followers' servers too,
/// as its author's deletion would.
#[tokio::test]
async fn a_story_removed_by_a_moderator_is_deleted_on_followers_servers() {
    let (app, mut alice) = spawn().await;
    let mut boss = crate::moderation::admin(&app, "boss").await;
    let peer = RecordingPeer::start(&["ann"]).await;
    remote_follows_alice(&app, &peer, "ann").await;
    let id = alice.post_story("Against the rules", "Spam #spam").await;
    peer.wait_for("/inbox", "Create", 1).await;

    let res = boss
        .post_form(
            &format!("/moderation/posts/{id}/remove"),
            &[("note", "spam")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_story_deleted(&app, &peer, id).await;
}

#[tokio::test]
async fn a_post_without_remote_followers_sends_nothing() {
    let (app, mut alice) = spawn().await;
    let peer = RecordingPeer::start(&["ann"]).await;
    remote_post(&app, &peer, "ann").await; // ann is known, but does not follow alice
    alice
        .post_story("Quiet news", "Nobody elsewhere follows")
        .await;
    let mut bob = app.user("bob").await;
    bob.post_story("Also quiet", "Nothing to send").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(peer.received().is_empty());
}

#[tokio::test]
async fn replies_votes_and_reactions_on_a_remote_post_reach_its_author() {
    let (app, mut alice) = spawn().await;
    let peer = RecordingPeer::start(&["carol"]).await;
    let (post_id, note) = remote_post(&app, &peer, "carol").await;
    let carol = peer.actor("carol").id.clone();
    let carol_inbox = "/users/carol/inbox";

    // A reply: a Create of a Note in reply to carol's, sent to her server.
    let res = alice
        .post_form(
            &format!("/posts/{post_id}/reply"),
            &[("body", "Good one, @carol@ignored.example? #afar")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let got = peer.wait_for("/inbox", "Create", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let create = got[0].json();
    assert_eq!(create["object"]["inReplyTo"], note);
    // Carol is mentioned (as Mastodon does in replies) so her server notifies her.
    assert!(create["cc"].as_array().unwrap().contains(&json!(carol)));
    assert!(tags(&create["object"]).contains(&(
        "Mention".into(),
        format!("@carol@{}", peer.host),
        carol.clone()
    )));
    assert!(
        create["object"]["id"]
            .as_str()
            .unwrap()
            .starts_with("http://tidings.test/replies/")
    );

    // Up-vote: Like; then down-vote: Undo(Like) and Dislike; then none: Undo(Dislike).
    let vote = format!("/posts/{post_id}/vote");
    alice.post_form(&vote, &[("value", "up")]).await;
    let like = peer.wait_for(carol_inbox, "Like", 1).await[0].json();
    assert_eq!(like["actor"], ALICE);
    assert_eq!(like["object"], note);
    assert!(
        like["id"]
            .as_str()
            .unwrap()
            .starts_with("http://tidings.test/votes/")
    );
    alice.post_form(&vote, &[("value", "down")]).await;
    let dislike = peer.wait_for(carol_inbox, "Dislike", 1).await[0].json();
    let undo = peer.wait_for(carol_inbox, "Undo", 1).await[0].json();
    assert_eq!(undo["actor"], ALICE);
    assert_eq!(undo["object"]["type"], "Like");
    assert_eq!(undo["object"]["id"], like["id"]);
    assert_ne!(dislike["id"], like["id"], "a new vote has a new id");
    assert_eq!(dislike["object"], note);
    alice.post_form(&vote, &[("value", "none")]).await;
    let undos = peer.wait_for(carol_inbox, "Undo", 2).await;
    let undo = undos[1].json();
    assert_eq!(undo["object"]["type"], "Dislike");
    assert_eq!(undo["object"]["id"], dislike["id"]);

    // A reaction: EmojiReact with the emoji as content; taken back: Undo(EmojiReact).
    alice
        .post_form(&format!("/posts/{post_id}/react"), &[("emoji", "🎉")])
        .await;
    let got = peer.wait_for(carol_inbox, "EmojiReact", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let react = got[0].json();
    assert_eq!(react["content"], "🎉");
    assert_eq!(react["object"], note);
    assert_eq!(react["actor"], ALICE);
    alice
        .post_form(&format!("/posts/{post_id}/unreact"), &[("emoji", "🎉")])
        .await;
    let undos = peer.wait_for(carol_inbox, "Undo", 3).await;
    let undo = undos[2].json();
    assert_eq!(undo["object"]["type"], "EmojiReact");
    assert_eq!(undo["object"]["id"], react["id"]);
    assert_eq!(undo["object"]["content"], "🎉");
    assert!(undos.iter().all(|u| u.json()["object"]["actor"] == ALICE));

    // A story mentioning carol (who does not follow alice) reaches her, tagged.
    let handle = format!("@carol@{}", peer.host);
    alice
        .post_story("Hello elsewhere", &format!("Thanks {handle}!"))
        .await;
    let got = peer.wait_for("/inbox", "Create", 2).await;
    let mention = got[1].json();
    assert!(mention["cc"].as_array().unwrap().contains(&json!(carol)));
    assert!(tags(&mention["object"]).contains(&("Mention".into(), handle, carol.clone())));

    // Votes on local posts send nothing.
    let local = alice.post_story("Home news", "Stays here").await;
    let mut bob = app.user("bob").await;
    bob.post_form(&format!("/posts/{local}/vote"), &[("value", "up")])
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    assert_eq!(peer.received_of(carol_inbox, "Like").len(), 1);
    assert_eq!(
        peer.received().len(),
        8,
        "create, like, undo, dislike, undo, react, undo, create"
    );
}

/// The follow button of an account on a page, as (`follow`|`unfollow`, label).
fn follow_button(page: &str, account_id: &str) -> Option<(String, String)> {
    let marker = format!("action=\"/accounts/{account_id}/");
    let at = page.find(&marker)? + marker.len();
    let action = page[at..].split('"').next()?.to_owned();
    let button = page[at..].find("<button")? + at;
    let text_at = page[button..].find('>')? + button + 1;
    let label = page[text_at..].split('<').next()?.trim().to_owned();
    Some((action, label))
}

#[tokio::test]
async fn following_a_remote_account_found_by_handle() {
    let (app, mut alice) = spawn().await;
    let peer = RecordingPeer::start(&["dave"]).await;
    let dave = peer.actor("dave").clone();
    let handle = format!("@dave@{}", peer.host);

    // Visitors only see stored accounts: dave is not stored yet.
    let anon = app.browser();
    let page = anon.get(&format!("/search?q={}", urlencode(&handle))).await;
    page.assert_lacks("dave elsewhere");

    // Signed in, the handle is looked up by WebFinger and shown with a Follow button.
    let page = alice
        .get(&format!("/search?q={}", urlencode(&handle)))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("dave elsewhere");
    page.assert_contains(&handle);
    let dave_id = account_id(&app, &dave.id).await;
    assert_eq!(
        follow_button(&page.body, &dave_id.to_string()),
        Some(("follow".into(), "Follow".into()))
    );

    // The remote profile page shows the account, its bio sanitised.
    let profile = alice.get(&format!("/{handle}")).await;
    assert_eq!(profile.status(), StatusCode::OK);
    profile.assert_contains("I am dave");
    profile.assert_lacks("<script>alert");

    // Follow: a Follow goes to dave's inbox, signed by alice; the follow is requested.
    let res = alice
        .post_form(
            &format!("/accounts/{dave_id}/follow"),
            &[("return_to", &format!("/{handle}"))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let got = peer.wait_for("/users/dave/inbox", "Follow", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let follow = got[0].json();
    assert_eq!(follow["actor"], ALICE);
    assert_eq!(follow["object"], dave.id);
    let profile = alice.get(&format!("/{handle}")).await;
    assert_eq!(
        follow_button(&profile.body, &dave_id.to_string()),
        Some(("unfollow".into(), "Requested (cancel)".into()))
    );
    assert_eq!(
        following_count(&app).await,
        0,
        "not following before Accept"
    );

    // dave's server accepts (echoing the Follow): now following.
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/accepts/1", dave.id),
        "type": "Accept",
        "actor": dave.id,
        "object": follow,
    });
    peer.send("dave", &format!("{}/users/alice/inbox", app.base), &accept)
        .await;
    let profile = alice.get(&format!("/{handle}")).await;
    assert_eq!(
        follow_button(&profile.body, &dave_id.to_string()),
        Some(("unfollow".into(), "Unfollow".into()))
    );
    assert_eq!(following_count(&app).await, 1);

    // Unfollow: Undo of that Follow.
    let res = alice
        .post_form(&format!("/accounts/{dave_id}/unfollow"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let got = peer.wait_for("/users/dave/inbox", "Undo", 1).await;
    assert_signed_by_alice(&app, &got[0]).await;
    let undo = got[0].json();
    assert_eq!(undo["actor"], ALICE);
    assert_eq!(undo["object"]["type"], "Follow");
    assert_eq!(undo["object"]["id"], follow["id"]);
    assert_eq!(following_count(&app).await, 0);
}

#[tokio::test]
async fn a_rejected_follow_request_goes_away() {
    let (app, mut alice) = spawn().await;
    let peer = RecordingPeer::start(&["erin"]).await;
    let erin = peer.actor("erin").clone();
    let page = alice
        .get(&format!(
            "/search?q={}",
            urlencode(&format!("erin@{}", peer.host))
        ))
        .await;
    page.assert_contains("erin elsewhere");
    let erin_id = account_id(&app, &erin.id).await;
    alice
        .post_form(&format!("/accounts/{erin_id}/follow"), &[])
        .await;
    let follow = peer.wait_for("/users/erin/inbox", "Follow", 1).await[0].json();
    let reject = json!({
        "id": format!("{}/rejects/1", erin.id),
        "type": "Reject",
        "actor": erin.id,
        "object": follow["id"],
    });
    peer.send("erin", &format!("{}/inbox", app.base), &reject)
        .await;
    let profile = alice.get(&format!("/@erin@{}", peer.host)).await;
    assert_eq!(
        follow_button(&profile.body, &erin_id.to_string()),
        Some(("follow".into(), "Follow".into()))
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn account_id(app: &TestApp, ap_id: &str) -> i64 {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(ap_id))
                .select(accounts::id)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// Accepted follows of alice's.
async fn following_count(app: &TestApp) -> i64 {
    use tidings::db::schema::follows;
    app.svc
        .db
        .run(|conn| {
            let alice: i64 = accounts::table
                .filter(accounts::username_lower.eq("alice"))
                .filter(accounts::domain.is_null())
                .select(accounts::id)
                .first(conn)?;
            Ok(follows::table
                .filter(follows::follower_id.eq(alice))
                .filter(follows::state.eq("accepted"))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap()
}

// ---------------------------------------------------------------- client API

#[tokio::test]
async fn the_api_resolves_handles_and_follows_remote_accounts() {
    let (app, _alice) = spawn().await;
    let api = Api::login(&app, "alice").await;
    let peer = RecordingPeer::start(&["fay", "gus"]).await;
    let acct = format!("fay@{}", peer.host);

    // Without resolve=true an unknown handle finds nothing.
    let (status, found) = api
        .get(&format!(
            "/api/v2/search?q=@{}&type=accounts",
            urlencode(&acct)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["accounts"], json!([]));

    // With it, WebFinger then the actor.
    let (status, found) = api
        .get(&format!(
            "/api/v2/search?q=@{}&resolve=true&type=accounts",
            urlencode(&acct)
        ))
        .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let fay = &found["accounts"][0];
    assert_eq!(fay["acct"], acct);
    assert_eq!(fay["display_name"], "fay elsewhere");
    let fay_id = fay["id"].as_str().unwrap().to_owned();

    // Lookup: stored, or resolved for a signed-in user.
    let (status, looked) = api
        .get(&format!(
            "/api/v1/accounts/lookup?acct={}",
            urlencode(&acct)
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(looked["id"], fay_id.as_str());
    let gus = format!("gus@{}", peer.host);
    let (status, looked) = api
        .get(&format!("/api/v1/accounts/lookup?acct={}", urlencode(&gus)))
        .await;
    assert_eq!(status, StatusCode::OK, "{looked}");
    assert_eq!(looked["acct"], gus);
    let (status, _) = api
        .get(&format!(
            "/api/v1/accounts/lookup?acct={}",
            urlencode(&format!("nobody@{}", peer.host))
        ))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An actor URL resolves too.
    let (_, found) = api
        .get(&format!(
            "/api/v2/search?q={}&resolve=true",
            urlencode(&peer.actor("fay").id)
        ))
        .await;
    assert_eq!(found["accounts"][0]["id"], fay_id.as_str());

    // Follow: requested until fay's server accepts.
    let (status, rel) = api.post(&format!("/api/v1/accounts/{fay_id}/follow")).await;
    assert_eq!(status, StatusCode::OK, "{rel}");
    assert_eq!(rel["requested"], true);
    assert_eq!(rel["following"], false);
    let follow = peer.wait_for("/users/fay/inbox", "Follow", 1).await[0].json();
    // Following again sends the request again (an Accept may have been lost).
    api.post(&format!("/api/v1/accounts/{fay_id}/follow")).await;
    peer.wait_for("/users/fay/inbox", "Follow", 2).await;
    let accept = json!({
        "id": format!("{}/accepts/9", peer.actor("fay").id),
        "type": "Accept",
        "actor": peer.actor("fay").id,
        "object": follow["id"],
    });
    peer.send("fay", &format!("{}/inbox", app.base), &accept)
        .await;
    let (_, rels) = api
        .get(&format!("/api/v1/accounts/relationships?id[]={fay_id}"))
        .await;
    assert_eq!(rels[0]["following"], true, "{rels}");
    assert_eq!(rels[0]["requested"], false);

    let (_, rel) = api
        .post(&format!("/api/v1/accounts/{fay_id}/unfollow"))
        .await;
    assert_eq!(rel["following"], false);
    let undo = peer.wait_for("/users/fay/inbox", "Undo", 1).await[0].json();
    assert_eq!(undo["object"]["id"], follow["id"]);
}

#[tokio::test]
async fn statuses_posted_edited_and_deleted_through_the_api_reach_followers() {
    let (app, _alice) = spawn().await;
    let api = Api::login(&app, "alice").await;
    let peer = RecordingPeer::start(&["ann"]).await;
    remote_follows_alice(&app, &peer, "ann").await;
    peer.wait_for("/users/ann/inbox", "Accept", 1).await;

    // An unlisted status: to the followers, Public in cc.
    let (status, posted) = api
        .send(
            api.http
                .post(format!("{}/api/v1/statuses", api.base))
                .json(&json!({
                    "status": "Quiet headline\nA body with #tags",
                    "visibility": "unlisted",
                })),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{posted}");
    let id = posted["id"].as_str().unwrap().to_owned();
    let create = peer.wait_for("/inbox", "Create", 1).await[0].json();
    let followers = format!("{ALICE}/followers");
    assert_eq!(create["to"], json!([followers]));
    assert_eq!(create["cc"], json!([PUBLIC]));
    assert_eq!(create["object"]["to"], json!([followers]));
    assert_eq!(create["object"]["cc"], json!([PUBLIC]));
    assert_eq!(create["object"]["id"], posted["uri"]);

    let (status, _) = api
        .send(
            api.http
                .put(format!("{}/api/v1/statuses/{id}", api.base))
                .json(&json!({"status": "Quiet headline\nEdited"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let update = peer.wait_for("/inbox", "Update", 1).await[0].json();
    assert!(update["object"]["updated"].is_string());
    assert_eq!(update["to"], json!([followers]));

    let (status, _) = api
        .send(
            api.http
                .delete(format!("{}/api/v1/statuses/{id}", api.base)),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let delete = peer.wait_for("/inbox", "Delete", 1).await[0].json();
    assert_eq!(delete["object"]["id"], posted["uri"]);
    assert_eq!(delete["object"]["type"], "Tombstone");
}
