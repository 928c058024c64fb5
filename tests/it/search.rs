//! Search: words (full text), #tags and accounts; ranking, pagination, hostile input.

use crate::common::{Page, TestApp};
use chrono::Utc;
use diesel::prelude::*;
use reqwest::StatusCode;
use tidings::db::schema::{accounts, posts};

fn encode(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

/// The search page for `q`, read by a visitor who is not logged in.
async fn search(app: &TestApp, q: &str) -> Page {
    app.browser().get(&format!("/search?q={}", encode(q))).await
}

/// Like [`search`], but the page must be a success.
async fn search_ok(app: &TestApp, q: &str) -> Page {
    let page = search(app, q).await;
    assert_eq!(page.status(), StatusCode::OK, "{q:?}: {}", page.body);
    page
}

/// Headlines of the stories found, in order.
fn headlines(html: &str) -> Vec<String> {
    html.split("<h3 class=\"headline\"><a href=\"")
        .skip(1)
        .map(|s| {
            s.split('>')
                .nth(1)
                .unwrap()
                .split('<')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Handles of the accounts found, in order.
fn handles(html: &str) -> Vec<String> {
    let Some(list) = html.split("<ul class=\"account-list\">").nth(1) else {
        return Vec::new();
    };
    let list = list.split("</ul>").next().unwrap();
    list.split("<span class=\"handle\">")
        .skip(1)
        .map(|s| s.split('<').next().unwrap().to_owned())
        .collect()
}

fn link(html: &str, rel: &str) -> Option<String> {
    let marker = format!("<a rel=\"{rel}\" href=\"");
    let at = html.find(&marker)? + marker.len();
    Some(
        html[at..]
            .split('"')
            .next()?
            .replace("&#38;", "&")
            .replace("&amp;", "&"),
    )
}

async fn account_id(app: &TestApp, name: &str) -> i64 {
    tidings::service::accounts::find_local(&app.svc, name)
        .await
        .unwrap()
        .unwrap()
        .id
}

#[tokio::test]
async fn words_find_stories_by_headline_and_body() {
    let app = TestApp::spawn().await;
    let mut b = app.user("reporter").await;
    let volcano = b
        .post_story("Volcano erupts overnight", "Lava reached the old road.")
        .await;
    b.post_story("Quiet morning", "A calm day near the harbour.")
        .await;

    // A word of the headline, in any case.
    for q in ["volcano", "VOLCANO", "  Volcano  "] {
        let page = search_ok(&app, q).await;
        assert_eq!(headlines(&page.body), ["Volcano erupts overnight"], "{q}");
        page.assert_contains("Stories and replies");
        page.assert_contains(&format!("href=\"/stories/{volcano}\""));
        page.assert_contains("Story by <a href=\"/@reporter\">@reporter</a>");
        page.assert_contains("Lava reached the old road.");
    }
    // A word of the body only.
    let page = search_ok(&app, "harbour").await;
    assert_eq!(headlines(&page.body), ["Quiet morning"]);
    // Every word must match.
    assert_eq!(
        headlines(&search_ok(&app, "calm harbour").await.body),
        ["Quiet morning"]
    );
    let page = search_ok(&app, "calm volcano").await;
    assert!(headlines(&page.body).is_empty());
    page.assert_contains("No results for “calm volcano”.");
    // The last word may be unfinished.
    assert_eq!(
        headlines(&search_ok(&app, "volc").await.body),
        ["Volcano erupts overnight"]
    );
    // The query stays in the search box.
    search_ok(&app, "harbour")
        .await
        .assert_contains("name=\"q\" value=\"harbour\"");
}

#[tokio::test]
async fn better_matches_rank_first() {
    let app = TestApp::spawn().await;
    let mut b = app.user("ranker").await;
    // The strong match is the oldest, so only ranking can put it first.
    b.post_story(
        "Gardens of the city",
        "The gardens open today. Gardens everywhere, and more gardens.",
    )
    .await;
    b.post_story(
        "Council notes",
        "The council met; one of the gardens was named.",
    )
    .await;
    for i in 0..4 {
        b.post_story(&format!("Filler {i}"), "Nothing to see here.")
            .await;
    }
    let page = search_ok(&app, "gardens").await;
    assert_eq!(
        headlines(&page.body),
        ["Gardens of the city", "Council notes"]
    );
}

#[tokio::test]
async fn edits_are_found_by_their_new_words() {
    let app = TestApp::spawn().await;
    let mut b = app.user("editor").await;
    let id = b
        .post_story("Draft headline", "Original pelican text")
        .await;
    let res = b
        .post_form(
            &format!("/stories/{id}/edit"),
            &[
                ("headline", "Final headline"),
                ("body", "Revised flamingo text"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(headlines(&search_ok(&app, "pelican").await.body).is_empty());
    assert_eq!(
        headlines(&search_ok(&app, "flamingo").await.body),
        ["Final headline"]
    );
}

#[tokio::test]
async fn deleted_removed_and_suspended_posts_are_not_found() {
    let app = TestApp::spawn().await;
    let mut b = app.user("zookeeper").await;
    let gone = b.post_story("Ephemeral zebra", "soon deleted").await;
    b.post_story("Lasting zebra", "stays").await;
    let removed = b.post_story("Removed zebra", "a moderator took it").await;
    let mut banned = app.user("banned").await;
    banned
        .post_story("Suspended zebra", "by a suspended account")
        .await;

    let before = search_ok(&app, "zebra").await;
    assert_eq!(headlines(&before.body).len(), 4);

    let res = b.post_form(&format!("/stories/{gone}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let banned_id = account_id(&app, "banned").await;
    app.svc
        .db
        .run(move |conn| {
            let now = Utc::now().naive_utc();
            diesel::update(posts::table.find(removed))
                .set(posts::removed_at.eq(Some(now)))
                .execute(conn)?;
            diesel::update(accounts::table.find(banned_id))
                .set(accounts::suspended_at.eq(Some(now)))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let page = search_ok(&app, "zebra").await;
    assert_eq!(headlines(&page.body), ["Lasting zebra"]);
    // Suspended accounts are not found by name either.
    let page = search_ok(&app, "banned").await;
    assert!(handles(&page.body).is_empty(), "{}", page.body);
    page.assert_contains("No results for “banned”.");
}

#[tokio::test]
async fn replies_are_found_and_link_to_their_own_page() {
    let app = TestApp::spawn().await;
    let mut b = app.user("threader").await;
    let story = b
        .post_story("Island wildlife", "Tell me what you saw.")
        .await;
    let author = account_id(&app, "threader").await;
    let reply = tidings::db::ids::new_id();
    let ap_id = format!("{}/replies/{reply}", app.svc.base_url());
    // Posts are written in write transactions, which index them for search on commit.
    app.svc
        .db
        .write(move |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(posts::table)
                .values((
                    posts::id.eq(reply),
                    posts::account_id.eq(author),
                    posts::ap_id.eq(&ap_id),
                    posts::local.eq(true),
                    posts::body.eq("A quokka smiled at me."),
                    posts::content_html.eq("<p>A quokka smiled at me.</p>"),
                    posts::in_reply_to_id.eq(Some(story)),
                    posts::thread_root_id.eq(Some(story)),
                    posts::created_at.eq(now),
                    posts::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let page = search_ok(&app, "quokka").await;
    page.assert_contains(&format!(
        "<a class=\"hit-kind\" href=\"/replies/{reply}\">Reply</a>"
    ));
    page.assert_contains("A quokka smiled at me.");
    page.assert_lacks(&format!("href=\"/stories/{story}\""));
    assert!(headlines(&page.body).is_empty());
}

#[tokio::test]
async fn tag_search_finds_tagged_stories_case_insensitively() {
    let app = TestApp::spawn().await;
    let mut b = app.user("forecaster").await;
    b.post_story("Rain again #Weather", "Bring a coat.").await;
    b.post_story("Sunny spell", "Warm days ahead #weather #Summer")
        .await;
    b.post_story("Forecast chat", "Let us talk about the weather.")
        .await;
    b.post_story("Lookalike #weatherman", "Not the same tag.")
        .await;

    for q in ["#weather", "#WEATHER", "#WeAtHeR"] {
        let page = search_ok(&app, q).await;
        // Newest first; a story that merely says the word is not tagged.
        assert_eq!(
            headlines(&page.body),
            ["Sunny spell", "Rain again #Weather"],
            "{q}"
        );
        page.assert_contains("<a class=\"tag\" href=\"/tags/weather\">#Weather</a>");
        page.assert_contains("<a class=\"tag\" href=\"/tags/summer\">#Summer</a>");
    }
    // Several tags: stories carrying all of them.
    assert_eq!(
        headlines(&search_ok(&app, "#summer #Weather").await.body),
        ["Sunny spell"]
    );
    // A tag with words: tagged stories holding the words.
    assert_eq!(
        headlines(&search_ok(&app, "#weather coat").await.body),
        ["Rain again #Weather"]
    );
    // A tag nobody used.
    let page = search_ok(&app, "#nosuchtag").await;
    assert!(headlines(&page.body).is_empty());
    page.assert_contains("No results for “#nosuchtag”.");
}

#[tokio::test]
async fn accounts_are_found_by_partial_name() {
    let app = TestApp::spawn().await;
    app.user("marigold").await;
    app.user("goldfinch").await;
    app.user("unrelated").await;
    let mut hour = app.user("twilight").await;
    let res = hour
        .post_form("/settings", &[("display_name", "Golden Hour"), ("bio", "")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    // A remote account, as federation will store it.
    let remote = tidings::db::ids::new_id();
    app.svc
        .db
        .run(move |conn| {
            let now = Utc::now().naive_utc();
            diesel::insert_into(accounts::table)
                .values((
                    accounts::id.eq(remote),
                    accounts::username.eq("Goldie"),
                    accounts::username_lower.eq("goldie"),
                    accounts::domain.eq(Some("remote.example")),
                    accounts::display_name.eq(""),
                    accounts::ap_id.eq("https://remote.example/users/Goldie"),
                    accounts::public_key_pem.eq("-"),
                    accounts::created_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();

    let page = search_ok(&app, "gold").await;
    page.assert_contains("<h2 class=\"section-title\" id=\"search-accounts\">Accounts</h2>");
    // Names starting with the query first (local before remote), then those containing it.
    assert_eq!(
        handles(&page.body),
        [
            "@goldfinch",
            "@twilight",
            "@Goldie@remote.example",
            "@marigold"
        ]
    );
    page.assert_contains("<a href=\"/@twilight\">Golden Hour</a>");
    page.assert_lacks("@unrelated");

    // An exact name comes first; `@` and case do not matter.
    assert_eq!(
        handles(&search_ok(&app, "@MARIGOLD").await.body),
        ["@marigold"]
    );
    assert_eq!(
        handles(&search_ok(&app, "golden hour").await.body),
        ["@twilight"]
    );
    assert_eq!(
        handles(&search_ok(&app, "goldie@remote").await.body),
        ["@Goldie@remote.example"]
    );
    // LIKE wildcards are plain characters.
    let page = search_ok(&app, "g_ld").await;
    assert!(handles(&page.body).is_empty(), "{}", page.body);
    let page = search_ok(&app, "%gold").await;
    assert!(handles(&page.body).is_empty(), "{}", page.body);
}

#[tokio::test]
async fn hostile_input_is_only_text() {
    let app = TestApp::spawn().await;
    let mut b = app.user("tester").await;
    b.post_story("Plain story", "a b near or drop table posts")
        .await;
    let hostile = [
        r#""a" OR (b* NEAR"#,
        "'; DROP TABLE posts; --",
        "\"",
        "\"\"\"",
        "*",
        "NEAR(a b)",
        "a:* & !b",
        "headline:plain",
        "^plain",
        "-plain",
        "plain)",
        "\\",
        "%_%",
        "a\0b",
        "#",
        "<script>alert(1)</script>",
        "@@",
    ];
    for q in hostile {
        let page = search(&app, q).await;
        assert_eq!(page.status(), StatusCode::OK, "{q:?}: {}", page.body);
        page.assert_lacks("Something went wrong");
        page.assert_lacks("<script>alert(1)</script>");
    }
    // Shown back escaped, in the box and in the "no results" text.
    let page = search_ok(&app, r#""a" OR (b* NEAR"#).await;
    page.assert_contains("value=\"&#34;a&#34; OR (b* NEAR\"");
    let page = search_ok(&app, "<script>alert(1)</script>").await;
    page.assert_contains("&#60;script&#62;alert(1)&#60;/script&#62;");
    // The quoted words are searched as plain words; the table is still there.
    assert_eq!(
        headlines(&search_ok(&app, "'; DROP TABLE posts; --").await.body),
        ["Plain story"]
    );
    assert_eq!(
        headlines(&search_ok(&app, "plain").await.body),
        ["Plain story"]
    );
}

#[tokio::test]
async fn results_paginate_twenty_at_a_time() {
    let app = TestApp::spawn().await;
    let mut b = app.user("paginator").await;
    for i in 1..=25 {
        b.post_story(&format!("Paged item {i:02}"), "All about marmalade.")
            .await;
    }
    b.post_story("Unrelated", "Nothing here.").await;

    let first = search_ok(&app, "marmalade").await;
    let first_heads = headlines(&first.body);
    assert_eq!(first_heads.len(), 20);
    first.assert_contains("More results");
    assert!(link(&first.body, "prev").is_none());
    let next = link(&first.body, "next").expect("a link to more results");
    assert_eq!(next, "/search?q=marmalade&page=2");

    let second = app.browser().get(&next).await;
    assert_eq!(second.status(), StatusCode::OK);
    let second_heads = headlines(&second.body);
    assert_eq!(second_heads.len(), 5, "{second_heads:?}");
    assert!(link(&second.body, "next").is_none());
    second.assert_lacks("More results");
    assert_eq!(
        link(&second.body, "prev").as_deref(),
        Some("/search?q=marmalade")
    );
    // No overlap, nothing missing.
    let mut all: Vec<String> = first_heads.into_iter().chain(second_heads).collect();
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 25);
    assert!(all.iter().all(|h| h.starts_with("Paged item")));

    // Past the end, and a page number that is no number.
    let past = app.browser().get("/search?q=marmalade&page=9").await;
    assert_eq!(past.status(), StatusCode::OK);
    assert!(headlines(&past.body).is_empty());
    past.assert_contains("No more results for “marmalade”.");
    let junk = app.browser().get("/search?q=marmalade&page=x").await;
    assert_eq!(headlines(&junk.body).len(), 20);
}

#[tokio::test]
async fn empty_query_shows_the_form() {
    let app = TestApp::spawn().await;
    let mut b = app.user("someone").await;
    b.post_story("Anything", "at all").await;
    for path in [
        "/search",
        "/search?q=",
        "/search?q=%20%20%20",
        "/search?page=2",
    ] {
        let page = app.browser().get(path).await;
        assert_eq!(page.status(), StatusCode::OK, "{path}");
        page.assert_contains("<h1 class=\"page-title\">Search</h1>");
        page.assert_contains("name=\"q\" value=\"\"");
        page.assert_contains("Find stories and replies by their words");
        page.assert_lacks("No results");
        page.assert_lacks("Stories and replies");
        assert!(headlines(&page.body).is_empty());
    }
    // Every page carries the search box.
    let front = app.browser().get("/").await;
    front.assert_contains("<form method=\"get\" action=\"/search\" role=\"search\"");
    front.assert_contains("placeholder=\"Search stories, #tags, people\"");
}

#[tokio::test]
async fn overlong_queries_are_refused_with_a_reason() {
    let app = TestApp::spawn().await;
    let long = "w".repeat(201);
    let page = search(&app, &long).await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    page.assert_contains("A search has at most 200 characters (this one has 201).");
    page.assert_contains(&format!("value=\"{long}\""));
    page.assert_lacks("No results");
    // 200 is fine.
    let page = search(&app, &"w".repeat(200)).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("No results for");
}
