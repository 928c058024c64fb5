//! Who sees a post (issue #13, item 2; docs/visibility.md), path by path: one table over
//! read paths (web pages, client API, ActivityPub fetches) × the four visibilities ×
//! viewers (anonymous, the author, an accepted follower, a mentioned account, a stranger,
//! a moderator). Every mismatch is collected, so a failure lists the whole table's holes.

use std::collections::HashMap;

use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HOST, HeaderMap, HeaderValue};
use serde_json::Value;
use tidings::db::schema::{accounts, mentions, posts};
use tidings::federation::signatures::sign_request;
use url::Url;

use crate::api::{Client, token_for};
use crate::common::peer::{Peer, RemoteActor, signed};
use crate::common::{Browser, TestApp};

const VISIBILITIES: [&str; 4] = ["public", "unlisted", "private", "direct"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Viewer {
    Anonymous,
    Author,
    Follower,
    Mentioned,
    Stranger,
    Moderator,
}

const VIEWERS: [Viewer; 6] = [
    Viewer::Anonymous,
    Viewer::Author,
    Viewer::Follower,
    Viewer::Mentioned,
    Viewer::Stranger,
    Viewer::Moderator,
];

impl Viewer {
    fn name(self) -> Option<&'static str> {
        match self {
            Viewer::Anonymous => None,
            Viewer::Author => Some("alice"),
            Viewer::Follower => Some("fran"),
            Viewer::Mentioned => Some("mia"),
            Viewer::Stranger => Some("sam"),
            Viewer::Moderator => Some("modo"),
        }
    }
}

/// The rule of docs/visibility.md, written out independently of the code under test.
fn may_see(visibility: &str, viewer: Viewer) -> bool {
    use Viewer::*;
    match visibility {
        "public" | "unlisted" => true,
        "private" => matches!(viewer, Author | Follower | Mentioned),
        "direct" => matches!(viewer, Author | Mentioned),
        other => panic!("unknown visibility {other}"),
    }
}

pub(crate) async fn account_id(app: &TestApp, name: &str) -> i64 {
    let name = name.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq(&name))
                .filter(accounts::domain.is_null())
                .select(accounts::id)
                .first::<i64>(conn)?)
        })
        .await
        .unwrap()
}

