//! The Mastodon-compatible client API over real HTTP: an app registers, gets a token with
//! the password grant, and drives statuses, timelines, accounts, notifications, search and
//! reports; the web pages show the same data (one service layer).

use crate::common::{PASSWORD, TestApp};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

/// An app's connection with a bearer token (or none).
#[derive(Clone)]
pub(crate) struct Client {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
}

/// A response read whole, its body parsed as JSON.
#[derive(Debug)]
pub(crate) struct Res {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) json: Value,
}

impl Res {
    #[track_caller]
    pub(crate) fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.json);
        self.json
    }

    fn link(&self) -> String {
        self.headers
            .get("link")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    }

    /// The value of `key` in the Link header's `rel` target (e.g. `max_id` of `next`).
    fn link_param(&self, rel: &str, key: &str) -> Option<String> {
        let link = self.link();
        let part = link
            .split(", ")
            .find(|p| p.ends_with(&format!("rel=\"{rel}\"")))?;
        let url = part.split('>').next()?.trim_start_matches('<');
        let query = url.split_once('?')?.1;
        query
            .split('&')
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .map(str::to_owned)
    }
}

impl Client {
    pub(crate) fn anonymous(app: &TestApp) -> Client {
        Client {
            base: app.base.clone(),
            http: reqwest::Client::new(),
            token: None,
        }
    }

    fn with_token(&self, token: &str) -> Client {
        Client {
            base: self.base.clone(),
            http: self.http.clone(),
            token: Some(token.to_owned()),
        }
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> Res {
        let req = match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let res = req.send().await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{status} not JSON ({e}): {text}"))
        };
        Res {
            status,
            headers,
            json,
        }
    }

