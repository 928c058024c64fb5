//! The write side of who sees a post (issue #13, items 1 and 4; docs/visibility.md):
//! choosing a visibility on the web forms and through the API, replies never wider than
//! their parent, no boosts of private and direct posts, mentions stored (local and remote
//! accounts, a reply's parent author), shown in the API, linked and notified; and what
//! goes out: the addressing of each visibility and the inboxes it is delivered to.

use crate::common::api::Api;
use crate::common::recording_peer::RecordingPeer;
use crate::common::{Browser, TestApp};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tidings::db::schema::{accounts, announces, mentions, posts};
use tidings::federation::fetch::fetch_actor;
use url::Url;

const ALICE: &str = "http://tidings.test/users/alice";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";

impl Api {
    /// Posts a status; the status as answered (200 asserted).
    pub(crate) async fn status(&self, form: &[(&str, &str)]) -> Value {
        let (status, body) = self.form("/api/v1/statuses", form).await;
        assert_eq!(status, StatusCode::OK, "{form:?}: {body}");
        body
    }
}

fn id_of(status: &Value) -> i64 {
    status["id"].as_str().unwrap().parse().unwrap()
}

async fn visibility_of(app: &TestApp, id: i64) -> String {
    app.svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .find(id)
                .select(posts::visibility)
                .first::<String>(conn)?)
        })
        .await
        .unwrap()
}

/// The usernames (with `@host` for remote accounts) a post mentions, from the table.
async fn mentioned(app: &TestApp, id: i64) -> Vec<String> {
    let mut names: Vec<String> = app
        .svc
        .db
        .run(move |conn| {
            Ok(mentions::table
                .inner_join(accounts::table.on(accounts::id.eq(mentions::account_id)))
                .filter(mentions::post_id.eq(id))
                .select((accounts::username, accounts::domain))
                .load::<(String, Option<String>)>(conn)?)
        })
        .await
        .unwrap()
        .into_iter()
        .map(|(u, d)| match d {
            Some(d) => format!("{u}@{d}"),
            None => u,
        })
        .collect();
    names.sort();
    names
}