/// Narrows a post made public to `visibility`, mentioning `mentioned`, in the database.
/// Why here and not through the API: choosing a visibility when posting (and storing the
/// mentions) is the write side of issue #13, built at the same time by another change; this
/// test is about the read side, so it makes the rows that write side stores.
pub(crate) async fn set_audience(app: &TestApp, post_id: i64, visibility: &str, mentioned: &[i64]) {
    let (visibility, mentioned) = (visibility.to_owned(), mentioned.to_vec());
    app.svc
        .db
        .run(move |conn| {
            diesel::update(posts::table.find(post_id))
                .set(posts::visibility.eq(&visibility))
                .execute(conn)?;
            for account_id in mentioned {
                // The write side may have stored it already (a mention in the text, a
                // reply's parent author).
                let have: i64 = mentions::table
                    .filter(mentions::post_id.eq(post_id))
                    .filter(mentions::account_id.eq(account_id))
                    .count()
                    .get_result(conn)?;
                if have > 0 {
                    continue;
                }
                diesel::insert_into(mentions::table)
                    .values((
                        mentions::post_id.eq(post_id),
                        mentions::account_id.eq(account_id),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

fn id_of(v: &Value) -> i64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn has_id(list: &Value, id: i64) -> bool {
    let id = id.to_string();
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .any(|s| s["id"] == id.as_str())
}

struct World {
    app: TestApp,
    alice_id: i64,
    mia_id: i64,
    web: HashMap<Viewer, Browser>,
    api: HashMap<Viewer, Client>,
    /// (visibility, story id)
    stories: Vec<(&'static str, i64)>,
    /// (visibility, reply id), replies to `parent`
    replies: Vec<(&'static str, i64)>,
    parent: i64,
}

fn story_mark(v: &str) -> String {
    format!("Story-{v}-mark")
}

fn reply_mark(v: &str) -> String {
    format!("Reply-{v}-mark")
}

/// alice writes a story and a reply (to her public story `parent`) of each visibility,
/// mentioning mia in each; fran follows alice; sam is a stranger; modo a moderator.
async fn world() -> World {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    let mut web = HashMap::new();
    web.insert(Viewer::Anonymous, app.browser());
    let mut api = HashMap::new();
    api.insert(Viewer::Anonymous, Client::anonymous(&app));
    for v in VIEWERS {
        if let Some(name) = v.name() {
            web.insert(v, app.user(name).await);
            api.insert(v, token_for(&app, name, "read write follow").await);
        }
    }
    app.svc
        .db
        .run(|conn| {
            diesel::update(accounts::table.filter(accounts::username_lower.eq("modo")))
                .set(accounts::is_moderator.eq(true))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let alice_id = account_id(&app, "alice").await;
    let mia_id = account_id(&app, "mia").await;
    let fran = web.get_mut(&Viewer::Follower).unwrap();
    let res = fran
        .post_form(&format!("/accounts/{alice_id}/follow"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);

    let alice = api[&Viewer::Author].clone();
    let parent = id_of(&alice.status("Parent story\n\nReplies below").await);
    let mut stories = Vec::new();
    let mut replies = Vec::new();
    for v in VISIBILITIES {
        let story = id_of(
            &alice
                .status(&format!("{}\n\nBody for #vistag", story_mark(v)))
                .await,
        );
        let reply = id_of(&alice.reply(&parent.to_string(), &reply_mark(v)).await);
        if v != "public" {
            set_audience(&app, story, v, &[mia_id]).await;
            set_audience(&app, reply, v, &[mia_id]).await;
        }
        stories.push((v, story));
        replies.push((v, reply));
    }
    World {
        app,
        alice_id,
        mia_id,
        web,
        api,
        stories,
        replies,
        parent,
    }
}

/// Whether a page answered "here it is" (200) or "no such thing" (404); anything else is a
/// failure of its own.
fn found(status: StatusCode, what: &str) -> bool {
    match status {
        StatusCode::OK => true,
        StatusCode::NOT_FOUND => false,
        other => panic!("{what}: unexpected {other}"),
    }
}

struct Table(Vec<String>);

impl Table {
    fn check(&mut self, path: &str, vis: &str, viewer: Viewer, expected: bool, seen: bool) {
        if expected != seen {
            self.0.push(format!(
                "{path}: {vis} post, {viewer:?}: expected {}, got {}",
                if expected { "seen" } else { "hidden" },
                if seen { "seen" } else { "hidden" },
            ));
        }
    }

    #[track_caller]
    fn assert_empty(self) {
        assert!(
            self.0.is_empty(),
            "visibility holes:\n{}",
            self.0.join("\n")
        );
    }
}

#[tokio::test]
async fn every_web_page_shows_a_post_to_its_audience_only() {
    let w = world().await;
    let mut t = Table(Vec::new());
    for viewer in VIEWERS {
        let b = &w.web[&viewer];
        let profile = b.get("/@alice").await;
        let front = b.get("/").await;
        let tag = b.get("/tags/vistag").await;
        let thread = b.get(&format!("/stories/{}", w.parent)).await;
        assert_eq!(thread.status(), StatusCode::OK);
        for &(vis, id) in &w.stories {
            let expected = may_see(vis, viewer);
            let page = b.get(&format!("/stories/{id}")).await;
            let seen = found(page.status(), "story page");
            t.check("GET /stories/:id", vis, viewer, expected, seen);
            if seen {
                page.assert_contains(&story_mark(vis));
            } else {
                page.assert_lacks(&story_mark(vis));
            }
            let mark = story_mark(vis);
            let on_profile = profile.body.contains(&mark);
            t.check("GET /@alice", vis, viewer, expected, on_profile);
            // Lists for everybody show public posts only.
            let listed = vis == "public";
            t.check("GET /", vis, viewer, listed, front.body.contains(&mark));
            t.check(
                "GET /tags/vistag",
                vis,
                viewer,
                listed,
                tag.body.contains(&mark),
            );
        }
        for &(vis, id) in &w.replies {
            let expected = may_see(vis, viewer);
            let page = b.get(&format!("/replies/{id}")).await;
            let seen = found(page.status(), "reply page");
            t.check("GET /replies/:id", vis, viewer, expected, seen);
            let in_thread = thread.body.contains(&reply_mark(vis));
            t.check(
                "thread on GET /stories/:parent",
                vis,
                viewer,
                expected,
                in_thread,
            );
        }
    }
    t.assert_empty();
}

#[tokio::test]
async fn every_api_path_shows_a_post_to_its_audience_only() {
    let w = world().await;
    let mut t = Table(Vec::new());
    for viewer in VIEWERS {
        let c = &w.api[&viewer];
        let statuses = c
            .get(&format!(
                "/api/v1/accounts/{}/statuses?limit=40",
                w.alice_id
            ))
            .await
            .ok();
        let public = c.get("/api/v1/timelines/public?limit=40").await.ok();
        let tag = c.get("/api/v1/timelines/tag/vistag?limit=40").await.ok();
        let context = c
            .get(&format!("/api/v1/statuses/{}/context", w.parent))
            .await
            .ok();
        let home = match viewer {
            Viewer::Anonymous => None,
            _ => Some(c.get("/api/v1/timelines/home?limit=40").await.ok()),
        };
        let all = w.stories.iter().chain(&w.replies);
        for &(vis, id) in all.clone() {
            let expected = may_see(vis, viewer);
            let res = c.get(&format!("/api/v1/statuses/{id}")).await;
            t.check(
                "GET /api/v1/statuses/:id",
                vis,
                viewer,
                expected,
                found(res.status, "status"),
            );
            let res = c.get(&format!("/api/v1/statuses/{id}/favourited_by")).await;
            t.check(
                "GET /api/v1/statuses/:id/favourited_by",
                vis,
                viewer,
                expected,
                found(res.status, "favourited_by"),
            );
            let res = c.get(&format!("/api/v1/statuses/{id}/reblogged_by")).await;
            t.check(
                "GET /api/v1/statuses/:id/reblogged_by",
                vis,
                viewer,
                expected,
                found(res.status, "reblogged_by"),
            );
            let res = c.get(&format!("/api/v1/statuses/{id}/context")).await;
            t.check(
                "GET /api/v1/statuses/:id/context",
                vis,
                viewer,
                expected,
                found(res.status, "context"),
            );
            t.check(
                "GET /api/v1/accounts/:id/statuses",
                vis,
                viewer,
                expected,
                has_id(&statuses, id),
            );
            let listed = vis == "public";
            t.check(
                "GET /api/v1/timelines/public",
                vis,
                viewer,
                listed,
                has_id(&public, id),
            );
            if let Some(home) = &home {
                // Home: the author's own posts, and those of people one follows.
                let expected = expected && matches!(viewer, Viewer::Author | Viewer::Follower);
                t.check(
                    "GET /api/v1/timelines/home",
                    vis,
                    viewer,
                    expected,
                    has_id(home, id),
                );
            }
        }
        for &(vis, id) in &w.stories {
            t.check(
                "GET /api/v1/timelines/tag/vistag",
                vis,
                viewer,
                vis == "public",
                has_id(&tag, id),
            );
        }
        for &(vis, id) in &w.replies {
            t.check(
                "GET /api/v1/statuses/:parent/context (descendants)",
                vis,
                viewer,
                may_see(vis, viewer),
                has_id(&context["descendants"], id),
            );
        }
        // Acting on a post one may not see: as if it did not exist.
        if viewer != Viewer::Anonymous {
            for &(vis, id) in &w.stories {
                let expected = may_see(vis, viewer);
                for act in ["favourite", "bookmark"] {
                    let res = c
                        .post(&format!("/api/v1/statuses/{id}/{act}"), Value::Null)
                        .await;
                    t.check(
                        &format!("POST /api/v1/statuses/:id/{act}"),
                        vis,
                        viewer,
                        expected,
                        found(res.status, act),
                    );
                }
                let res = c
                    .post(
                        "/api/v1/statuses",
                        serde_json::json!({ "status": "a reply", "in_reply_to_id": id.to_string() }),
                    )
                    .await;
                t.check(
                    "POST /api/v1/statuses (in_reply_to_id)",
                    vis,
                    viewer,
                    expected,
                    found(res.status, "reply"),
                );
            }
            // What one favourited and bookmarked lists only what one may see (still).
            let favs = c.get("/api/v1/favourites?limit=40").await.ok();
            let marks = c.get("/api/v1/bookmarks?limit=40").await.ok();
            for &(vis, id) in &w.stories {
                let expected = may_see(vis, viewer);
                t.check(
                    "GET /api/v1/favourites",
                    vis,
                    viewer,
                    expected,
                    has_id(&favs, id),
                );
                t.check(
                    "GET /api/v1/bookmarks",
                    vis,
                    viewer,
                    expected,
                    has_id(&marks, id),
                );
            }
        }
    }
    t.assert_empty();
}

/// Web acts on a post one may not see answer 404 and change nothing.
#[tokio::test]
async fn web_acts_on_hidden_posts_are_not_found() {
    let mut w = world().await;
    let (_, direct) = w.stories[3];
    let sam = w.web.get_mut(&Viewer::Stranger).unwrap();
    for (path, fields) in [
        (format!("/posts/{direct}/vote"), vec![("value", "up")]),
        (format!("/posts/{direct}/react"), vec![("emoji", "👍")]),
        (format!("/posts/{direct}/reply"), vec![("body", "hello")]),
        (format!("/stories/{direct}/follow"), vec![]),
    ] {
        let res = sam.post_form(&path, &fields).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}: {}", res.body);
    }
    let res = sam.get(&format!("/report?post={direct}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // mia, mentioned, may.
    let mia = w.web.get_mut(&Viewer::Mentioned).unwrap();
    let res = mia
        .post_form(&format!("/posts/{direct}/vote"), &[("value", "up")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let up = w.app.svc.db.run(move |conn| {
        Ok(posts::table
            .find(direct)
            .select(posts::up_count)
            .first::<i64>(conn)?)
    });
    assert_eq!(up.await.unwrap(), 1, "only mia's vote counted");
}

/// Counters everybody sees count public and unlisted posts only.
#[tokio::test]
async fn public_counters_leave_private_posts_out() {
    let w = world().await;
    let sam = &w.api[&Viewer::Stranger];
    // alice: 5 stories and 4 replies, of which 2 stories and 2 replies private or direct.
    let alice = sam
        .get(&format!("/api/v1/accounts/{}", w.alice_id))
        .await
        .ok();
    assert_eq!(alice["statuses_count"], 5, "{alice}");

    // A reply's replies_count: its public reply, not its private one.
    let author = &w.api[&Viewer::Author];
    let (_, public_reply) = w.replies[0];
    author.reply(&public_reply.to_string(), "open answer").await;
    let hidden = id_of(
        &author
            .reply(&public_reply.to_string(), "closed answer")
            .await,
    );
    set_audience(&w.app, hidden, "private", &[]).await;
    let r = sam
        .get(&format!("/api/v1/statuses/{public_reply}"))
        .await
        .ok();
    assert_eq!(r["replies_count"], 1, "{r}");

    // A reply in a followers-only thread (it takes the thread's visibility) is not
    // counted on the story.
    let (_, private_story) = w.stories[2];
    let reply = id_of(
        &author
            .reply(&private_story.to_string(), "in the circle")
            .await,
    );
    let fran = &w.api[&Viewer::Follower];
    let seen = fran.get(&format!("/api/v1/statuses/{reply}")).await.ok();
    assert_eq!(seen["visibility"], "private");
    let story = fran
        .get(&format!("/api/v1/statuses/{private_story}"))
        .await
        .ok();
    assert_eq!(story["replies_count"], 0, "{story}");
    let _ = w.mia_id;
}

/// Notifications (web and API) about a post the account may no longer see are not shown.
#[tokio::test]
async fn notifications_leave_out_posts_one_may_not_see() {
    let mut w = world().await;
    // fran follows the parent story: she hears of its replies; sam replies, then his
    // reply becomes followers-only (fran does not follow sam).
    let fran = w.web.get_mut(&Viewer::Follower).unwrap();
    let res = fran
        .post_form(&format!("/stories/{}/follow", w.parent), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sam = &w.api[&Viewer::Stranger];
    let open = id_of(&sam.reply(&w.parent.to_string(), "Open-note-mark").await);
    let closed = id_of(&sam.reply(&w.parent.to_string(), "Closed-note-mark").await);
    set_audience(&w.app, closed, "private", &[]).await;
    let page = w.web[&Viewer::Follower].get("/notifications").await;
    page.assert_contains(&format!("/replies/{open}"));
    page.assert_lacks(&format!("/replies/{closed}"));
    let list = w.api[&Viewer::Follower]
        .get("/api/v1/notifications")
        .await
        .ok();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|n| n["status"]["id"].as_str())
        .collect();
    assert!(ids.contains(&open.to_string().as_str()), "{list}");
    assert!(!ids.contains(&closed.to_string().as_str()), "{list}");
}

/// GET of one of our objects as a remote server asks for it: signed (cavage) by `signer`
/// for `tidings.test`, or unsigned.
async fn fetch_object(app: &TestApp, path: &str, signer: Option<&RemoteActor>) -> StatusCode {
    let url = Url::parse(&format!("http://tidings.test{path}")).unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(HOST, HeaderValue::from_static("tidings.test"));
    headers.insert(
        ACCEPT,
        HeaderValue::from_static("application/activity+json"),
    );
    if let Some(a) = signer {
        sign_request(
            &reqwest::Method::GET,
            &url,
            &mut headers,
            None,
            &a.key_id,
            &a.private_pem,
            Utc::now(),
        )
        .unwrap();
    }
    reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .headers(headers)
        .send()
        .await
        .unwrap()
        .status()
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Signer {
    Unsigned,
    /// A remote accepted follower of the author.
    Follower,
    /// Another actor on the follower's server.
    FollowersServer,
    /// A remote account the posts mention.
    Mentioned,
    /// A remote account on a server with no follower and no one mentioned.
    Stranger,
}

#[tokio::test]
async fn activitypub_fetches_serve_each_object_to_its_audience_only() {
    let w = world().await;
    let app = &w.app;
    // Three servers: one with a follower of alice (and a colleague of theirs), one with
    // an account the posts mention, one with neither.
    let followers_server = Peer::start().await;
    let follower = followers_server.actor();
    let colleague = followers_server.add_actor("colleague").await;
    let mentioned_server = Peer::start().await;
    let mentioned = mentioned_server.actor();
    let stranger = Peer::start().await.actor();
    let (status, body) = signed(app, &followers_server, &followers_server.follow(1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The mentioned account becomes known with its first signed request (it follows sam,
    // not alice); then the posts mention it.
    let follow_sam = serde_json::json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/follows/sam", mentioned_server.base),
        "type": "Follow",
        "actor": mentioned.id,
        "object": "http://tidings.test/users/sam",
    });
    let (status, body) = signed(app, &mentioned_server, &follow_sam).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let remote_id = {
        let ap_id = mentioned.id.clone();
        app.svc
            .db
            .run(move |conn| {
                Ok(accounts::table
                    .filter(accounts::ap_id.eq(&ap_id))
                    .select(accounts::id)
                    .first::<i64>(conn)?)
            })
            .await
            .unwrap()
    };
    for &(vis, id) in w.stories.iter().chain(&w.replies) {
        if vis != "public" {
            set_audience(app, id, vis, &[remote_id]).await;
        }
    }

    let mut t = Table(Vec::new());
    for (signer, key) in [
        (Signer::Unsigned, None),
        (Signer::Follower, Some(&follower)),
        (Signer::FollowersServer, Some(&colleague)),
        (Signer::Mentioned, Some(&mentioned)),
        (Signer::Stranger, Some(&stranger)),
    ] {
        let paths = w
            .stories
            .iter()
            .map(|&(v, id)| (v, format!("/stories/{id}")))
            .chain(
                w.replies
                    .iter()
                    .map(|&(v, id)| (v, format!("/replies/{id}"))),
            );
        for (vis, path) in paths {
            let expected = match vis {
                "public" | "unlisted" => true,
                "private" => signer != Signer::Unsigned && signer != Signer::Stranger,
                _ => signer == Signer::Mentioned,
            };
            let seen = found(fetch_object(app, &path, key).await, &path);
            if expected != seen {
                t.0.push(format!(
                    "AP GET {path}: {vis}, {signer:?}: expected {expected}, got {seen}"
                ));
            }
        }
    }
    // Collections stay public: the outbox counts public and unlisted posts only.
    let outbox: Value = reqwest::Client::new()
        .get(format!("{}/users/alice/outbox", app.base))
        .header(ACCEPT, "application/activity+json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(outbox["totalItems"], 5, "{outbox}");
    t.assert_empty();

    // Deleted: a public post answers 410 (its Tombstone); a direct one is not revealed.
    let alice = &w.api[&Viewer::Author];
    let ((_, public_story), (_, direct_story)) = (w.stories[0], w.stories[3]);
    for id in [public_story, direct_story] {
        let res = alice.delete(&format!("/api/v1/statuses/{id}")).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.json);
    }
    let gone = fetch_object(app, &format!("/stories/{public_story}"), None).await;
    assert_eq!(gone, StatusCode::GONE);
    let hidden = fetch_object(app, &format!("/stories/{direct_story}"), None).await;
    assert_eq!(hidden, StatusCode::NOT_FOUND);
}
