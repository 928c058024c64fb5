//! Votes, reactions, replies, story follows and notifications over real HTTP.

use crate::common::{Browser, Page, TestApp};
use reqwest::StatusCode;

/// The engagement block of a post on a page: `Score N`, popularity, reactions.
fn engagement(page: &Page, post_id: i64) -> String {
    let marker = format!("id=\"eng-{post_id}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {marker} in\n{}", page.body));
    let rest = &page.body[at..];
    let end = rest
        .find("</details>")
        .or_else(|| rest.find("none yet"))
        .unwrap_or(rest.len().min(4000));
    rest[..end].to_owned()
}

async fn vote(b: &mut Browser, post: i64, value: &str) -> Page {
    b.post_form(
        &format!("/posts/{post}/vote"),
        &[("value", value), ("return_to", &format!("/stories/{post}"))],
    )
    .await
}

#[tokio::test]
async fn votes_move_the_score_and_popularity() {
    let app = TestApp::spawn().await;
    let mut author = app.user("author").await;
    let id = author.post_story("Vote on me", "text").await;
    let mut a = app.user("alice").await;
    let mut b = app.user("bob").await;
    let mut c = app.user("carol").await;

    let res = vote(&mut a, id, "up").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), format!("/stories/{id}"));
    vote(&mut b, id, "up").await;
    vote(&mut c, id, "down").await;
    // A double submit changes nothing.
    vote(&mut a, id, "up").await;

    let page = app.browser().get(&format!("/stories/{id}")).await;
    let e = engagement(&page, id);
    assert!(e.contains("Score 1"), "{e}");
    assert!(e.contains("67% liked"), "{e}");
    assert!(e.contains("title=\"2 up, 1 down\""), "{e}");

    // Change and take back.
    vote(&mut c, id, "up").await;
    vote(&mut b, id, "none").await;
    let page = a.get(&format!("/stories/{id}")).await;
    let e = engagement(&page, id);
    assert!(e.contains("Score 2") && e.contains("100% liked"), "{e}");
    // Alice sees her own vote pressed.
    assert!(
        e.contains("value=\"none\" class=\"vote on\" aria-pressed=\"true\">Vote Up"),
        "{e}"
    );

    // Bad input: unknown post, a vote that is not up/down/none, a deleted post.
    assert_eq!(
        vote(&mut a, 999, "up").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        vote(&mut a, id, "sideways").await.status(),
        StatusCode::BAD_REQUEST
    );
    let gone = author.post_story("Soon gone", "text").await;
    author
        .post_form(&format!("/stories/{gone}/delete"), &[])
        .await;
    assert_eq!(vote(&mut a, gone, "up").await.status(), StatusCode::GONE);

    // Logged out: a link to log in instead of buttons, and a POST is refused.
    let anon = app.browser().get(&format!("/stories/{id}")).await;
    anon.assert_contains(&format!(
        "<a class=\"vote\" href=\"/login?return_to=/stories/{id}\">Vote Up</a>"
    ));
    let mut anon = app.browser();
    assert_eq!(
        vote(&mut anon, id, "up").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn parallel_votes_give_the_exact_count() {
    let app = TestApp::spawn().await;
    let mut author = app.user("popular").await;
    let id = author.post_story("Everyone votes", "text").await;
    let mut voters = Vec::new();
    for i in 0..24 {
        voters.push(app.user(&format!("voter{i}")).await);
    }
    // Every voter fetches a token first, then all vote at once; half of them twice.
    for v in &mut voters {
        v.csrf().await;
    }
    let mut tasks = Vec::new();
    for (i, mut v) in voters.into_iter().enumerate() {
        tasks.push(tokio::spawn(async move {
            let value = if i % 4 == 0 { "down" } else { "up" };
            let mut twin = v.clone_session();
            let first = vote(&mut v, id, value);
            let again = async {
                if i % 2 == 0 {
                    Some(vote(&mut twin, id, value).await.status())
                } else {
                    None
                }
            };
            let (a, b) = tokio::join!(first, again);
            (a.status(), b)
        }));
    }
    for t in tasks {
        let (a, b) = t.await.unwrap();
        assert_eq!(a, StatusCode::SEE_OTHER);
        if let Some(b) = b {
            assert_eq!(b, StatusCode::SEE_OTHER);
        }
    }
    let page = app.browser().get(&format!("/stories/{id}")).await;
    let e = engagement(&page, id);
    assert!(e.contains("title=\"18 up, 6 down\""), "{e}");
    assert!(e.contains("Score 12"), "{e}");
}

#[tokio::test]
async fn reactions_count_per_emoji_and_can_be_taken_back() {
    let app = TestApp::spawn().await;
    let mut author = app.user("reacted").await;
    let id = author.post_story("React to me", "text").await;
    let mut a = app.user("ann").await;
    let mut b = app.user("ben").await;
    let path = format!("/posts/{id}/react");
    for (who, emoji) in [("a", "🎉"), ("a", "👍"), ("b", "🎉"), ("a", "🎉")] {
        let browser = if who == "a" { &mut a } else { &mut b };
        let res = browser.post_form(&path, &[("emoji", emoji)]).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    // Any single emoji works, typed in.
    b.post_form(&path, &[("emoji", "🦀")]).await;
    let page = a.get(&format!("/stories/{id}")).await;
    let e = engagement(&page, id);
    assert!(e.contains("🎉 <span class=\"count\">2</span>"), "{e}");
    assert!(e.contains("👍 <span class=\"count\">1</span>"), "{e}");
    assert!(e.contains("🦀 <span class=\"count\">1</span>"), "{e}");
    // Ann sees her 🎉 as pressed, and pressing it takes it back.
    assert!(
        e.contains(&format!("action=\"/posts/{id}/unreact\"")),
        "{e}"
    );
    let res = a
        .post_form(&format!("/posts/{id}/unreact"), &[("emoji", "🎉")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let e = engagement(&app.browser().get(&format!("/stories/{id}")).await, id);
    assert!(e.contains("🎉 <span class=\"count\">1</span>"), "{e}");

    // Not one emoji: refused with the reason, nothing stored.
    for bad in ["", "ab", "🎉🎉", "<b>x</b>"] {
        let res = a.post_form(&path, &[("emoji", bad)]).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
        res.assert_contains("emoji");
    }
    let e = engagement(&app.browser().get(&format!("/stories/{id}")).await, id);
    assert_eq!(e.matches("class=\"count\"").count(), 3, "{e}");
    // The front page shows the tallies too.
    app.browser().get("/").await.assert_contains("🦀 1");
}

/// Ids of the replies on a page, in the order shown, with their indentation.
fn reply_order(page: &Page) -> Vec<(i64, usize)> {
    page.body
        .split("<article class=\"reply indent-")
        .skip(1)
        .map(|s| {
            let indent: usize = s[..s.find('"').unwrap()].parse().unwrap();
            let at = s.find("id=\"reply-").unwrap() + "id=\"reply-".len();
            let id: i64 = s[at..].split('"').next().unwrap().parse().unwrap();
            (id, indent)
        })
        .collect()
}

fn reply_id(res: &Page) -> i64 {
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    res.location()
        .strip_prefix("/replies/")
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn threads_nest_and_sort_latest_oldest_best() {
    let app = TestApp::spawn().await;
    let mut author = app.user("storyteller").await;
    let story = author
        .post_story("Discuss #Things", "What do you think?")
        .await;
    let mut a = app.user("ava").await;
    let mut b = app.user("bo").await;
    let first = reply_id(
        &a.post_form(&format!("/posts/{story}/reply"), &[("body", "First!")])
            .await,
    );
    let second = reply_id(
        &b.post_form(
            &format!("/posts/{story}/reply"),
            &[("body", "Second, better")],
        )
        .await,
    );
    let nested = reply_id(
        &b.post_form(
            &format!("/posts/{first}/reply"),
            &[("body", "Answer to first")],
        )
        .await,
    );
    // Votes: second gets 2 up, first gets 1 up 1 down.
    vote(&mut a, second, "up").await;
    vote(&mut author, second, "up").await;
    vote(&mut author, first, "up").await;
    vote(&mut b, first, "down").await;

    let page = app.browser().get(&format!("/stories/{story}")).await;
    page.assert_contains("Replies (3)");
    page.assert_contains("Sorted by latest first —");
    assert_eq!(reply_order(&page), [(second, 0), (first, 0), (nested, 1)]);
    let page = app
        .browser()
        .get(&format!("/stories/{story}?sort=oldest"))
        .await;
    page.assert_contains("Sorted by oldest first");
    assert_eq!(reply_order(&page), [(first, 0), (nested, 1), (second, 0)]);
    let page = app
        .browser()
        .get(&format!("/stories/{story}?sort=best"))
        .await;
    assert_eq!(reply_order(&page), [(second, 0), (first, 0), (nested, 1)]);

    // A reply has its own page with its replies and a link to the story.
    let own = app.browser().get(&format!("/replies/{first}")).await;
    assert_eq!(own.status(), StatusCode::OK);
    own.assert_contains("Answer to first");
    own.assert_contains(&format!("<a href=\"/stories/{story}\">Discuss #Things</a>"));
    assert_eq!(reply_order(&own), [(first, 0), (nested, 1)]);

    // An empty reply is refused and the form comes back with the reason.
    let res = a
        .post_form(&format!("/posts/{first}/reply"), &[("body", "   ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Write your reply.");
    let long = "y".repeat(10_001);
    let res = a
        .post_form(&format!("/posts/{story}/reply"), &[("body", &long)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains(&long);
    res.assert_contains("A reply has at most 10000 characters");
    app.browser()
        .get(&format!("/stories/{story}"))
        .await
        .assert_contains("Replies (3)");
}

#[tokio::test]
async fn a_deleted_story_keeps_its_thread_readable() {
    let app = TestApp::spawn().await;
    let mut author = app.user("regretful").await;
    let story = author.post_story("Hot take", "I take it back later").await;
    let mut r = app.user("replier").await;
    let reply = reply_id(
        &r.post_form(
            &format!("/posts/{story}/reply"),
            &[("body", "Worth keeping")],
        )
        .await,
    );
    author
        .post_form(&format!("/stories/{story}/delete"), &[])
        .await;
    let page = app.browser().get(&format!("/stories/{story}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("[deleted]");
    page.assert_lacks("Hot take");
    page.assert_contains("Worth keeping");
    // A deleted reply leaves a placeholder too; replying to deleted posts is refused.
    r.post_form(&format!("/replies/{reply}/delete"), &[]).await;
    let page = app.browser().get(&format!("/stories/{story}")).await;
    page.assert_lacks("Worth keeping");
    page.assert_contains("[deleted]");
    let res = r
        .post_form(&format!("/posts/{reply}/reply"), &[("body", "hello?")])
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    // Only the author (or a moderator) deletes a reply.
    let mut other = app.user("bystander").await;
    let story2 = author.post_story("Another", "text").await;
    let reply2 = reply_id(
        &r.post_form(&format!("/posts/{story2}/reply"), &[("body", "mine")])
            .await,
    );
    let res = other
        .post_form(&format!("/replies/{reply2}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn following_a_story_brings_notifications() {
    let app = TestApp::spawn().await;
    let mut author = app.user("poster").await;
    let story = author.post_story("Follow this", "text").await;
    let mut fan = app.user("fan").await;
    let mut talker = app.user("talker").await;

    // Logged out: the invitation to log in.
    app.browser()
        .get(&format!("/stories/{story}"))
        .await
        .assert_contains("Login to follow story");

    let res = fan
        .post_form(
            &format!("/stories/{story}/follow"),
            &[("return_to", &format!("/stories/{story}"))],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Following twice is following once.
    fan.post_form(&format!("/stories/{story}/follow"), &[])
        .await;
    fan.get(&format!("/stories/{story}"))
        .await
        .assert_contains("Unfollow story");

    let reply = reply_id(
        &talker
            .post_form(
                &format!("/posts/{story}/reply"),
                &[("body", "Hello @Poster and @fan")],
            )
            .await,
    );
    // The author hears of a reply to their post; the fan of a reply in a followed story
    // (once, though also mentioned).
    let home = author.get("/").await;
    home.assert_contains("<span class=\"badge\" aria-label=\"1 unread\">1</span>");
    let page = author.get("/notifications").await;
    page.assert_contains("replied to your post");
    page.assert_contains(&format!("href=\"/replies/{reply}\""));
    page.assert_contains("<strong>new</strong>");
    // Seen now: the count is gone.
    author.get("/").await.assert_lacks("class=\"badge\"");
    let page = fan.get("/notifications").await;
    assert_eq!(
        page.body
            .matches("<article class=\"card notification unread\">")
            .count(),
        1,
        "{}",
        page.body
    );
    // The mention is linked in the reply.
    app.browser()
        .get(&format!("/replies/{reply}"))
        .await
        .assert_contains("class=\"u-url mention\">@<span>Poster</span></a>");

    // Votes and reactions on your posts notify you; your own do not.
    vote(&mut talker, story, "up").await;
    fan.post_form(&format!("/posts/{story}/react"), &[("emoji", "🔥")])
        .await;
    vote(&mut author, story, "up").await;
    let page = author.get("/notifications").await;
    page.assert_contains("voted your post up");
    page.assert_contains("reacted 🔥 to your post");
    assert_eq!(
        page.body.matches("notification unread").count(),
        2,
        "{}",
        page.body
    );

    // Unfollow: no more notifications from new replies.
    fan.post_form(&format!("/stories/{story}/unfollow"), &[])
        .await;
    talker
        .post_form(&format!("/posts/{story}/reply"), &[("body", "again")])
        .await;
    fan.get("/").await.assert_lacks("class=\"badge\"");
}

#[tokio::test]
async fn front_page_orders_by_newest_top_and_best() {
    let app = TestApp::spawn().await;
    let mut author = app.user("ranker").await;
    let one_vote = author.post_story("One lone upvote", "x").await;
    let mostly = author.post_story("Nine of ten", "x").await;
    let newest = author.post_story("Brand new", "x").await;
    let mut voters = Vec::new();
    for i in 0..10 {
        voters.push(app.user(&format!("v{i}")).await);
    }
    vote(&mut voters[0], one_vote, "up").await;
    for (i, v) in voters.iter_mut().enumerate() {
        vote(v, mostly, if i == 0 { "down" } else { "up" }).await;
    }
    let order = |p: &Page| -> Vec<String> {
        p.body
            .split("<h2 class=\"headline\"><a href=\"/stories/")
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
    };
    let new = app.browser().get("/").await;
    assert_eq!(order(&new), ["Brand new", "Nine of ten", "One lone upvote"]);
    let top = app.browser().get("/?sort=top").await;
    assert_eq!(order(&top), ["Nine of ten", "One lone upvote", "Brand new"]);
    let best = app.browser().get("/?sort=best").await;
    assert_eq!(
        order(&best),
        ["Nine of ten", "One lone upvote", "Brand new"]
    );
    best.assert_contains("90% liked");
    let _ = newest;
    assert_eq!(
        app.browser().get("/?sort=top&after=garbage").await.status(),
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn top_order_paginates_without_overlap() {
    let app = TestApp::spawn().await;
    let mut author = app.user("many").await;
    let mut fan = app.user("fan").await;
    let mut ids = Vec::new();
    for i in 0..23 {
        ids.push(author.post_story(&format!("Story {i:02}"), "x").await);
    }
    for id in ids.iter().step_by(3) {
        vote(&mut fan, *id, "up").await;
    }
    let first = app.browser().get("/?sort=top").await;
    let at = first.body.find("<a rel=\"next\" href=\"").unwrap() + 20;
    let next = first.body[at..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
        .replace("&#38;", "&");
    assert!(next.starts_with("/?sort=top&after=0_"), "{next}");
    let second = app.browser().get(&next).await;
    let heads = |p: &Page| p.body.matches("<h2 class=\"headline\">").count();
    assert_eq!(heads(&first) + heads(&second), 23);
    for i in 0..23 {
        let h = format!(">Story {i:02}<");
        assert!(
            first.body.contains(&h) ^ second.body.contains(&h),
            "{h} on exactly one page"
        );
    }
}