fn accts(status: &Value) -> Vec<String> {
    let mut out: Vec<String> = status["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["acct"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

/// Mention notifications `api`'s account has, as the ids of their statuses.
async fn mention_notifications(api: &Api) -> Vec<String> {
    api.ok("/api/v1/notifications?types[]=mention")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "mention")
        .map(|n| n["status"]["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_api_posts_each_visibility_and_replies_are_never_wider_than_their_parent() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    app.user("bob").await;
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;

    for v in ["public", "unlisted", "private", "direct"] {
        let s = alice
            .status(&[("status", &format!("A {v} story")), ("visibility", v)])
            .await;
        assert_eq!(s["visibility"], v, "{s}");
        assert_eq!(visibility_of(&app, id_of(&s)).await, v);
    }
    // Unknown values are refused, nothing stored.
    let (status, body) = alice
        .form(
            "/api/v1/statuses",
            &[("status", "Secret"), ("visibility", "secret")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");

    let private = alice
        .status(&[
            ("status", "For followers and @bob"),
            ("visibility", "private"),
        ])
        .await;
    let pid = private["id"].as_str().unwrap();
    // The parent's visibility by default; a wider one is narrowed; a narrower one kept.
    let cases = [
        (None, "private"),
        (Some("public"), "private"),
        (Some("unlisted"), "private"),
        (Some("direct"), "direct"),
    ];
    for (asked, stored) in cases {
        let mut form = vec![("status", "A reply"), ("in_reply_to_id", pid)];
        if let Some(v) = asked {
            form.push(("visibility", v));
        }
        let reply = bob.status(&form).await;
        assert_eq!(reply["visibility"], stored, "asked {asked:?}: {reply}");
        assert_eq!(visibility_of(&app, id_of(&reply)).await, stored);
    }
    // An unlisted story's reply may be narrower, not wider.
    let unlisted = alice
        .status(&[("status", "Quiet one"), ("visibility", "unlisted")])
        .await;
    let uid = unlisted["id"].as_str().unwrap();
    let reply = bob
        .status(&[
            ("status", "Loud reply"),
            ("in_reply_to_id", uid),
            ("visibility", "public"),
        ])
        .await;
    assert_eq!(reply["visibility"], "unlisted");

    // Edits keep the visibility.
    let (status, edited) = alice
        .put_form(&format!("/api/v1/statuses/{pid}"), &[("status", "Edited")])
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["visibility"], "private");

    // New posts are still public by default.
    let prefs = alice.ok("/api/v1/preferences").await;
    assert_eq!(prefs["posting:default:visibility"], "public");
}

#[tokio::test]
async fn the_web_forms_choose_a_visibility_and_keep_it_when_rejected() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;

    let form = alice.get("/submit").await;
    form.assert_contains("<select id=\"visibility\" name=\"visibility\"");

    let res = alice
        .post_form(
            "/submit",
            &[
                ("headline", "Only for followers"),
                // bob is mentioned, so he may see it and reply.
                ("body", "Hello @bob"),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let story: i64 = res.location()["/stories/".len()..].parse().unwrap();
    assert_eq!(visibility_of(&app, story).await, "private");

    // Rejected (no headline): the form comes back with the choice kept.
    let res = alice
        .post_form(
            "/submit",
            &[
                ("headline", ""),
                ("body", "Hello"),
                ("visibility", "direct"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("<option value=\"direct\" selected>");
    // An unknown value is a form error, nothing stored.
    let res = alice
        .post_form(
            "/submit",
            &[
                ("headline", "Odd"),
                ("body", "Hello"),
                ("visibility", "everyone"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Visibility is public, unlisted, private or direct.");

    // A reply asking for more than its parent is narrowed.
    let res = bob
        .post_form(
            &format!("/posts/{story}/reply"),
            &[("body", "Me too"), ("visibility", "unlisted")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let reply: i64 = res.location()["/replies/".len()..].parse().unwrap();
    assert_eq!(visibility_of(&app, reply).await, "private");
    // A reply with the default takes the parent's.
    let public = alice.post_story("Open news", "For all").await;
    let res = bob
        .post_form(&format!("/posts/{public}/reply"), &[("body", "Nice")])
        .await;
    let reply: i64 = res.location()["/replies/".len()..].parse().unwrap();
    assert_eq!(visibility_of(&app, reply).await, "public");
    // A rejected reply keeps the choice.
    let res = bob
        .post_form(
            &format!("/posts/{public}/reply"),
            &[("body", " "), ("visibility", "direct")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("<option value=\"direct\" selected>");
}

#[tokio::test]
async fn private_and_direct_posts_cannot_be_boosted_but_by_the_author_of_a_private_one() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let mut bob = app.user("bob").await;
    let alice = Api::login(&app, "alice").await;
    let bob_api = Api::login(&app, "bob").await;
    for v in ["private", "direct"] {
        let s = alice
            .status(&[("status", "Not for sharing @bob"), ("visibility", v)])
            .await;
        let id = s["id"].as_str().unwrap();
        let (status, body) = bob_api
            .form(&format!("/api/v1/statuses/{id}/reblog"), &[])
            .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{v}: {body}");
        let res = bob
            .post_form(&format!("/posts/{id}/boost"), &[("value", "on")])
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    }
    let boosts: i64 = app
        .svc
        .db
        .run(|conn| Ok(announces::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(boosts, 0);
    // Its author may boost a followers-only post (to her followers, as on Mastodon), not
    // a direct one.
    let mine = alice
        .status(&[("status", "For my followers"), ("visibility", "private")])
        .await;
    let (status, body) = alice
        .form(
            &format!("/api/v1/statuses/{}/reblog", mine["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["reblog"]["reblogs_count"], 1, "{body}");
    let dm = alice
        .status(&[("status", "Just you @bob"), ("visibility", "direct")])
        .await;
    let (status, _) = alice
        .form(
            &format!("/api/v1/statuses/{}/reblog", dm["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // A public one can.
    let s = alice.status(&[("status", "Share me")]).await;
    let (status, _) = bob_api
        .form(
            &format!("/api/v1/statuses/{}/reblog", s["id"].as_str().unwrap()),
            &[],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A remote account of `peer` known here (fetched, as after a search); its `name@host`.
async fn known_remote(app: &TestApp, peer: &RecordingPeer, name: &str) -> String {
    let url = Url::parse(&peer.actor(name).id).unwrap();
    let (account, _) = fetch_actor(&app.svc, &url).await.unwrap();
    format!("{}@{}", account.username, account.domain.unwrap())
}

#[tokio::test]
async fn mentions_of_local_and_remote_accounts_are_stored_shown_linked_and_notified() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    app.user("bob").await;
    app.user("carol").await;
    let alice = Api::login(&app, "alice").await;
    let bob = Api::login(&app, "bob").await;
    let carol = Api::login(&app, "carol").await;
    let peer = RecordingPeer::start(&["ann"]).await;
    let ann = known_remote(&app, &peer, "ann").await;

    let s = alice
        .status(&[(
            "status",
            &format!("Big news\n\nAsk @bob, @ann, @nobody and @{ann} (and @ghost@nowhere.example)"),
        )])
        .await;
    let id = id_of(&s);
    assert_eq!(
        mentioned(&app, id).await,
        vec![ann.clone(), "bob".to_owned()]
    );
    assert_eq!(accts(&s), vec![ann.clone(), "bob".to_owned()]);
    let ann_mention = s["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["acct"] == ann.as_str())
        .unwrap();
    assert_eq!(ann_mention["url"], peer.actor("ann").id);
    assert_eq!(ann_mention["username"], "ann");
    let content = s["content"].as_str().unwrap();
    assert!(
        content.contains(&format!(
            "<a href=\"{}\" class=\"u-url mention\">@<span>{ann}</span></a>",
            peer.actor("ann").id
        )),
        "{content}"
    );
    assert!(
        content.contains(
            "<a href=\"http://tidings.test/@bob\" class=\"u-url mention\">@<span>bob</span></a>"
        ),
        "{content}"
    );
    assert!(content.contains("@ghost@nowhere.example"), "{content}");
    assert_eq!(mention_notifications(&bob).await, vec![s["id"].clone()]);

    // An edit recomputes: bob is no longer mentioned, carol is (and is told, once).
    let (status, edited) = alice
        .put_form(
            &format!("/api/v1/statuses/{id}"),
            &[("status", "Big news\n\nAsk @carol and @carol")],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(mentioned(&app, id).await, vec!["carol".to_owned()]);
    assert_eq!(accts(&edited), vec!["carol".to_owned()]);
    assert_eq!(mention_notifications(&carol).await, vec![s["id"].clone()]);
    assert_eq!(mention_notifications(&bob).await.len(), 1);
    // Editing again does not tell carol twice.
    alice
        .put_form(
            &format!("/api/v1/statuses/{id}"),
            &[("status", "Big news\n\nAsk @carol again")],
        )
        .await;
    assert_eq!(mention_notifications(&carol).await.len(), 1);

    // A one-line status: its line is the headline, and still mentions, links and notifies.
    let s = alice
        .status(&[("status", &format!("hello @{ann} and @bob"))])
        .await;
    assert_eq!(accts(&s), vec![ann.clone(), "bob".to_owned()]);
    let content = s["content"].as_str().unwrap();
    assert!(
        content.starts_with(&format!(
            "<p><strong>hello <span class=\"h-card\"><a href=\"{}\" class=\"u-url mention\">@<span>{ann}</span></a></span> and <span class=\"h-card\"><a href=\"http://tidings.test/@bob\"",
            peer.actor("ann").id
        )),
        "{content}"
    );
    assert!(
        mention_notifications(&bob)
            .await
            .iter()
            .any(|n| *n == s["id"])
    );

    // A reply mentions its parent's author (told once, of the reply); the author is not
    // notified of mentioning themselves.
    let reply = bob
        .status(&[
            ("status", "Thanks @bob"),
            ("in_reply_to_id", s["id"].as_str().unwrap()),
        ])
        .await;
    assert_eq!(accts(&reply), vec!["alice".to_owned(), "bob".to_owned()]);
    let told: Vec<Value> = alice
        .ok("/api/v1/notifications")
        .await
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["status"]["id"] == reply["id"])
        .cloned()
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        !mention_notifications(&bob)
            .await
            .iter()
            .any(|n| *n == reply["id"])
    );
}

#[tokio::test]
async fn story_mentions_from_the_web_form_are_stored_and_linked() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    app.user("bob").await;
    let id = alice
        .post_story("Talking to @bob", "And again @Bob, not @nobody")
        .await;
    assert_eq!(mentioned(&app, id).await, vec!["bob".to_owned()]);
    let bob = Api::login(&app, "bob").await;
    assert_eq!(mention_notifications(&bob).await, vec![id.to_string()]);
    let page = alice.get(&format!("/stories/{id}")).await;
    page.assert_contains(
        "<a href=\"http://tidings.test/@bob\" class=\"u-url mention\">@<span>Bob</span></a>",
    );
    // The headline's mention is a link too, and the body is shown whole.
    page.assert_contains("<h1 class=\"headline\">Talking to <span class=\"h-card\"><a href=\"http://tidings.test/@bob\" class=\"u-url mention\">@<span>bob</span></a></span></h1>");
    page.assert_contains("And again");
    // Lists show the excerpt of the whole body.
    alice
        .get("/")
        .await
        .assert_contains("And again @Bob, not @nobody");
}

/// The remote actor `name` of `peer` follows alice (through alice's inbox), accepted.
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
    peer.wait_for(&format!("/users/{name}/inbox"), "Accept", 1)
        .await;
}

fn mention_tags(note: &Value) -> Vec<(String, String)> {
    note["tag"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["type"] == "Mention")
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_owned(),
                t["href"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn settle() {
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
}

/// What a private and a direct post look like on the wire, and which servers get them:
/// followers' servers and the mentioned for a private post, the mentioned only for a
/// direct one (its Update and Delete too); a server with neither gets nothing.
#[tokio::test]
async fn private_and_direct_posts_go_only_to_their_audience() {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut alice_web: Browser = app.user("alice").await;
    let alice = Api::login(&app, "alice").await;
    // Three servers: a follower's, a mentioned account's, and one with a known account
    // that neither follows nor is mentioned.
    let followers = RecordingPeer::start(&["fay"]).await;
    let mentioned_peer = RecordingPeer::start(&["ann"]).await;
    let bystander = RecordingPeer::start(&["bea"]).await;
    remote_follows_alice(&app, &followers, "fay").await;
    let ann = known_remote(&app, &mentioned_peer, "ann").await;
    known_remote(&app, &bystander, "bea").await;
    let ann_id = mentioned_peer.actor("ann").id.clone();
    let followers_url = format!("{ALICE}/followers");

    let private = alice
        .status(&[
            ("status", &format!("For my followers, and @{ann}")),
            ("visibility", "private"),
        ])
        .await;
    let got = followers.wait_for("/inbox", "Create", 1).await;
    let create = got[0].json();
    assert_eq!(create["to"], json!([followers_url]));
    assert_eq!(create["cc"], json!([ann_id]));
    assert_eq!(create["object"]["to"], json!([followers_url]));
    assert_eq!(create["object"]["cc"], json!([ann_id]));
    assert_eq!(
        mention_tags(&create["object"]),
        vec![(format!("@{ann}"), ann_id.clone())]
    );
    let to_ann = mentioned_peer.wait_for("/inbox", "Create", 1).await;
    assert_eq!(to_ann[0].json()["object"]["id"], create["object"]["id"]);

    let direct = alice
        .status(&[
            ("status", &format!("Just between us, @{ann}")),
            ("visibility", "direct"),
        ])
        .await;
    let got = mentioned_peer.wait_for("/inbox", "Create", 2).await;
    let create = got[1].json();
    assert!(
        create["object"]["content"]
            .as_str()
            .unwrap()
            .contains("Just between us")
    );
    assert_eq!(create["to"], json!([ann_id]));
    assert_eq!(create["cc"], json!([]));
    assert_eq!(create["object"]["to"], json!([ann_id]));
    assert!(!create.to_string().contains(PUBLIC));
    assert!(!create.to_string().contains(&followers_url));

    // Its Update and Delete go to the same audience.
    let did = direct["id"].as_str().unwrap();
    let (status, _) = alice
        .put_form(
            &format!("/api/v1/statuses/{did}"),
            &[("status", &format!("Just between us (edited), @{ann}"))],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    mentioned_peer.wait_for("/inbox", "Update", 1).await;
    let res = alice
        .send(
            alice
                .http
                .delete(format!("{}/api/v1/statuses/{did}", app.base)),
        )
        .await;
    assert_eq!(res.0, StatusCode::OK);
    mentioned_peer.wait_for("/inbox", "Delete", 1).await;
    // A public post reaches the follower too, so the follower's server has had time.
    alice_web.post_story("Public news", "For all").await;
    followers.wait_for("/inbox", "Create", 2).await;
    settle().await;

    // The follower's server got the private post and the public one, nothing of the
    // direct one; the bystander nothing at all.
    let at_followers: Vec<String> = followers
        .received()
        .iter()
        .filter(|r| r.path == "/inbox")
        .map(|r| r.json()["object"]["id"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(at_followers.len(), 2, "{at_followers:?}");
    assert!(!at_followers.iter().any(|id| id.contains(did)));
    assert!(
        at_followers
            .iter()
            .any(|id| id.ends_with(private["id"].as_str().unwrap()))
    );
    assert!(
        bystander.received().is_empty(),
        "{:?}",
        bystander.received().len()
    );
    // The mentioned server: private Create, direct Create, Update, Delete; not the public one.
    assert_eq!(
        mentioned_peer
            .received()
            .iter()
            .filter(|r| r.path == "/inbox")
            .count(),
        4
    );
}
