//! Discovery and the read-only ActivityPub documents, over the real router: the shapes
//! Mastodon and other peers rely on (WebFinger round trip, NodeInfo, actors with their
//! keys, content negotiation, notes, collections, tombstones).

use crate::common::{Browser, TestApp};
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, CONTENT_TYPE, LOCATION, VARY};
use serde_json::Value;
use tidings::service::{accounts, relationships};

const AP: &str = "application/activity+json";
const LD: &str = "application/ld+json; profile=\"https://www.w3.org/ns/activitystreams\"";
const HTML: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
const PUBLIC: &str = "https://www.w3.org/ns/activitystreams#Public";
/// Ids are built from the configured domain; requests go to the loopback port.
const ORIGIN: &str = "http://tidings.test";

struct Answer {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Answer {
    fn content_type(&self) -> &str {
        self.headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    #[track_caller]
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }
}

/// GETs a path (or one of our absolute ids) with an `Accept` header.
async fn get(app: &TestApp, path_or_id: &str, accept: &str) -> Answer {
    let path = path_or_id.strip_prefix(ORIGIN).unwrap_or(path_or_id);
    let res = app
        .browser()
        .client
        .get(format!("{}{path}", app.base))
        .header(ACCEPT, accept)
        .send()
        .await
        .unwrap();
    Answer {
        status: res.status(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap(),
    }
}

#[track_caller]
fn assert_activity_json(a: &Answer) {
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type(), "application/activity+json; charset=utf-8");
}

async fn webfinger(app: &TestApp, resource: &str) -> Answer {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("resource", resource)
        .finish();
    get(
        app,
        &format!("/.well-known/webfinger?{q}"),
        "application/jrd+json",
    )
    .await
}

fn self_links(jrd: &Value) -> Vec<&Value> {
    jrd["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["rel"] == "self")
        .collect()
}

async fn reply(b: &mut Browser, parent: i64, body: &str) -> i64 {
    let res = b
        .post_form(&format!("/posts/{parent}/reply"), &[("body", body)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    res.location()
        .strip_prefix("/replies/")
        .and_then(|id| id.parse().ok())
        .unwrap()
}

#[tokio::test]
async fn webfinger_round_trip() {
    let app = TestApp::spawn().await;
    app.user("Alice").await;

    let wf = webfinger(&app, "acct:alice@TIDINGS.test").await;
    assert_eq!(wf.status, StatusCode::OK, "{}", wf.body);
    assert!(wf.content_type().starts_with("application/jrd+json"));
    let jrd = wf.json();
    assert_eq!(jrd["subject"], "acct:Alice@tidings.test");
    let links = self_links(&jrd);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0]["type"], "application/activity+json");
    let actor_id = links[0]["href"].as_str().unwrap().to_owned();
    assert_eq!(actor_id, "http://tidings.test/users/Alice");
    assert_eq!(
        jrd["aliases"],
        serde_json::json!([actor_id, "http://tidings.test/@Alice"])
    );
    assert!(
        jrd["links"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["rel"] == "http://webfinger.net/rel/profile-page"
                && l["type"] == "text/html"
                && l["href"] == "http://tidings.test/@Alice")
    );

    // Mastodon's check: preferredUsername + host of the id → WebFinger → the same id.
    let actor = get(&app, &actor_id, AP).await;
    assert_activity_json(&actor);
    let actor = actor.json();
    let host = url::Url::parse(actor["id"].as_str().unwrap())
        .unwrap()
        .host_str()
        .unwrap()
        .to_owned();
    let again = webfinger(
        &app,
        &format!(
            "acct:{}@{host}",
            actor["preferredUsername"].as_str().unwrap()
        ),
    )
    .await
    .json();
    assert_eq!(self_links(&again)[0]["href"], actor["id"]);

    // The actor and profile URLs name the same account.
    for resource in [
        "http://tidings.test/users/alice",
        "https://tidings.test/@Alice",
    ] {
        let jrd = webfinger(&app, resource).await.json();
        assert_eq!(jrd["subject"], "acct:Alice@tidings.test", "{resource}");
    }
}

#[tokio::test]
async fn webfinger_rejects_unknown_foreign_and_garbled_resources() {
    let app = TestApp::spawn().await;
    app.user("alice").await;

    let missing = get(&app, "/.well-known/webfinger", "application/jrd+json").await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.json()["error"].is_string());
    for garbled in [
        "alice",
        "acct:",
        "acct:@tidings.test",
        "https://tidings.test/stories/1",
    ] {
        let a = webfinger(&app, garbled).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{garbled}: {}", a.body);
    }
    for unknown in [
        "acct:nobody@tidings.test",
        "acct:alice@other.example",
        "https://other.example/users/alice",
    ] {
        let a = webfinger(&app, unknown).await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{unknown}: {}", a.body);
    }

    // The instance actor has an acct too.
    let jrd = webfinger(&app, "acct:tidings.test@tidings.test")
        .await
        .json();
    assert_eq!(jrd["subject"], "acct:tidings.test@tidings.test");
    assert_eq!(self_links(&jrd)[0]["href"], "http://tidings.test/actor");
}

#[tokio::test]
async fn host_meta_points_to_webfinger() {
    let app = TestApp::spawn().await;
    let template = "http://tidings.test/.well-known/webfinger?resource={uri}";
    let xml = get(&app, "/.well-known/host-meta", "*/*").await;
    assert_eq!(xml.status, StatusCode::OK);
    assert!(xml.content_type().starts_with("application/xrd+xml"));
    assert!(
        xml.body.contains(&format!("template=\"{template}\"")),
        "{}",
        xml.body
    );
    let json = get(&app, "/.well-known/host-meta.json", "*/*").await.json();
    assert_eq!(json["links"][0]["rel"], "lrdd");
    assert_eq!(json["links"][0]["template"], template);
}

#[tokio::test]
async fn nodeinfo_counts_users_and_posts() {
    let app = TestApp::spawn().await;
    let links = get(&app, "/.well-known/nodeinfo", "*/*").await.json();
    let hrefs: Vec<&str> = links["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["href"].as_str().unwrap())
        .collect();
    assert_eq!(
        hrefs,
        [
            "http://tidings.test/nodeinfo/2.0",
            "http://tidings.test/nodeinfo/2.1"
        ]
    );
    assert_eq!(
        links["links"][0]["rel"],
        "http://nodeinfo.diaspora.software/ns/schema/2.0"
    );

    let empty = get(&app, "/nodeinfo/2.0", "*/*").await.json();
    assert_eq!(empty["usage"]["users"]["total"], 0);
    assert_eq!(empty["usage"]["localPosts"], 0);

    let mut alice = app.user("alice").await;
    app.user("bob").await;
    let story = alice.post_story("First", "Hello").await;
    alice.post_story("Second", "Again").await;
    reply(&mut alice, story, "A reply").await;
    let gone = alice.post_story("Third", "Soon deleted").await;
    let res = alice
        .post_form(&format!("/stories/{gone}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);

    let v20 = get(&app, "/nodeinfo/2.0", "*/*").await;
    assert_eq!(v20.status, StatusCode::OK);
    assert_eq!(
        v20.content_type(),
        "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.0#\""
    );
    let v20 = v20.json();
    assert_eq!(v20["version"], "2.0");
    assert_eq!(v20["software"]["name"], "tidings");
    assert_eq!(v20["software"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v20["protocols"], serde_json::json!(["activitypub"]));
    assert_eq!(v20["openRegistrations"], true);
    assert_eq!(v20["usage"]["users"]["total"], 2);
    assert_eq!(v20["usage"]["users"]["activeMonth"], 2);
    assert_eq!(v20["usage"]["users"]["activeHalfyear"], 2);
    assert_eq!(v20["usage"]["localPosts"], 3, "two stories and a reply");
    assert!(v20["metadata"]["nodeName"].is_string());

    let v21 = get(&app, "/nodeinfo/2.1", "*/*").await;
    assert!(v21.content_type().contains("schema/2.1#"));
    let v21 = v21.json();
    assert_eq!(v21["version"], "2.1");
    assert_eq!(v21["usage"], v20["usage"]);
}

#[tokio::test]
async fn actor_document_has_what_mastodon_reads() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("Alice").await;
    let res = alice
        .post_form(
            "/settings",
            &[("display_name", "Alice A."), ("bio", "I write about #rust")],
        )
        .await;
    assert!(res.status().is_redirection(), "{}", res.body);

    for accept in [AP, LD] {
        let a = get(&app, "/users/alice", accept).await;
        assert_activity_json(&a);
        let actor = a.json();
        let id = "http://tidings.test/users/Alice";
        assert_eq!(
            actor["@context"][0],
            "https://www.w3.org/ns/activitystreams"
        );
        assert_eq!(actor["@context"][1], "https://w3id.org/security/v1");
        assert_eq!(actor["id"], id);
        assert_eq!(actor["type"], "Person");
        assert_eq!(actor["preferredUsername"], "Alice");
        assert_eq!(actor["name"], "Alice A.");
        assert!(
            actor["summary"].as_str().unwrap().contains("/tags/rust\""),
            "{actor}"
        );
        assert_eq!(actor["url"], "http://tidings.test/@Alice");
        assert_eq!(actor["inbox"], format!("{id}/inbox"));
        assert_eq!(actor["outbox"], format!("{id}/outbox"));
        assert_eq!(actor["followers"], format!("{id}/followers"));
        assert_eq!(actor["following"], format!("{id}/following"));
        assert_eq!(
            actor["endpoints"]["sharedInbox"],
            "http://tidings.test/inbox"
        );
        assert_eq!(
            actor["icon"]["url"],
            "http://tidings.test/static/avatar.png"
        );
        assert!(actor["published"].as_str().unwrap().ends_with('Z'));
        assert_eq!(actor["manuallyApprovesFollowers"], false);
        assert_eq!(actor["discoverable"], true);
        assert_eq!(actor["publicKey"]["id"], format!("{id}#main-key"));
        assert_eq!(actor["publicKey"]["owner"], id);

        let pem = actor["publicKey"]["publicKeyPem"].as_str().unwrap();
        let key = openssl::pkey::PKey::public_key_from_pem(pem.as_bytes()).unwrap();
        assert_eq!(key.bits(), 2048);
        let stored = accounts::find_local(&app.svc, "alice")
            .await
            .unwrap()
            .unwrap();
        let private =
            openssl::pkey::PKey::private_key_from_pem(stored.private_key_pem.unwrap().as_bytes())
                .unwrap();
        assert!(
            key.public_eq(&private),
            "served key matches the stored pair"
        );
    }

    let unknown = get(&app, "/users/nobody", AP).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert!(unknown.content_type().starts_with("application/json"));
    assert!(unknown.json()["error"].is_string());
}

#[tokio::test]
async fn browsers_asking_for_an_actor_go_to_the_profile() {
    let app = TestApp::spawn().await;
    app.user("Alice").await;
    let a = get(&app, "/users/alice", HTML).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(a.headers.get(LOCATION).unwrap(), "/@Alice");
}

#[tokio::test]
async fn instance_actor_has_a_stored_key() {
    let app = TestApp::spawn().await;
    let first = get(&app, "/actor", AP).await;
    assert_activity_json(&first);
    let first = first.json();
    assert_eq!(first["id"], "http://tidings.test/actor");
    assert_eq!(first["type"], "Application");
    assert_eq!(first["preferredUsername"], "tidings.test");
    assert_eq!(
        first["publicKey"]["id"],
        "http://tidings.test/actor#main-key"
    );
    let pem = first["publicKey"]["publicKeyPem"].as_str().unwrap();
    openssl::pkey::PKey::public_key_from_pem(pem.as_bytes()).unwrap();
    let second = get(&app, "/actor", AP).await.json();
    assert_eq!(second["publicKey"], first["publicKey"], "generated once");
}

#[tokio::test]
async fn html_urls_answer_activitypub_requests_with_json() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let story = alice.post_story("A headline", "Some text").await;

    let page = get(&app, "/@alice", HTML).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    assert_eq!(page.headers.get(VARY).unwrap(), "Accept");
    let actor = get(&app, "/@alice", AP).await;
    assert_activity_json(&actor);
    assert_eq!(actor.json()["id"], "http://tidings.test/users/alice");
    assert_eq!(
        get(&app, "/@nobody", AP).await.status,
        StatusCode::NOT_FOUND
    );

    let path = format!("/stories/{story}");
    let page = get(&app, &path, HTML).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.content_type().starts_with("text/html"));
    assert!(page.body.contains("A headline"));
    let note = get(&app, &path, LD).await;
    assert_activity_json(&note);
    assert_eq!(note.headers.get(VARY).unwrap(), "Accept");
    assert_eq!(note.json()["type"], "Note");
}

#[tokio::test]
async fn a_story_is_a_note_with_hashtags_and_mentions() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    app.user("Bob").await;
    let story = alice
        .post_story("Big <news>", "About #Rust and #WorldNews, thanks @bob")
        .await;

    let note = get(&app, &format!("/stories/{story}"), AP).await;
    assert_activity_json(&note);
    let note = note.json();
    let id = format!("http://tidings.test/stories/{story}");
    let actor = "http://tidings.test/users/alice";
    assert_eq!(note["@context"][0], "https://www.w3.org/ns/activitystreams");
    assert_eq!(note["id"], id);
    assert_eq!(note["type"], "Note");
    assert_eq!(note["attributedTo"], actor);
    assert_eq!(note["url"], id);
    let content = note["content"].as_str().unwrap();
    assert!(
        content.starts_with("<p><strong>Big &lt;news&gt;</strong></p>"),
        "{content}"
    );
    assert!(content.contains("WorldNews"), "{content}");
    assert!(
        note.get("name").is_none(),
        "no title: Mastodon shows it badly"
    );
    assert!(note["published"].as_str().unwrap().ends_with('Z'));
    assert!(note.get("updated").is_none());
    assert_eq!(note["to"], serde_json::json!([PUBLIC]));
    assert_eq!(
        note["cc"],
        serde_json::json!([
            format!("{actor}/followers"),
            "http://tidings.test/users/Bob"
        ])
    );
    assert!(note["inReplyTo"].is_null());
    assert!(note["summary"].is_null());
    assert_eq!(note["sensitive"], false);
    assert_eq!(note["replies"], format!("{id}/replies"));

    let tags = note["tag"].as_array().unwrap();
    let hashtags: Vec<(&str, &str)> = tags
        .iter()
        .filter(|t| t["type"] == "Hashtag")
        .map(|t| (t["name"].as_str().unwrap(), t["href"].as_str().unwrap()))
        .collect();
    assert_eq!(
        hashtags,
        [
            ("#Rust", "http://tidings.test/tags/rust"),
            ("#WorldNews", "http://tidings.test/tags/worldnews")
        ]
    );
    let mention = tags.iter().find(|t| t["type"] == "Mention").unwrap();
    assert_eq!(mention["name"], "@Bob@tidings.test");
    assert_eq!(mention["href"], "http://tidings.test/users/Bob");
}

#[tokio::test]
async fn replies_are_notes_listed_in_the_stories_replies_collection() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let mut bob = app.user("bob").await;
    let story = alice.post_story("Story", "Text").await;
    let reply_id = reply(&mut bob, story, "I agree").await;
    let story_id = format!("http://tidings.test/stories/{story}");
    let reply_ap = format!("http://tidings.test/replies/{reply_id}");

