//! Grouped notifications as Mastodon 4.3 serves them (`/api/v2/notifications`, one group,
//! its accounts, dismissing it) and the unread counts of v1 and v2 (issue #16, item 4).

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestApp;
use crate::common::api::Api;

struct Scene {
    alice: Api,
    ids: std::collections::HashMap<&'static str, String>,
    story: String,
    reply: String,
}

/// Alice's story is favourited by bob, carol and dave; bob and carol follow her; eve
/// replies last. In time: fav bob, fav carol, follow bob, fav dave, follow carol, reply eve.
async fn scene(app: &TestApp) -> Scene {
    let mut apis = std::collections::HashMap::new();
    let mut ids = std::collections::HashMap::new();
    for name in ["alice", "bob", "carol", "dave", "eve"] {
        app.user(name).await;
        let api = Api::login(app, name).await;
        let me = api.ok("/api/v1/accounts/verify_credentials").await;
        ids.insert(name, me["id"].as_str().unwrap().to_owned());
        apis.insert(name, api);
    }
    let (s, v) = apis["alice"]
        .form(
            "/api/v1/statuses",
            &[("status", "Tram news\n\nline 4 opens")],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let story = v["id"].as_str().unwrap().to_owned();
    let fav = format!("/api/v1/statuses/{story}/favourite");
    let follow = format!("/api/v1/accounts/{}/follow", ids["alice"]);
    for (who, path) in [
        ("bob", &fav),
        ("carol", &fav),
        ("bob", &follow),
        ("dave", &fav),
        ("carol", &follow),
    ] {
        let (s, v) = apis[who].post(path).await;
        assert_eq!(s, StatusCode::OK, "{who} {path}: {v}");
    }
    let (s, v) = apis["eve"]
        .form(
            "/api/v1/statuses",
            &[("status", "when?"), ("in_reply_to_id", &story)],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let reply = v["id"].as_str().unwrap().to_owned();
    Scene {
        alice: apis.remove("alice").unwrap(),
        ids,
        story,
        reply,
    }
}

fn kinds(v: &Value) -> Vec<String> {
    v["notification_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["type"].as_str().unwrap().to_owned())
        .collect()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn favourites_of_one_post_and_follows_are_grouped() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let page = s.alice.ok("/api/v2/notifications").await;
    assert_eq!(kinds(&page), ["mention", "follow", "favourite"], "{page}");
    let groups = page["notification_groups"].as_array().unwrap();
    let (mention, follows, favs) = (&groups[0], &groups[1], &groups[2]);

    assert_eq!(mention["notifications_count"], 1);
    assert_eq!(mention["status_id"], s.reply.as_str());
    assert!(
        mention["group_key"]
            .as_str()
            .unwrap()
            .starts_with("ungrouped-")
    );
    assert_eq!(
        strings(&mention["sample_account_ids"]),
        [s.ids["eve"].clone()]
    );

    assert_eq!(follows["notifications_count"], 2);
    assert_eq!(
        strings(&follows["sample_account_ids"]),
        [s.ids["carol"].clone(), s.ids["bob"].clone()]
    );
    assert!(follows.get("status_id").is_none(), "{follows}");

    assert_eq!(favs["notifications_count"], 3);
    assert_eq!(favs["status_id"], s.story.as_str());
    assert_eq!(
        strings(&favs["sample_account_ids"]),
        [
            s.ids["dave"].clone(),
            s.ids["carol"].clone(),
            s.ids["bob"].clone()
        ]
    );
    for g in groups {
        for key in [
            "most_recent_notification_id",
            "page_min_id",
            "page_max_id",
            "latest_page_notification_at",
        ] {
            assert!(g[key].is_string(), "{key} in {g}");
        }
    }
    // The page spans its groups' newest notifications (as Mastodon's page does): from
    // dave's favourite up to eve's reply. Within it each group has one notification,
    // though they count all of theirs up to the page's newest.
    let id = |g: &Value, k: &str| g[k].as_str().unwrap().parse::<i64>().unwrap();
    for g in [favs, follows] {
        assert_eq!(id(g, "page_min_id"), id(g, "page_max_id"), "{g}");
        assert_eq!(id(g, "page_max_id"), id(g, "most_recent_notification_id"));
    }
    assert!(id(follows, "page_min_id") > id(favs, "page_max_id"));

    // Every account named, in full, once; the statuses referred to, once.
    let mut named: Vec<String> = page["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    named.sort();
    let mut expected: Vec<String> = ["bob", "carol", "dave", "eve"]
        .iter()
        .map(|n| s.ids[n].clone())
        .collect();
    expected.sort();
    assert_eq!(named, expected);
    let statuses: Vec<String> = page["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| st["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, [s.reply.clone(), s.story.clone()]);

    // v1 notifications carry the same group keys.
    let v1 = s.alice.ok("/api/v1/notifications").await;
    let fav_keys: Vec<&str> = v1
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["type"] == "favourite")
        .map(|n| n["group_key"].as_str().unwrap())
        .collect();
    assert_eq!(fav_keys.len(), 3);
    assert!(
        fav_keys
            .iter()
            .all(|k| *k == favs["group_key"].as_str().unwrap())
    );

    // Asking to group only follows shows each favourite on its own.
    let page = s
        .alice
        .ok("/api/v2/notifications?grouped_types[]=follow")
        .await;
    assert_eq!(
        kinds(&page),
        ["mention", "follow", "favourite", "favourite", "favourite"]
    );
    // types[] and exclude_types[] as in v1.
    let page = s.alice.ok("/api/v2/notifications?types[]=favourite").await;
    assert_eq!(kinds(&page), ["favourite"]);
    let page = s
        .alice
        .ok("/api/v2/notifications?exclude_types[]=mention&exclude_types[]=follow")
        .await;
    assert_eq!(kinds(&page), ["favourite"]);
}

#[tokio::test]
async fn pages_of_groups_follow_the_link_header() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let res = s
        .alice
        .http
        .get(format!("{}/api/v2/notifications?limit=2", app.base))
        .bearer_auth(&s.alice.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let link = res.headers()["link"].to_str().unwrap().to_owned();
    let first: Value = res.json().await.unwrap();
    assert_eq!(kinds(&first), ["mention", "follow"]);
    let next = link
        .split(", ")
        .find(|l| l.ends_with("rel=\"next\""))
        .unwrap();
    let next = next.trim_start_matches('<').split('>').next().unwrap();
    let path = next
        .split_once("/api/")
        .map(|(_, p)| format!("/api/{p}"))
        .unwrap();
    assert!(path.contains("limit=2"), "{path}");
    // Below carol's follow: the favourites (all three, up to dave's), then the follow
    // group again with bob's older follow only (clients merge groups by key).
    let second = s.alice.ok(&path).await;
    assert_eq!(kinds(&second), ["favourite", "follow"], "{second}");
    let groups = &second["notification_groups"];
    assert_eq!(groups[0]["notifications_count"], 3);
    assert_eq!(groups[1]["notifications_count"], 1);
    assert_eq!(
        groups[1]["group_key"],
        first["notification_groups"][1]["group_key"]
    );
}

#[tokio::test]
async fn one_group_its_accounts_and_dismissing_it() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let page = s.alice.ok("/api/v2/notifications?types[]=favourite").await;
    let key = page["notification_groups"][0]["group_key"]
        .as_str()
        .unwrap()
        .to_owned();
    let one = s.alice.ok(&format!("/api/v2/notifications/{key}")).await;
    let group = &one["notification_groups"][0];
    assert_eq!(group["group_key"], key.as_str());
    assert_eq!(group["notifications_count"], 3);
    assert!(group.get("page_min_id").is_none(), "{group}");
    assert_eq!(one["statuses"][0]["id"], s.story.as_str());

    let who = s
        .alice
        .ok(&format!("/api/v2/notifications/{key}/accounts"))
        .await;
    let who: Vec<&str> = who
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(who, ["dave", "carol", "bob"]);

    // Someone else's group is not found, nor is a made-up one.
    app.user("mallory").await;
    let mallory = Api::login(&app, "mallory").await;
    let (st, _) = mallory.get(&format!("/api/v2/notifications/{key}")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = mallory
        .post(&format!("/api/v2/notifications/{key}/dismiss"))
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    let (st, _) = s.alice.get("/api/v2/notifications/ungrouped-1").await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    let (st, v) = s
        .alice
        .post(&format!("/api/v2/notifications/{key}/dismiss"))
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let page = s.alice.ok("/api/v2/notifications").await;
    assert_eq!(kinds(&page), ["mention", "follow"]);
    let v1 = s.alice.ok("/api/v1/notifications?types[]=favourite").await;
    assert_eq!(v1, serde_json::json!([]));
}

#[tokio::test]
async fn unread_counts_in_v1_and_v2_follow_the_marker() {
    let app = TestApp::spawn().await;
    let s = scene(&app).await;
    let v1 = s.alice.ok("/api/v1/notifications/unread_count").await;
    assert_eq!(v1, serde_json::json!({"count": 6}));
    let v2 = s.alice.ok("/api/v2/notifications/unread_count").await;
    assert_eq!(v2, serde_json::json!({"count": 3}));
    let capped = s
        .alice
        .ok("/api/v1/notifications/unread_count?limit=4")
        .await;
    assert_eq!(capped["count"], 4);
    let favs = s
        .alice
        .ok("/api/v2/notifications/unread_count?types[]=favourite")
        .await;
    assert_eq!(favs["count"], 1);

    // Reading up to the newest notification (the marker) leaves nothing unread.
    let newest = s.alice.ok("/api/v1/notifications?limit=1").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (st, v) = s
        .alice
        .form(
            "/api/v1/markers",
            &[("notifications[last_read_id]", newest.as_str())],
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    for path in [
        "/api/v1/notifications/unread_count",
        "/api/v2/notifications/unread_count",
    ] {
        assert_eq!(s.alice.ok(path).await["count"], 0, "{path}");
    }
}

#[tokio::test]
async fn unknown_parameters_and_values_are_refused() {
    let app = TestApp::spawn().await;
    app.user("zed").await;
    let zed = Api::login(&app, "zed").await;
    for path in [
        "/api/v2/notifications?whatever=1",
        "/api/v2/notifications?expand_accounts=everything",
        "/api/v2/notifications?limit=lots",
        "/api/v1/notifications/unread_count?grouped_types[]=follow",
        "/api/v2/notifications/unread_count?since=1",
    ] {
        let (st, v) = zed.get(path).await;
        assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    // Without a token: 401.
    let res = reqwest::get(format!("{}/api/v2/notifications", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let ok = zed
        .ok("/api/v2/notifications?expand_accounts=partial_avatars&include_filtered=true")
        .await;
    assert_eq!(ok["notification_groups"], serde_json::json!([]));
}