    pub(crate) async fn get(&self, path: &str) -> Res {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: Value) -> Res {
        self.send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn post_form(&self, path: &str, form: &[(&str, &str)]) -> Res {
        self.send(self.http.post(format!("{}{path}", self.base)).form(form))
            .await
    }

    async fn put(&self, path: &str, body: Value) -> Res {
        self.send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn patch_form(&self, path: &str, form: &[(&str, &str)]) -> Res {
        self.send(self.http.patch(format!("{}{path}", self.base)).form(form))
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Res {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
    }

    /// Posts a status and returns it.
    pub(crate) async fn status(&self, text: &str) -> Value {
        self.post("/api/v1/statuses", json!({ "status": text }))
            .await
            .ok()
    }

    pub(crate) async fn reply(&self, to: &str, text: &str) -> Value {
        self.post(
            "/api/v1/statuses",
            json!({ "status": text, "in_reply_to_id": to }),
        )
        .await
        .ok()
    }
}

/// Joins `name` on the web, registers an app and gets a token with `scope` by the password
/// grant, as Mastodon.py's `log_in` does.
async fn login(app: &TestApp, name: &str, scope: &str) -> Client {
    app.user(name).await;
    token_for(app, name, scope).await
}

pub(crate) async fn token_for(app: &TestApp, name: &str, scope: &str) -> Client {
    let anon = Client::anonymous(app);
    let reg = anon
        .post_form(
            "/api/v1/apps",
            &[
                ("client_name", "test app"),
                ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
                ("scopes", "read write follow"),
            ],
        )
        .await
        .ok();
    let token = anon
        .post_form(
            "/oauth/token",
            &[
                ("grant_type", "password"),
                ("client_id", reg["client_id"].as_str().unwrap()),
                ("client_secret", reg["client_secret"].as_str().unwrap()),
                ("username", name),
                ("password", PASSWORD),
                ("scope", scope),
            ],
        )
        .await
        .ok();
    anon.with_token(token["access_token"].as_str().unwrap())
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_owned()
}

#[tokio::test]
async fn stories_and_replies_through_the_api() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write follow").await;
    let bob = login(&app, "bob", "read write follow").await;

    // The first line is the headline, the rest the body; the hashtag is a tag.
    let story = alice
        .status("Rust 2027 is out #Rust\n\nMany new things.\nRead all about it.")
        .await;
    let story_id = id_of(&story);
    assert_eq!(story["tidings"]["headline"], "Rust 2027 is out #Rust");
    assert_eq!(story["tags"][0]["name"], "rust");
    assert!(
        story["tags"][0]["url"]
            .as_str()
            .unwrap()
            .ends_with("/tags/rust")
    );
    let content = story["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p><strong>Rust 2027 is out #Rust</strong></p><p>Many new things.<br>Read all about it.</p>"),
        "{content}"
    );
    assert_eq!(story["account"]["acct"], "alice");
    assert_eq!(story["account"]["username"], "alice");
    assert_eq!(story["visibility"], "public");
    assert_eq!(story["in_reply_to_id"], Value::Null);
    assert_eq!(story["favourites_count"], 0);
    assert_eq!(story["reblog"], Value::Null);
    assert!(
        story["uri"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/stories/{story_id}"))
    );
    // The same story on the web page.
    let page = app.browser().get(&format!("/stories/{story_id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Rust 2027 is out");
    page.assert_contains("Many new things.");

    // A one-line status is a story without a body; `headline` is our extension.
    let short = alice.status("Just a headline").await;
    assert_eq!(short["tidings"]["headline"], "Just a headline");
    assert_eq!(short["content"], "<p><strong>Just a headline</strong></p>");
    let titled = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": "Body only.\nSecond line.", "headline": "Given headline", "spoiler_text": "cw" }),
        )
        .await
        .ok();
    assert_eq!(titled["tidings"]["headline"], "Given headline");
    assert_eq!(titled["spoiler_text"], "cw");
    assert_eq!(titled["sensitive"], true);
    assert!(
        titled["content"]
            .as_str()
            .unwrap()
            .contains("Body only.<br>Second line.")
    );

    // Replies, nested; mentions resolve to local accounts.
    let r1 = bob.reply(&story_id, "Great news @alice!").await;
    let r1_id = id_of(&r1);
    assert_eq!(r1["in_reply_to_id"], story_id.as_str());
    assert_eq!(r1["in_reply_to_account_id"], story["account"]["id"]);
    assert_eq!(r1["tidings"]["headline"], Value::Null);
    assert_eq!(r1["tidings"]["thread_root_id"], story_id.as_str());
    assert_eq!(r1["mentions"][0]["acct"], "alice");
    assert_eq!(r1["mentions"][0]["id"], story["account"]["id"]);
    let r2 = alice.reply(&r1_id, "Thanks!").await;
    let r2_id = id_of(&r2);
    let r3 = bob.reply(&story_id, "Second thought").await;
    let r3_id = id_of(&r3);

    let ctx = bob
        .get(&format!("/api/v1/statuses/{r2_id}/context"))
        .await
        .ok();
    assert_eq!(ids(&ctx["ancestors"]), [story_id.clone(), r1_id.clone()]);
    assert!(ctx["descendants"].as_array().unwrap().is_empty());
    let ctx = Client::anonymous(&app)
        .get(&format!("/api/v1/statuses/{story_id}/context"))
        .await
        .ok();
    assert!(ctx["ancestors"].as_array().unwrap().is_empty());
    assert_eq!(
        ids(&ctx["descendants"]),
        [r1_id.clone(), r2_id.clone(), r3_id.clone()]
    );
    // replies_count: the thread for a story (as on the web), direct replies for a reply.
    let got = bob.get(&format!("/api/v1/statuses/{story_id}")).await.ok();
    assert_eq!(got["replies_count"], 3);
    let got = bob.get(&format!("/api/v1/statuses/{r1_id}")).await.ok();
    assert_eq!(got["replies_count"], 1);

    // Edit: the headline comes from the first line again; the source round-trips.
    let edited = alice
        .put(
            &format!("/api/v1/statuses/{story_id}"),
            json!({ "status": "Rust 2027 is here #Rust\n\nEven more." }),
        )
        .await
        .ok();
    assert_eq!(edited["tidings"]["headline"], "Rust 2027 is here #Rust");
    assert!(edited["edited_at"].is_string());
    let source = alice
        .get(&format!("/api/v1/statuses/{story_id}/source"))
        .await
        .ok();
    assert_eq!(source["text"], "Rust 2027 is here #Rust\n\nEven more.");
    // Only the author edits or deletes.
    let res = bob
        .put(
            &format!("/api/v1/statuses/{story_id}"),
            json!({ "status": "mine now" }),
        )
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        bob.delete(&format!("/api/v1/statuses/{story_id}"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let edited_reply = alice
        .put(
            &format!("/api/v1/statuses/{r2_id}"),
            json!({ "status": "Thanks a lot! #gratitude" }),
        )
        .await
        .ok();
    assert!(
        edited_reply["content"]
            .as_str()
            .unwrap()
            .contains("Thanks a lot!")
    );
    assert_eq!(edited_reply["tags"][0]["name"], "gratitude");

    // Delete answers with the source text; the status is then gone from the API and the
    // web thread keeps a placeholder.
    let deleted = bob.delete(&format!("/api/v1/statuses/{r3_id}")).await.ok();
    assert_eq!(deleted["text"], "Second thought");
    let res = bob.get(&format!("/api/v1/statuses/{r3_id}")).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(res.json["error"].is_string());
    let ctx = bob
        .get(&format!("/api/v1/statuses/{story_id}/context"))
        .await
        .ok();
    assert_eq!(ids(&ctx["descendants"]), [r1_id, r2_id]);
}

#[tokio::test]
async fn favourites_downvotes_reactions_and_bookmarks() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write").await;
    let bob = login(&app, "bob", "read write").await;
    let carol = login(&app, "carol", "read write").await;
    let story = alice.status("Vote on me\nPlease.").await;
    let id = id_of(&story);

    // Favourite = up-vote: the count, the viewer's flag and the web's popularity move.
    let fav = bob
        .post(&format!("/api/v1/statuses/{id}/favourite"), json!({}))
        .await
        .ok();
    assert_eq!(fav["favourites_count"], 1);
    assert_eq!(fav["favourited"], true);
    assert_eq!(fav["tidings"]["popularity"], 100);
    assert_eq!(fav["tidings"]["my_vote"], 1);
    let page = app.browser().get(&format!("/stories/{id}")).await;
    page.assert_contains("100% liked");
    // Twice is once.
    let fav = bob
        .post(&format!("/api/v1/statuses/{id}/favourite"), json!({}))
        .await
        .ok();
    assert_eq!(fav["favourites_count"], 1);

    // Our down-vote extension.
    let down = carol
        .post(&format!("/api/v1/statuses/{id}/downvote"), json!({}))
        .await
        .ok();
    assert_eq!(down["favourites_count"], 1);
    assert_eq!(down["favourited"], false);
    assert_eq!(down["tidings"]["downvotes_count"], 1);
    assert_eq!(down["tidings"]["score"], 0);
    assert_eq!(down["tidings"]["popularity"], 50);
    assert_eq!(down["tidings"]["my_vote"], -1);
    let page = app.browser().get(&format!("/stories/{id}")).await;
    page.assert_contains("50% liked");
    // Unfavourite does not take back a down-vote.
    let still = carol
        .post(&format!("/api/v1/statuses/{id}/unfavourite"), json!({}))
        .await
        .ok();
    assert_eq!(still["tidings"]["my_vote"], -1);
    let undone = carol
        .post(&format!("/api/v1/statuses/{id}/undownvote"), json!({}))
        .await
        .ok();
    assert_eq!(undone["tidings"]["downvotes_count"], 0);
    assert_eq!(undone["tidings"]["my_vote"], 0);

    let by = alice
        .get(&format!("/api/v1/statuses/{id}/favourited_by"))
        .await
        .ok();
    assert_eq!(by[0]["acct"], "bob");
    let favs = bob.get("/api/v1/favourites").await.ok();
    assert_eq!(ids(&favs), [id.as_str()]);
    let unfav = bob
        .post(&format!("/api/v1/statuses/{id}/unfavourite"), json!({}))
        .await
        .ok();
    assert_eq!(unfav["favourites_count"], 0);
    assert_eq!(unfav["favourited"], false);
    assert!(
        bob.get("/api/v1/favourites")
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Pleroma-style emoji reactions, at the top level and under `pleroma`.
    let emoji = "%F0%9F%8E%89"; // 🎉
    let reacted = bob
        .put(
            &format!("/api/v1/pleroma/statuses/{id}/reactions/{emoji}"),
            json!({}),
        )
        .await
        .ok();
    let expected = json!([{ "name": "🎉", "count": 1, "me": true }]);
    assert_eq!(reacted["emoji_reactions"], expected);
    assert_eq!(reacted["pleroma"]["emoji_reactions"], expected);
    let list = alice
        .get(&format!("/api/v1/pleroma/statuses/{id}/reactions"))
        .await
        .ok();
    assert_eq!(list[0]["name"], "🎉");
    assert_eq!(list[0]["me"], false);
    assert_eq!(list[0]["accounts"][0]["acct"], "bob");
    let res = bob
        .put(
            &format!("/api/v1/pleroma/statuses/{id}/reactions/notanemoji"),
            json!({}),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unreacted = bob
        .delete(&format!("/api/v1/pleroma/statuses/{id}/reactions/{emoji}"))
        .await
        .ok();
    assert_eq!(unreacted["emoji_reactions"], json!([]));

    // Bookmarks are private to the viewer.
    let marked = carol
        .post(&format!("/api/v1/statuses/{id}/bookmark"), json!({}))
        .await
        .ok();
    assert_eq!(marked["bookmarked"], true);
    let other = bob.get(&format!("/api/v1/statuses/{id}")).await.ok();
    assert_eq!(other["bookmarked"], false);
    assert_eq!(
        ids(&carol.get("/api/v1/bookmarks").await.ok()),
        [id.as_str()]
    );
    let unmarked = carol
        .post(&format!("/api/v1/statuses/{id}/unbookmark"), json!({}))
        .await
        .ok();
    assert_eq!(unmarked["bookmarked"], false);
    assert!(
        carol
            .get("/api/v1/bookmarks")
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn timelines_page_with_link_headers() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write follow").await;
    let bob = login(&app, "bob", "read write follow").await;
    let mut made = Vec::new();
    for i in 1..=5 {
        made.push(id_of(&alice.status(&format!("Story {i} #paging")).await));
    }
    made.reverse(); // newest first
    let anon = Client::anonymous(&app);

    let first = anon
        .get("/api/v1/timelines/public?local=true&limit=2")
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(ids(&first.json), made[..2]);
    let link = first.link();
    assert!(
        link.contains("rel=\"next\"") && link.contains("rel=\"prev\""),
        "{link}"
    );
    assert!(link.contains("local=true"), "{link}");
    let max_id = first.link_param("next", "max_id").unwrap();
    assert_eq!(max_id, made[1]);
    let second = anon
        .get(&format!(
            "/api/v1/timelines/public?local=true&limit=2&max_id={max_id}"
        ))
        .await
        .ok();
    assert_eq!(ids(&second), made[2..4]);
    // min_id: the page just after it, still newest first.
    let oldest = &made[4];
    let after = anon
        .get(&format!("/api/v1/timelines/public?limit=2&min_id={oldest}"))
        .await
        .ok();
    assert_eq!(ids(&after), [made[2].clone(), made[3].clone()]);
    // since_id: the newest ones above it.
    let since = anon
        .get(&format!(
            "/api/v1/timelines/public?limit=2&since_id={oldest}"
        ))
        .await
        .ok();
    assert_eq!(ids(&since), made[..2]);
    let prev = first.link_param("prev", "min_id").unwrap();
    assert_eq!(prev, made[0]);
    let none = anon
        .get(&format!("/api/v1/timelines/public?min_id={prev}"))
        .await;
    assert!(none.json.as_array().unwrap().is_empty());
    assert_eq!(none.link(), "");
    // Remote only: nothing here.
    let remote = anon.get("/api/v1/timelines/public?remote=true").await.ok();
    assert!(remote.as_array().unwrap().is_empty());

    // Replies are in the public timeline too; the tag timeline is case-insensitive.
    let reply = bob.reply(&made[0], "A reply #Paging").await;
    let public = anon.get("/api/v1/timelines/public?limit=1").await.ok();
    assert_eq!(ids(&public), [id_of(&reply)]);
    let tagged = anon.get("/api/v1/timelines/tag/PAGING?limit=40").await.ok();
    assert_eq!(tagged.as_array().unwrap().len(), 6);
    let none = anon.get("/api/v1/timelines/tag/nothing").await.ok();
    assert!(none.as_array().unwrap().is_empty());

    // Home: one's own posts, then those of the people one follows.
    let home = bob.get("/api/v1/timelines/home").await.ok();
    assert_eq!(ids(&home), [id_of(&reply)]);
    let alice_id = id_of(&alice.get("/api/v1/accounts/verify_credentials").await.ok());
    bob.post(&format!("/api/v1/accounts/{alice_id}/follow"), json!({}))
        .await
        .ok();
    let home = bob.get("/api/v1/timelines/home?limit=3").await;
    let mut want = vec![id_of(&reply)];
    want.extend_from_slice(&made[..2]);
    assert_eq!(ids(&home.json), want);
    assert!(home.link_param("next", "max_id").is_some());
    assert_eq!(
        anon.get("/api/v1/timelines/home").await.status,
        StatusCode::UNAUTHORIZED
    );

    // An account's statuses, with and without replies.
    let bob_id = id_of(&bob.get("/api/v1/accounts/verify_credentials").await.ok());
    let all = anon
        .get(&format!("/api/v1/accounts/{bob_id}/statuses"))
        .await
        .ok();
    assert_eq!(all.as_array().unwrap().len(), 1);
    let stories = anon
        .get(&format!(
            "/api/v1/accounts/{bob_id}/statuses?exclude_replies=true"
        ))
        .await
        .ok();
    assert!(stories.as_array().unwrap().is_empty());
    let alice_page = anon
        .get(&format!("/api/v1/accounts/{alice_id}/statuses?limit=2"))
        .await;
    assert_eq!(ids(&alice_page.json), made[..2]);
    assert_eq!(
        alice_page.link_param("next", "max_id").as_deref(),
        Some(made[1].as_str())
    );
}

#[tokio::test]
async fn idempotency_scopes_and_errors() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write").await;
    let post = |key: &'static str, text: &'static str| {
        let req = alice
            .http
            .post(format!("{}/api/v1/statuses", alice.base))
            .header("Idempotency-Key", key)
            .form(&[("status", text)]);
        alice.send(req)
    };
    let first = post("key-1", "Once only").await.ok();
    let again = post("key-1", "Once only").await.ok();
    assert_eq!(id_of(&first), id_of(&again));
    let other = post("key-2", "Once only").await.ok();
    assert_ne!(id_of(&first), id_of(&other));

    // No token: 401; an unknown token: 401; a read-only token cannot post: 403.
    let anon = Client::anonymous(&app);
    let res = anon
        .post("/api/v1/statuses", json!({ "status": "hi" }))
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    assert!(res.json["error"].is_string(), "{}", res.json);
    let res = anon
        .with_token("not-a-token")
        .get("/api/v1/accounts/verify_credentials")
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let reader = token_for(&app, "alice", "read").await;
    let res = reader
        .post("/api/v1/statuses", json!({ "status": "hi" }))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert!(res.json["error"].is_string());
    reader.get("/api/v1/timelines/home").await.ok();

    // Unknown statuses: 404, also for ids that are not numbers.
    for path in ["/api/v1/statuses/12345", "/api/v1/statuses/abc"] {
        let res = alice.get(path).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
        assert!(res.json["error"].is_string());
    }
    let res = alice
        .post("/api/v1/statuses/12345/favourite", json!({}))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let res = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": "reply to nothing", "in_reply_to_id": "12345" }),
        )
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // Validation: 422 with the reason.
    let res = alice
        .post("/api/v1/statuses", json!({ "status": "  " }))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.json["error"]
            .as_str()
            .unwrap()
            .contains("can't be blank"),
        "{}",
        res.json
    );
    let res = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": "secret", "visibility": "everyone" }),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let long = "x".repeat(30_000);
    let res = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": format!("Headline\n{long}") }),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);

    // Unlisted stories are kept but not in the public timeline.
    let unlisted = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": "Quiet one", "visibility": "unlisted" }),
        )
        .await
        .ok();
    assert_eq!(unlisted["visibility"], "unlisted");
    let public = anon.get("/api/v1/timelines/public").await.ok();
    assert!(!ids(&public).contains(&id_of(&unlisted)));
    assert_eq!(
        anon.get(&format!("/api/v1/statuses/{}", id_of(&unlisted)))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn follows_notifications_and_accounts() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write follow").await;
    let bob = login(&app, "bob", "read write follow").await;
    let me = alice.get("/api/v1/accounts/verify_credentials").await.ok();
    let alice_id = id_of(&me);
    assert_eq!(me["acct"], "alice");
    assert_eq!(me["source"]["privacy"], "public");
    assert!(
        me["avatar"]
            .as_str()
            .unwrap()
            .ends_with("/static/avatar.png")
    );
    let bob_id = id_of(&bob.get("/api/v1/accounts/verify_credentials").await.ok());

    // The default avatar is served.
    let png = reqwest::get(format!("{}/static/avatar.png", app.base))
        .await
        .unwrap();
    assert_eq!(png.status(), StatusCode::OK);
    assert_eq!(png.headers()["content-type"], "image/png");

    // Profile edits show on the web profile.
    let updated = alice
        .patch_form(
            "/api/v1/accounts/update_credentials",
            &[("display_name", "Alice A."), ("note", "Hello #world")],
        )
        .await
        .ok();
    assert_eq!(updated["display_name"], "Alice A.");
    assert_eq!(updated["source"]["note"], "Hello #world");
    assert!(updated["note"].as_str().unwrap().contains("/tags/world"));
    app.browser()
        .get("/@alice")
        .await
        .assert_contains("Alice A.");

    // Follow, relationships, counts, lists.
    let rel = bob
        .post(&format!("/api/v1/accounts/{alice_id}/follow"), json!({}))
        .await
        .ok();
    assert_eq!(rel["following"], true);
    assert_eq!(rel["followed_by"], false);
    let rel = bob
        .post(&format!("/api/v1/accounts/{alice_id}/follow"), json!({}))
        .await
        .ok();
    assert_eq!(rel["following"], true);
    let rels = alice
        .get(&format!(
            "/api/v1/accounts/relationships?id[]={bob_id}&id[]={alice_id}"
        ))
        .await
        .ok();
    assert_eq!(rels[0]["id"], bob_id.as_str());
    assert_eq!(rels[0]["followed_by"], true);
    assert_eq!(rels[0]["following"], false);
    let account = Client::anonymous(&app)
        .get(&format!("/api/v1/accounts/{alice_id}"))
        .await
        .ok();
    assert_eq!(account["followers_count"], 1);
    assert_eq!(account["following_count"], 0);
    let followers = alice
        .get(&format!("/api/v1/accounts/{alice_id}/followers"))
        .await
        .ok();
    assert_eq!(followers[0]["acct"], "bob");
    let following = alice
        .get(&format!("/api/v1/accounts/{bob_id}/following"))
        .await
        .ok();
    assert_eq!(following[0]["acct"], "alice");
    let res = bob
        .post(&format!("/api/v1/accounts/{bob_id}/follow"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let found = Client::anonymous(&app)
        .get("/api/v1/accounts/lookup?acct=@Alice")
        .await
        .ok();
    assert_eq!(id_of(&found), alice_id);
    assert_eq!(
        Client::anonymous(&app)
            .get("/api/v1/accounts/lookup?acct=nobody")
            .await
            .status,
        StatusCode::NOT_FOUND
    );

    // Notifications: follow, reply (as a mention), favourite, reaction.
    let story = alice.status("Notify me\nbody").await;
    let story_id = id_of(&story);
    let reply = bob.reply(&story_id, "A reply").await;
    bob.post(&format!("/api/v1/statuses/{story_id}/favourite"), json!({}))
        .await
        .ok();
    bob.post(&format!("/api/v1/statuses/{story_id}/downvote"), json!({}))
        .await
        .ok();
    bob.put(
        &format!("/api/v1/pleroma/statuses/{story_id}/reactions/%F0%9F%94%A5"),
        json!({}),
    )
    .await
    .ok();
    let list = alice.get("/api/v1/notifications").await;
    assert_eq!(list.status, StatusCode::OK);
    let types: Vec<&str> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["type"].as_str().unwrap())
        .collect();
    // Newest first; the down-vote is not listed.
    assert_eq!(
        types,
        ["pleroma:emoji_reaction", "favourite", "mention", "follow"],
        "{}",
        list.json
    );
    let n = &list.json;
    assert_eq!(n[0]["emoji"], "🔥");
    assert_eq!(n[0]["account"]["acct"], "bob");
    assert_eq!(n[2]["status"]["id"], id_of(&reply).as_str());
    assert_eq!(n[2]["status"]["in_reply_to_id"], story_id.as_str());
    assert_eq!(n[3]["status"], Value::Null);
    let mentions = alice
        .get("/api/v1/notifications?types[]=mention")
        .await
        .ok();
    assert_eq!(mentions.as_array().unwrap().len(), 1);
    let others = alice
        .get("/api/v1/notifications?exclude_types[]=mention&exclude_types[]=follow&limit=1")
        .await;
    assert_eq!(others.json.as_array().unwrap().len(), 1);
    assert_eq!(others.json[0]["type"], "pleroma:emoji_reaction");
    let next = others.link_param("next", "max_id").unwrap();
    let rest = alice
        .get(&format!(
            "/api/v1/notifications?exclude_types[]=mention&exclude_types[]=follow&max_id={next}"
        ))
        .await
        .ok();
    assert_eq!(rest[0]["type"], "favourite");
    assert_eq!(rest.as_array().unwrap().len(), 1);
    let one_id = id_of(&n[3]);
    let one = alice
        .get(&format!("/api/v1/notifications/{one_id}"))
        .await
        .ok();
    assert_eq!(one["type"], "follow");
    assert_eq!(
        bob.get(&format!("/api/v1/notifications/{one_id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    alice
        .post_form(&format!("/api/v1/notifications/{one_id}/dismiss"), &[])
        .await
        .ok();
    assert_eq!(
        alice
            .get("/api/v1/notifications")
            .await
            .ok()
            .as_array()
            .unwrap()
            .len(),
        3
    );
    alice
        .post_form("/api/v1/notifications/clear", &[])
        .await
        .ok();
    assert!(
        alice
            .get("/api/v1/notifications")
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );

    // Markers: stored per timeline, version counts up.
    let set = alice
        .post_form("/api/v1/markers", &[("home[last_read_id]", &story_id)])
        .await
        .ok();
    assert_eq!(set["home"]["last_read_id"], story_id.as_str());
    assert_eq!(set["home"]["version"], 1);
    let set = alice
        .post(
            "/api/v1/markers",
            json!({ "home": { "last_read_id": story_id } }),
        )
        .await
        .ok();
    assert_eq!(set["home"]["version"], 2);
    let got = alice
        .get("/api/v1/markers?timeline[]=home&timeline[]=notifications")
        .await
        .ok();
    assert_eq!(got["home"]["version"], 2);
    assert!(got.get("notifications").is_none());

    // Unfollow.
    let rel = bob
        .post(&format!("/api/v1/accounts/{alice_id}/unfollow"), json!({}))
        .await
        .ok();
    assert_eq!(rel["following"], false);
    let account = bob.get(&format!("/api/v1/accounts/{alice_id}")).await.ok();
    assert_eq!(account["followers_count"], 0);
    assert_eq!(account["statuses_count"], 1);
}

#[tokio::test]
async fn search_and_reports() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write").await;
    let bob = login(&app, "bob", "read write").await;
    let story = alice
        .status("Volcanic eruption reported #Geology\nAsh everywhere.")
        .await;
    let story_id = id_of(&story);
    let reply = bob.reply(&story_id, "The volcanic ash reached us").await;

    let found = bob.get("/api/v2/search?q=volcanic").await.ok();
    let mut got = ids(&found["statuses"]);
    got.sort();
    let mut want = vec![story_id.clone(), id_of(&reply)];
    want.sort();
    assert_eq!(got, want);
    let found = bob
        .get("/api/v2/search?q=alice&type=accounts&resolve=true")
        .await
        .ok();
    assert_eq!(found["accounts"][0]["acct"], "alice");
    assert!(found["statuses"].as_array().unwrap().is_empty());
    let found = bob.get("/api/v2/search?q=%23geo&type=hashtags").await.ok();
    assert_eq!(found["hashtags"][0]["name"], "Geology");
    let found = bob.get("/api/v2/search?q=").await.ok();
    assert!(found["statuses"].as_array().unwrap().is_empty());
    assert_eq!(
        Client::anonymous(&app)
            .get("/api/v2/search?q=x")
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    // Reports go to the same moderation queue as the web's.
    let alice_id = story["account"]["id"].as_str().unwrap().to_owned();
    let report = bob
        .post_form(
            "/api/v1/reports",
            &[
                ("account_id", alice_id.as_str()),
                ("status_ids[]", story_id.as_str()),
                ("comment", "Spam about volcanoes"),
                ("category", "spam"),
            ],
        )
        .await
        .ok();
    assert_eq!(report["status_ids"], json!([story_id]));
    assert_eq!(report["target_account"]["acct"], "alice");
    assert_eq!(report["category"], "spam");
    let stored =
        tidings::service::reports::get(&app.svc, report["id"].as_str().unwrap().parse().unwrap())
            .await
            .unwrap();
    assert_eq!(stored.reason, "Spam about volcanoes");
    assert_eq!(stored.target_post_id, Some(story_id.parse().unwrap()));
    // An account report without a comment is filled in; one's own account cannot be.
    let report = bob
        .post("/api/v1/reports", json!({ "account_id": alice_id }))
        .await
        .ok();
    assert_eq!(report["status_ids"], json!([]));
    let res = alice
        .post("/api/v1/reports", json!({ "account_id": alice_id }))
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A status of another account does not fit.
    let res = bob
        .post(
            "/api/v1/reports",
            json!({ "account_id": alice_id, "status_ids": [id_of(&reply)] }),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A report names at most 100 statuses: a longer list is refused before it is looked up.
    let many: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
    let res = bob
        .post(
            "/api/v1/reports",
            json!({ "account_id": alice_id, "status_ids": many }),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.json.to_string().contains("at most 100"), "{}", res.json);
    let reader = token_for(&app, "bob", "read").await;
    let res = reader
        .post("/api/v1/reports", json!({ "account_id": alice_id }))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn one_idempotency_key_one_post_under_concurrency() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write").await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let c = alice.clone();
        tasks.push(tokio::spawn(async move {
            let req = c
                .http
                .post(format!("{}/api/v1/statuses", c.base))
                .header("Idempotency-Key", "same-key")
                .json(&json!({ "status": "Posted once\nby a flaky app" }));
            c.send(req).await
        }));
    }
    let mut got = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
        got.push(id_of(&r.json));
    }
    got.dedup();
    assert_eq!(got.len(), 1, "{got:?}");
    let public = alice.get("/api/v1/timelines/public").await.ok();
    assert_eq!(ids(&public), got);
}

#[tokio::test]
async fn moderation_hides_posts_from_the_api() {
    use tidings::service::{accounts, moderation};
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write").await;
    let bob = login(&app, "bob", "read write").await;
    let admin = accounts::register(
        &app.svc,
        accounts::Registration {
            username: "boss".into(),
            password: PASSWORD.into(),
            is_admin: true,
        },
    )
    .await
    .unwrap();
    let story = id_of(&alice.status("To be removed\nbody").await);
    let reply = id_of(&bob.reply(&story, "A reply in the thread").await);
    let other = id_of(&bob.status("Bob's own story").await);
    let anon = Client::anonymous(&app);
    assert_eq!(
        ids(&anon.get("/api/v1/timelines/public").await.ok()),
        [other.clone(), reply.clone(), story.clone()]
    );

    // Removing a story hides its whole thread.
    moderation::remove_post(&app.svc, &admin, story.parse().unwrap(), None, "")
        .await
        .unwrap();
    for id in [&story, &reply] {
        let res = anon.get(&format!("/api/v1/statuses/{id}")).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{id}");
    }
    assert_eq!(
        anon.get(&format!("/api/v1/statuses/{reply}/context"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let public = anon.get("/api/v1/timelines/public").await;
    assert_eq!(ids(&public.json), [other.as_str()]);
    let res = bob
        .post(&format!("/api/v1/statuses/{story}/favourite"), json!({}))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // A suspended account's posts leave every list, and its token stops working.
    let bob_id = id_of(&bob.get("/api/v1/accounts/verify_credentials").await.ok());
    moderation::suspend_account(&app.svc, &admin, bob_id.parse().unwrap(), None, "")
        .await
        .unwrap();
    assert!(
        anon.get("/api/v1/timelines/public")
            .await
            .ok()
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        anon.get(&format!("/api/v1/statuses/{other}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.get("/api/v1/accounts/verify_credentials").await.status,
        StatusCode::UNAUTHORIZED
    );
    let account = anon.get(&format!("/api/v1/accounts/{bob_id}")).await.ok();
    assert_eq!(account["suspended"], true);
}

#[tokio::test]
async fn parallel_follows_and_bookmarks_count_once() {
    let app = TestApp::spawn().await;
    let alice = login(&app, "alice", "read write follow").await;
    let bob = login(&app, "bob", "read write follow").await;
    let alice_id = id_of(&alice.get("/api/v1/accounts/verify_credentials").await.ok());
    let story = id_of(&alice.status("Bookmark me").await);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let c = bob.clone();
        let path = if i % 2 == 0 {
            format!("/api/v1/accounts/{alice_id}/follow")
        } else {
            format!("/api/v1/statuses/{story}/bookmark")
        };
        tasks.push(tokio::spawn(async move { c.post(&path, json!({})).await }));
    }
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, StatusCode::OK, "{}", r.json);
    }
    let account = bob.get(&format!("/api/v1/accounts/{alice_id}")).await.ok();
    assert_eq!(account["followers_count"], 1);
    assert_eq!(ids(&bob.get("/api/v1/bookmarks").await.ok()), [story]);
    let list = alice.get("/api/v1/notifications?types[]=follow").await.ok();
    assert_eq!(list.as_array().unwrap().len(), 1);
}