    let note = get(&app, &reply_ap, AP).await;
    assert_activity_json(&note);
    let note = note.json();
    assert_eq!(note["id"], reply_ap);
    assert_eq!(note["inReplyTo"], story_id);
    assert_eq!(note["attributedTo"], "http://tidings.test/users/bob");
    // A reply's id under /stories/ is not found.
    assert_eq!(
        get(&app, &format!("/stories/{reply_id}"), AP).await.status,
        StatusCode::NOT_FOUND
    );

    let replies = get(&app, &format!("{story_id}/replies"), AP).await;
    assert_activity_json(&replies);
    let replies = replies.json();
    assert_eq!(replies["type"], "OrderedCollection");
    assert_eq!(replies["totalItems"], 1);
    let first = get(&app, replies["first"].as_str().unwrap(), AP)
        .await
        .json();
    assert_eq!(first["type"], "OrderedCollectionPage");
    assert_eq!(first["partOf"], format!("{story_id}/replies"));
    assert_eq!(first["orderedItems"], serde_json::json!([reply_ap]));
    assert!(first.get("next").is_none());
}

#[tokio::test]
async fn outbox_lists_creates_and_follow_collections_list_actors() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    app.user("bob").await;
    let one = alice.post_story("One", "first #tag").await;
    let two = alice.post_story("Two", "second").await;

    let outbox = get(&app, "/users/alice/outbox", AP).await;
    assert_activity_json(&outbox);
    let outbox = outbox.json();
    assert_eq!(outbox["type"], "OrderedCollection");
    assert_eq!(outbox["id"], "http://tidings.test/users/alice/outbox");
    assert_eq!(outbox["totalItems"], 2);
    let page = get(&app, outbox["first"].as_str().unwrap(), AP)
        .await
        .json();
    assert_eq!(page["type"], "OrderedCollectionPage");
    let items = page["orderedItems"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["type"], "Create");
    assert_eq!(items[0]["actor"], "http://tidings.test/users/alice");
    assert_eq!(
        items[0]["object"]["id"],
        format!("http://tidings.test/stories/{two}")
    );
    assert_eq!(items[1]["object"]["type"], "Note");
    assert_eq!(
        items[1]["object"]["id"],
        format!("http://tidings.test/stories/{one}")
    );
    // Keyset: older than the second item → nothing.
    let older = get(
        &app,
        &format!("/users/alice/outbox?page=true&max_id={one}"),
        AP,
    )
    .await
    .json();
    assert_eq!(older["orderedItems"], serde_json::json!([]));

    let alice_row = accounts::find_local(&app.svc, "alice")
        .await
        .unwrap()
        .unwrap();
    let bob_row = accounts::find_local(&app.svc, "bob")
        .await
        .unwrap()
        .unwrap();
    relationships::follow(&app.svc, &bob_row, alice_row.id)
        .await
        .unwrap();
    let followers = get(&app, "/users/alice/followers", AP).await.json();
    assert_eq!(followers["totalItems"], 1);
    let page = get(&app, followers["first"].as_str().unwrap(), AP)
        .await
        .json();
    assert_eq!(
        page["orderedItems"],
        serde_json::json!(["http://tidings.test/users/bob"])
    );
    let following = get(&app, "/users/bob/following?page=true", AP).await.json();
    assert_eq!(following["totalItems"], 1);
    assert_eq!(
        following["orderedItems"],
        serde_json::json!(["http://tidings.test/users/alice"])
    );
    assert_eq!(
        get(&app, "/users/nobody/outbox", AP).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_deleted_story_is_a_tombstone() {
    let app = TestApp::spawn().await;
    let mut alice = app.user("alice").await;
    let story = alice.post_story("Regret", "Soon gone").await;
    let res = alice
        .post_form(&format!("/stories/{story}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);

    let a = get(&app, &format!("/stories/{story}"), AP).await;
    assert_eq!(a.status, StatusCode::GONE);
    assert!(a.content_type().starts_with("application/activity+json"));
    let t = a.json();
    assert_eq!(t["type"], "Tombstone");
    assert_eq!(t["id"], format!("http://tidings.test/stories/{story}"));
    let outbox = get(&app, "/users/alice/outbox", AP).await.json();
    assert_eq!(outbox["totalItems"], 0);
    assert_eq!(
        get(&app, "/stories/999/replies", AP).await.status,
        StatusCode::NOT_FOUND
    );
}
