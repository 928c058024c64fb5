//! Boosts (issue #13, item 5): the client API's reblog / unreblog / reblogged_by, boosts in
//! the followers' home timelines and on the booster's profile, the web page's Boost button,
//! `Announce` and `Undo(Announce)` sent to remote servers, and remote `Announce`s of our
//! posts counted, listed and notified.

use crate::common::TestApp;
use crate::common::api::Api;
use crate::common::recording_peer::RecordingPeer;
use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::models::NewPost;
use tidings::db::schema::posts;
use tidings::federation::fetch::fetch_actor;
use url::Url;

const ALICE: &str = "http://tidings.test/users/alice";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

impl Api {
    async fn my_id(&self) -> String {
        self.ok("/api/v1/accounts/verify_credentials").await["id"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

fn accts(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|a| a["acct"].as_str().unwrap().to_owned())
        .collect()
}

/// (id, reblog's id or "") of each status of a list.
fn entries(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["reblog"]["id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn reblog_unreblog_and_reblogged_by_through_the_api() {
    let app = TestApp::spawn().await;
    for name in ["alice", "bob", "carol"] {
        app.user(name).await;
    }
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let carol = Api::login(&app, "carol").await;
    let bob_id = bob.my_id().await;
    // Carol follows bob (not alice).
    let (status, _) = carol
        .post(&format!("/api/v1/accounts/{bob_id}/follow"))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, post) = alice
        .send(
            alice
                .http
                .post(format!("{}/api/v1/statuses", alice.base))
                .form(&[("status", "Worth sharing\n\nA story")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{post}");
    let id = post["id"].as_str().unwrap().to_owned();
    assert_eq!(post["reblogs_count"], 0);
    assert_eq!(post["reblogged"], false);

    // Bob boosts: the answer is the boost, whose `reblog` is alice's status.
    let (status, boost) = bob.post(&format!("/api/v1/statuses/{id}/reblog")).await;
    assert_eq!(status, StatusCode::OK, "{boost}");
    let boost_id = boost["id"].as_str().unwrap().to_owned();
    assert_ne!(boost_id, id);
    assert_eq!(boost["account"]["username"], "bob");
    assert_eq!(boost["reblog"]["id"], id.as_str());
    assert_eq!(boost["reblog"]["account"]["username"], "alice");
    assert_eq!(boost["reblog"]["reblogged"], true);
    assert_eq!(boost["reblog"]["reblogs_count"], 1);
    assert_eq!(boost["reblogged"], true);

    // Boosting again answers the same boost and counts once.
    let (status, again) = bob.post(&format!("/api/v1/statuses/{id}/reblog")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], boost_id.as_str());
    assert_eq!(again["reblog"]["reblogs_count"], 1);

    // The status as bob and as anyone sees it.
    let seen = bob.ok(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(seen["reblogged"], true);
    assert_eq!(seen["reblogs_count"], 1);
    let seen = alice.ok(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(seen["reblogged"], false);
    assert_eq!(seen["reblogs_count"], 1);
    let by = alice
        .ok(&format!("/api/v1/statuses/{id}/reblogged_by"))
        .await;
    assert_eq!(accts(&by), ["bob"]);

    // Carol (bob's follower) sees the boost in her home timeline; bob's profile lists it.
    let home = carol.ok("/api/v1/timelines/home").await;
    assert_eq!(entries(&home), [(boost_id.clone(), id.clone())]);
    let profile = carol
        .ok(&format!("/api/v1/accounts/{bob_id}/statuses"))
        .await;
    assert_eq!(entries(&profile), [(boost_id.clone(), id.clone())]);
    let profile = carol
        .ok(&format!(
            "/api/v1/accounts/{bob_id}/statuses?exclude_reblogs=true"
        ))
        .await;
    assert_eq!(entries(&profile), []);
    // Bob's own home timeline shows his boost too.
    let home = bob.ok("/api/v1/timelines/home").await;
    assert!(entries(&home).contains(&(boost_id.clone(), id.clone())));

    // Alice is notified, with Mastodon's type.
    let notes = alice.ok("/api/v1/notifications").await;
    let reblogs: Vec<&Value> = notes
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "reblog")
        .collect();
    assert_eq!(reblogs.len(), 1, "{notes}");
    assert_eq!(reblogs[0]["account"]["username"], "bob");
    assert_eq!(reblogs[0]["status"]["id"], id.as_str());
    let only = alice.ok("/api/v1/notifications?types[]=reblog").await;
    assert_eq!(only.as_array().unwrap().len(), 1);

    // Bad input: a status that does not exist.
    let (status, _) = bob.post("/api/v1/statuses/999999999/reblog").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob.post("/api/v1/statuses/999999999/unreblog").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = bob.get("/api/v1/statuses/999999999/reblogged_by").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Unreblog: the status itself, no longer boosted; gone from lists and timelines.
    let (status, back) = bob.post(&format!("/api/v1/statuses/{id}/unreblog")).await;
    assert_eq!(status, StatusCode::OK, "{back}");
    assert_eq!(back["id"], id.as_str());
    assert_eq!(back["reblogged"], false);
    assert_eq!(back["reblogs_count"], 0);
    assert!(back["reblog"].is_null());
    let by = alice
        .ok(&format!("/api/v1/statuses/{id}/reblogged_by"))
        .await;
    assert_eq!(accts(&by), Vec::<String>::new());
    assert_eq!(entries(&carol.ok("/api/v1/timelines/home").await), []);
    // Unreblog of a status not boosted: 200 with the status.
    let (status, back) = bob.post(&format!("/api/v1/statuses/{id}/unreblog")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(back["id"], id.as_str());
}

/// A post by the remote actor `name`, stored as if it had arrived: (local id, ap id).
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

#[tokio::test]
async fn boosts_federate_as_announce_and_undo() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    // Ann (on one server) follows alice; carol writes on another server.
    let followers = RecordingPeer::start(&["ann"]).await;
    let authors = RecordingPeer::start(&["carol"]).await;
    let ann = followers.actor("ann").id.clone();
    let follow = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{ann}/follows/1"),
        "type": "Follow",
        "actor": ann,
        "object": ALICE,
    });
    followers
        .send("ann", &format!("{}/users/alice/inbox", app.base), &follow)
        .await;
    followers.wait_for("/users/ann/inbox", "Accept", 1).await;
    let (post_id, note) = remote_post(&app, &authors, "carol").await;
    let carol = authors.actor("carol").id.clone();

    // Alice boosts carol's post (the web button): one Announce to each server.
    let res = alice
        .post_form(&format!("/posts/{post_id}/boost"), &[("value", "on")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let to_followers = followers.wait_for("/inbox", "Announce", 1).await[0].json();
    let to_author = authors.wait_for("/inbox", "Announce", 1).await[0].json();
    assert_eq!(to_followers, to_author);
    let announce = to_followers;
    assert_eq!(announce["actor"], ALICE);
    assert_eq!(announce["object"], note);
    assert_eq!(announce["to"], json!([PUBLIC]));
    assert_eq!(announce["cc"], json!([format!("{ALICE}/followers"), carol]));
    assert!(
        announce["id"]
            .as_str()
            .unwrap()
            .starts_with("http://tidings.test/boosts/")
    );
    // Pressing again takes it back: Undo(Announce) to the same servers.
    let res = alice
        .post_form(&format!("/posts/{post_id}/boost"), &[("value", "off")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let undo = followers.wait_for("/inbox", "Undo", 1).await[0].json();
    authors.wait_for("/inbox", "Undo", 1).await;
    assert_eq!(undo["actor"], ALICE);
    assert_eq!(undo["object"]["type"], "Announce");
    assert_eq!(undo["object"]["id"], announce["id"]);
    assert_eq!(undo["object"]["object"], note);

    // A boost of a local post goes to the booster's followers only (the author is here).
    let local = bob.post_story("Local news", "From bob").await;
    let res = alice
        .post_form(&format!("/posts/{local}/boost"), &[("value", "on")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let got = followers.wait_for("/inbox", "Announce", 2).await;
    let announce = got[1].json();
    assert_eq!(
        announce["object"],
        format!("http://tidings.test/stories/{local}")
    );
    assert_eq!(
        announce["cc"],
        json!([
            format!("{ALICE}/followers"),
            "http://tidings.test/users/bob"
        ])
    );
    assert_eq!(authors.received_of("/inbox", "Announce").len(), 1);

    // Her self-boost of a followers-only post (allowed, as on Mastodon) goes to her
    // followers only, addressed to them alone.
    let api = Api::login(&app, "alice").await;
    let (status, mine) = api
        .form(
            "/api/v1/statuses",
            &[("status", "For followers"), ("visibility", "private")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    let (status, body) = api
        .form(
            &format!("/api/v1/statuses/{}/reblog", mine["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let got = followers.wait_for("/inbox", "Announce", 3).await;
    let announce = got[2].json();
    assert_eq!(announce["object"], mine["uri"]);
    assert_eq!(announce["to"], json!([format!("{ALICE}/followers")]));
    assert_eq!(announce["cc"], json!([]));
}

#[tokio::test]
async fn an_incoming_announce_of_our_post_counts_lists_and_notifies() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice = app.user("alice").await;
    let api = Api::login(&app, "alice").await;
    let peer = RecordingPeer::start(&["dan"]).await;
    let dan = peer.actor("dan").id.clone();
    let id = alice.post_story("Share me", "Please").await;
    let announce = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{dan}/statuses/1/activity"),
        "type": "Announce",
        "actor": dan,
        "published": "2026-12-06T05:00:00Z",
        "to": [PUBLIC],
        "cc": [ALICE, format!("{dan}/followers")],
        "object": format!("http://tidings.test/stories/{id}"),
    });
    let status = peer
        .send("dan", &format!("{}/inbox", app.base), &announce)
        .await;
    assert!(status.is_success(), "{status}");
    let acct = format!("dan@{}", peer.host);

    let mut by = Value::Null;
    for _ in 0..100 {
        by = api.ok(&format!("/api/v1/statuses/{id}/reblogged_by")).await;
        if !by.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(accts(&by), std::slice::from_ref(&acct));
    let status = api.ok(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(status["reblogs_count"], 1);
    let notes = api.ok("/api/v1/notifications?types[]=reblog").await;
    let notes = notes.as_array().unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["account"]["acct"], acct.as_str());
    assert_eq!(notes[0]["status"]["id"], id.to_string());
    // The web notifications page says so too.
    alice
        .get("/notifications")
        .await
        .assert_contains("boosted your post");

    // Its Undo takes it away.
    let undo = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{dan}/statuses/1/activity/undo"),
        "type": "Undo",
        "actor": dan,
        "object": announce,
    });
    let status = peer
        .send("dan", &format!("{}/inbox", app.base), &undo)
        .await;
    assert!(status.is_success(), "{status}");
    for _ in 0..100 {
        by = api.ok(&format!("/api/v1/statuses/{id}/reblogged_by")).await;
        if by.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(accts(&by), Vec::<String>::new());
    let status = api.ok(&format!("/api/v1/statuses/{id}")).await;
    assert_eq!(status["reblogs_count"], 0);
}

/// The Boost button of a post on a page: (`on`|`off` it would send, the count shown).
fn boost_button(page: &str, post_id: i64) -> Option<(String, String)> {
    let marker = format!("action=\"/posts/{post_id}/boost\"");
    let form = &page[page.find(&marker)?..];
    let form = &form[..form.find("</form>")?];
    let value = form
        .split("name=\"value\" value=\"")
        .nth(1)?
        .split('"')
        .next()?;
    let count = form
        .split("class=\"count boosts\">")
        .nth(1)?
        .split('<')
        .next()?;
    Some((value.to_owned(), count.to_owned()))
}

#[tokio::test]
async fn the_boost_button_over_http_with_csrf() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let id = alice.post_story("Boost this", "Go on").await;
    let path = format!("/stories/{id}");
    let action = format!("/posts/{id}/boost");

    let page = bob.get(&path).await;
    assert_eq!(
        boost_button(&page.body, id),
        Some(("on".into(), "0".into()))
    );

    // Without the CSRF token: refused, nothing stored.
    let res = bob.post_raw(&action, &[("value", "on")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = bob.get(&path).await;
    assert_eq!(
        boost_button(&page.body, id),
        Some(("on".into(), "0".into()))
    );
    // A value that is neither on nor off.
    let res = bob.post_form(&action, &[("value", "maybe")]).await;
    assert!(res.status().is_client_error(), "{}", res.status());

    // First press boosts; the button then takes it back.
    let res = bob
        .post_form(&action, &[("value", "on"), ("return_to", &path)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = bob.get(&path).await;
    assert_eq!(
        boost_button(&page.body, id),
        Some(("off".into(), "1".into()))
    );
    // Others see the count with their own button.
    let page = alice.get(&path).await;
    assert_eq!(
        boost_button(&page.body, id),
        Some(("on".into(), "1".into()))
    );
    // A visitor sees the count, no button.
    let page = app.browser().get(&path).await;
    assert_eq!(boost_button(&page.body, id), None);
    page.assert_contains("Boosts <span class=\"count boosts\">1</span>");

    // Bob's profile lists the story as his boost, marked above it.
    let profile = app.browser().get("/@bob").await;
    let at = profile
        .body
        .find("boosted by <a href=\"/@bob\">@bob</a>")
        .expect("boost marked on the profile");
    assert!(profile.body[at..].contains(&format!("href=\"/stories/{id}\">Boost this")));
    app.browser()
        .get("/@alice")
        .await
        .assert_lacks("boosted by");

    // Second press un-boosts.
    let res = bob.post_form(&action, &[("value", "off")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = bob.get(&path).await;
    assert_eq!(
        boost_button(&page.body, id),
        Some(("on".into(), "0".into()))
    );
    // Alice's web notifications name the boost.
    alice
        .get("/notifications")
        .await
        .assert_contains("boosted your post");
}

/// A remote account that a local user follows boosts a remote post we have: the boost is
/// in that user's home timeline (and not in a non-follower's).
#[tokio::test]
async fn a_followed_remote_accounts_announce_reaches_home() {
    use tidings::db::models::Follow;
    use tidings::db::schema::{accounts, follows};
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    app.user("bob").await;
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let peer = RecordingPeer::start(&["dan", "eve"]).await;
    let dan = peer.actor("dan").id.clone();
    let (post_id, note) = remote_post(&app, &peer, "eve").await;
    let dan_id = fetch_actor(&app.svc, &Url::parse(&dan).unwrap())
        .await
        .unwrap()
        .0
        .id;
    // Alice follows dan (accepted), as after his server's Accept.
    app.svc
        .db
        .write(move |conn| {
            let alice: i64 = accounts::table
                .filter(accounts::username_lower.eq("alice"))
                .filter(accounts::domain.is_null())
                .select(accounts::id)
                .first(conn)?;
            let id = tidings::db::ids::new_id();
            diesel::insert_into(follows::table)
                .values(&Follow {
                    id,
                    ap_id: format!("http://tidings.test/follows/{id}"),
                    follower_id: alice,
                    followed_id: dan_id,
                    state: "accepted".into(),
                    created_at: Utc::now().naive_utc(),
                })
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let announce = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{dan}/statuses/2/activity"),
        "type": "Announce",
        "actor": dan,
        "to": [PUBLIC],
        "cc": [format!("{dan}/followers")],
        "object": note,
    });
    let status = peer
        .send("dan", &format!("{}/inbox", app.base), &announce)
        .await;
    assert!(status.is_success(), "{status}");
    let mut home = Value::Null;
    for _ in 0..100 {
        home = alice.ok("/api/v1/timelines/home").await;
        if !home.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let home = home.as_array().unwrap();
    assert_eq!(home.len(), 1, "{home:?}");
    assert_eq!(home[0]["account"]["acct"], format!("dan@{}", peer.host));
    assert_eq!(home[0]["reblog"]["id"], post_id.to_string());
    assert_eq!(home[0]["reblog"]["reblogs_count"], 1);
    assert_eq!(entries(&bob.ok("/api/v1/timelines/home").await), []);
}
