//! Direct conversations (issue #13, item 3): `/api/v1/conversations` as Mastodon apps use
//! it (list with `Link` paging, mark read, remove) and the web "Messages" page.

use reqwest::StatusCode;
use serde_json::Value;

use crate::api::{Client, token_for};
use crate::common::TestApp;
use crate::visibility::{account_id, set_audience};

fn id_of(v: &Value) -> i64 {
    v["id"].as_str().unwrap().parse().unwrap()
}

fn conversation_ids(list: &Value) -> Vec<i64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

struct World {
    app: TestApp,
    alice: Client,
    mia: Client,
    sam: Client,
    alice_id: i64,
    mia_id: i64,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    for name in ["alice", "mia", "sam"] {
        app.user(name).await;
    }
    let alice = token_for(&app, "alice", "read write").await;
    let mia = token_for(&app, "mia", "read write").await;
    let sam = token_for(&app, "sam", "read write").await;
    let alice_id = account_id(&app, "alice").await;
    let mia_id = account_id(&app, "mia").await;
    World {
        app,
        alice,
        mia,
        sam,
        alice_id,
        mia_id,
    }
}

/// A direct story by `by` for `to` (narrowed in the database: see `set_audience`).
async fn direct_story(w: &World, by: &Client, text: &str, to: &[i64]) -> i64 {
    let id = id_of(&by.status(text).await);
    set_audience(&w.app, id, "direct", to).await;
    id
}

/// A reply in a direct thread: it takes the thread's visibility when posted; the mention
/// of whom it answers is stored as the write side will.
async fn direct_reply(w: &World, by: &Client, to_post: i64, text: &str, to: &[i64]) -> i64 {
    let r = by.reply(&to_post.to_string(), text).await;
    assert_eq!(r["visibility"], "direct", "{r}");
    let id = id_of(&r);
    set_audience(&w.app, id, "direct", to).await;
    id
}

#[tokio::test]
async fn conversations_list_read_and_remove_through_the_api() {
    let w = world().await;
    let story = direct_story(&w, &w.alice, "Just us\n\nHello @mia", &[w.mia_id]).await;

    // mia: one unread conversation with alice, its last status the story.
    let list = w.mia.get("/api/v1/conversations").await.ok();
    assert_eq!(conversation_ids(&list), [story], "{list}");
    let c = &list[0];
    assert_eq!(c["unread"], true);
    assert_eq!(c["last_status"]["id"], story.to_string());
    assert_eq!(c["last_status"]["visibility"], "direct");
    let accounts: Vec<&str> = c["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["acct"].as_str().unwrap())
        .collect();
    assert_eq!(accounts, ["alice"]);
    // alice wrote it: read for her, with mia; sam is in no conversation.
    let list = w.alice.get("/api/v1/conversations").await.ok();
    assert_eq!(list[0]["unread"], false, "{list}");
    assert_eq!(list[0]["accounts"][0]["acct"], "mia");
    let list = w.sam.get("/api/v1/conversations").await.ok();
    assert_eq!(conversation_ids(&list), Vec::<i64>::new());
    let res = w
        .sam
        .post(&format!("/api/v1/conversations/{story}/read"), Value::Null)
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);

    // mia answers: alice's conversation is unread, its last status mia's reply.
    let answer = direct_reply(&w, &w.mia, story, "@alice hi back", &[w.alice_id]).await;
    let list = w.alice.get("/api/v1/conversations").await.ok();
    assert_eq!(list[0]["unread"], true, "{list}");
    assert_eq!(list[0]["last_status"]["id"], answer.to_string());
    let read = w
        .alice
        .post(&format!("/api/v1/conversations/{story}/read"), Value::Null)
        .await
        .ok();
    assert_eq!(read["unread"], false, "{read}");
    let list = w.alice.get("/api/v1/conversations").await.ok();
    assert_eq!(list[0]["unread"], false, "{list}");

    // mia removes it; a new direct post in it brings it back, unread.
    let gone = w
        .mia
        .delete(&format!("/api/v1/conversations/{story}"))
        .await
        .ok();
    assert_eq!(gone, serde_json::json!({}));
    let list = w.mia.get("/api/v1/conversations").await.ok();
    assert_eq!(conversation_ids(&list), Vec::<i64>::new());
    let res = w
        .mia
        .delete(&format!("/api/v1/conversations/{story}"))
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    let again = direct_reply(&w, &w.alice, answer, "@mia one more", &[w.mia_id]).await;
    let list = w.mia.get("/api/v1/conversations").await.ok();
    assert_eq!(conversation_ids(&list), [story], "{list}");
    assert_eq!(list[0]["unread"], true);
    assert_eq!(list[0]["last_status"]["id"], again.to_string());

    // Without a token: 401.
    let res = Client::anonymous(&w.app).get("/api/v1/conversations").await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn conversations_page_with_link_headers() {
    let w = world().await;
    let mut made = Vec::new();
    for i in 0..3 {
        made.push(direct_story(&w, &w.alice, &format!("Note {i}"), &[w.mia_id]).await);
    }
    let first = w.mia.get("/api/v1/conversations?limit=2").await;
    let link = first.headers["link"].to_str().unwrap().to_owned();
    let first = first.ok();
    assert_eq!(conversation_ids(&first), [made[2], made[1]]);
    assert!(
        link.contains(&format!("max_id={}>; rel=\"next\"", made[1])),
        "{link}"
    );
    let next = w
        .mia
        .get(&format!("/api/v1/conversations?limit=2&max_id={}", made[1]))
        .await
        .ok();
    assert_eq!(conversation_ids(&next), [made[0]]);
    let newer = w
        .mia
        .get(&format!("/api/v1/conversations?min_id={}", made[0]))
        .await
        .ok();
    assert_eq!(conversation_ids(&newer), [made[2], made[1]]);
}

#[tokio::test]
async fn messages_page_lists_marks_read_and_removes() {
    let w = world().await;
    let story = direct_story(&w, &w.alice, "Secret plan\n\nFor @mia only", &[w.mia_id]).await;
    let mut mia = w.app.browser();
    let res = mia
        .post_form(
            "/login",
            &[("username", "mia"), ("password", crate::common::PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let front = mia.get("/").await;
    front.assert_contains("href=\"/messages\"");
    let page = mia.get("/messages").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Secret plan");
    page.assert_contains("href=\"/@alice\"");
    page.assert_contains("class=\"unread-mark\"");
    page.assert_contains(&format!("href=\"/stories/{story}\""));
    // sam has none.
    let sam = w.app.user("sam2").await;
    sam.get("/messages").await.assert_lacks("Secret plan");

    let res = mia.post_form(&format!("/messages/{story}/read"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = mia.get("/messages").await;
    page.assert_contains("Secret plan");
    page.assert_lacks("class=\"unread-mark\"");

    let res = mia
        .post_form(&format!("/messages/{story}/remove"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    mia.get("/messages").await.assert_lacks("Secret plan");

    // Signed out: the login page.
    let res = w.app.browser().get("/messages").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"), "{}", res.location());
}
