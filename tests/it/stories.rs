//! Publishing, reading, editing and deleting stories; tags; pagination.

use crate::common::TestApp;
use reqwest::StatusCode;

#[tokio::test]
async fn a_story_with_hashtags_and_links() {
    let app = TestApp::spawn().await;
    let mut b = app.user("newsMNC").await;
    let id = b
        .post_story(
            "Storm hits the coast #WorldNEWS",
            "Read more at https://example.org/storm?x=1&y=2 and #Weather.\n\n<script>alert(1)</script>",
        )
        .await;
    let page = app.browser().get(&format!("/stories/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("<h1 class=\"headline\">Storm hits the coast #WorldNEWS</h1>");
    page.assert_contains("Posted in: ");
    page.assert_contains("<a class=\"tag\" href=\"/tags/worldnews\">#WorldNEWS</a>");
    page.assert_contains("<a class=\"tag\" href=\"/tags/weather\">#Weather</a>");
    page.assert_contains("<a href=\"https://example.org/storm?x=1&amp;y=2\"");
    page.assert_contains("&lt;script&gt;alert(1)&lt;/script&gt;");
    page.assert_lacks("<script>alert(1)</script>");
    page.assert_contains("href=\"/@newsMNC\"");

    // Shows on the front page and on the tag page, whatever the case of the tag.
    app.browser()
        .get("/")
        .await
        .assert_contains("Storm hits the coast");
    for tag in ["worldnews", "WORLDNEWS", "WorldNews"] {
        let page = app.browser().get(&format!("/tags/{tag}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{tag}");
        page.assert_contains("Stories tagged #WorldNEWS");
        page.assert_contains("Storm hits the coast");
    }
}

#[tokio::test]
async fn story_input_is_validated_and_kept() {
    let app = TestApp::spawn().await;
    let mut b = app.user("writer").await;
    let res = b
        .post_form(
            "/submit",
            &[("headline", "   "), ("body", "My long text, kept")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Write a headline.");
    res.assert_contains(">My long text, kept</textarea>");

    let long = "h".repeat(201);
    let res = b
        .post_form("/submit", &[("headline", &long), ("body", "")])
        .await;
    res.assert_contains("A headline has at most 200 characters (this one has 201).");
    res.assert_contains("Write the story&#39;s text.");
    res.assert_contains(&format!("value=\"{long}\""));
    assert_eq!(
        tidings::service::stories::count_local(&app.svc)
            .await
            .unwrap(),
        0
    );

    // Logged out: no posting at all.
    let mut anon = app.browser();
    let res = anon
        .post_form("/submit", &[("headline", "Anon"), ("body", "text")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        tidings::service::stories::count_local(&app.svc)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn authors_edit_their_own_stories_only() {
    let app = TestApp::spawn().await;
    let mut author = app.user("author").await;
    let mut other = app.user("other").await;
    let id = author.post_story("First take #Draft", "Body one").await;

    let res = other
        .post_form(
            &format!("/stories/{id}/edit"),
            &[("headline", "Hijacked"), ("body", "x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        other.get(&format!("/stories/{id}/edit")).await.status(),
        StatusCode::FORBIDDEN
    );
    let res = other.post_form(&format!("/stories/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let form = author.get(&format!("/stories/{id}/edit")).await;
    form.assert_contains("value=\"First take #Draft\"");
    let res = author
        .post_form(
            &format!("/stories/{id}/edit"),
            &[("headline", "Second take #Final"), ("body", "Body two")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.browser().get(&format!("/stories/{id}")).await;
    page.assert_contains("Second take #Final");
    page.assert_contains("Body two");
    page.assert_contains("edited");
    page.assert_lacks("Hijacked");
    // Tags follow the edit.
    app.browser()
        .get("/tags/final")
        .await
        .assert_contains("Second take");
    app.browser()
        .get("/tags/draft")
        .await
        .assert_lacks("Second take");

    // A bad edit keeps the typed text and changes nothing.
    let res = author
        .post_form(
            &format!("/stories/{id}/edit"),
            &[("headline", ""), ("body", "Unsaved words")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Unsaved words");
    app.browser()
        .get(&format!("/stories/{id}"))
        .await
        .assert_contains("Body two");
}

#[tokio::test]
async fn deleted_stories_leave_the_lists() {
    let app = TestApp::spawn().await;
    let mut author = app.user("deleter").await;
    let id = author.post_story("Short-lived #Gone", "soon deleted").await;
    let keep = author.post_story("Stays #Gone", "kept").await;
    let res = author
        .post_form(&format!("/stories/{id}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let res = app.browser().get(&format!("/stories/{id}")).await;
    assert_eq!(res.status(), StatusCode::GONE);
    res.assert_contains("This was deleted.");
    for path in ["/", "/tags/gone", "/@deleter"] {
        let page = app.browser().get(path).await;
        page.assert_lacks("Short-lived");
        page.assert_contains("Stays");
    }
    assert_eq!(
        app.browser()
            .get(&format!("/stories/{keep}"))
            .await
            .status(),
        StatusCode::OK
    );
    // Deleting twice: the story is gone already.
    let res = author
        .post_form(&format!("/stories/{id}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
}

/// Headlines of the stories listed on a page, in order.
fn headlines(html: &str) -> Vec<String> {
    html.split("<h2 class=\"headline\"><a href=\"")
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

fn next_link(html: &str) -> Option<String> {
    let at = html.find("<a rel=\"next\" href=\"")? + "<a rel=\"next\" href=\"".len();
    Some(
        html[at..]
            .split('"')
            .next()?
            .replace("&#61;", "=")
            .replace("&#x3d;", "="),
    )
}

#[tokio::test]
async fn lists_paginate_newest_first_without_overlap() {
    let app = TestApp::spawn().await;
    let mut a = app.user("prolific").await;
    let mut b = app.user("quiet").await;
    for i in 1..=25 {
        a.post_story(&format!("Story number {i:02} #Paged"), "text")
            .await;
    }
    b.post_story("Quiet one", "text").await;

    // Front page: 20 newest, then the rest.
    let first = app.browser().get("/").await;
    let first_heads = headlines(&first.body);
    assert_eq!(first_heads.len(), 20);
    assert_eq!(first_heads[0], "Quiet one");
    assert_eq!(first_heads[1], "Story number 25 #Paged");
    let next = next_link(&first.body).expect("a next page link");
    let second = app.browser().get(&next).await;
    let second_heads = headlines(&second.body);
    assert_eq!(second_heads.len(), 6, "{second_heads:?}");
    assert_eq!(second_heads.last().unwrap(), "Story number 01 #Paged");
    assert!(next_link(&second.body).is_none());
    assert!(first_heads.iter().all(|h| !second_heads.contains(h)));

    // Profile: only the author's stories, paginated.
    let profile = app.browser().get("/@prolific").await;
    let heads = headlines(&profile.body);
    assert_eq!(heads.len(), 20);
    assert!(!heads.contains(&"Quiet one".to_owned()));
    let more = app.browser().get(&next_link(&profile.body).unwrap()).await;
    assert_eq!(headlines(&more.body).len(), 5);

    // Tag page: likewise.
    let tag = app.browser().get("/tags/PAGED").await;
    assert_eq!(headlines(&tag.body).len(), 20);
    let more = app.browser().get(&next_link(&tag.body).unwrap()).await;
    assert_eq!(headlines(&more.body).len(), 5);
}
