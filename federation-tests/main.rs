//! Federation scenarios between three real `tidings` processes (see harness.rs and
//! README.md). Each test starts its own alpha, beta and gamma, each on its own database
//! (SQLite, or PostgreSQL when `TIDINGS_TEST_DATABASE_URL` is set).

mod boosts;
#[path = "../tests/it/common/mod.rs"]
mod common;
mod harness;
mod interop_fedify;
mod interop_pasture;
mod peers;
mod visibility;

use std::time::Duration;

use harness::{Network, eventually, eventually_within};
use serde_json::{Value, json};

fn content(status: &Value) -> &str {
    status["content"].as_str().unwrap_or("")
}

fn count(status: &Value, field: &str) -> i64 {
    status[field].as_i64().unwrap_or(-1)
}

fn reaction_count(status: &Value, emoji: &str) -> i64 {
    status["emoji_reactions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|r| r["name"] == emoji)
        .and_then(|r| r["count"].as_i64())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread")]
async fn stories_replies_votes_and_reactions_travel_both_ways() {
    let net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let carol = net.gamma().user(&net, "carol", false).await;

    // Bob and Carol find @newsMNC by handle (WebFinger) and follow; alpha accepts.
    let news_at_beta = bob.follow(&news.handle).await;
    let news_at_gamma = carol.follow(&news.handle).await;
    bob.wait_until_following(&news_at_beta, "beta's follow of newsMNC is accepted")
        .await;
    carol
        .wait_until_following(&news_at_gamma, "gamma's follow of newsMNC is accepted")
        .await;
    let me = news.get("/api/v1/accounts/verify_credentials").await;
    assert_eq!(count(&me, "followers_count"), 2, "{me}");

    // A story with a hashtag reaches both followers' home timelines, tag and all.
    let story = news
        .story(
            "Harbour reopens after the storm",
            "Ferries run again. #WorldNEWS",
        )
        .await;
    let story_id = story["id"].as_str().unwrap().to_owned();
    let at_beta = eventually("the story reaches bob's home", || {
        bob.in_home("Harbour reopens after the storm")
    })
    .await;
    assert!(
        content(&at_beta).contains("Ferries run again."),
        "{at_beta}"
    );
    assert!(
        at_beta["tags"].as_array().unwrap().iter().any(|t| t["name"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("worldnews")),
        "{at_beta}"
    );
    assert_eq!(at_beta["account"]["acct"], news.handle.as_str());
    let at_gamma = eventually("the story reaches carol's home", || {
        carol.in_home("Harbour reopens after the storm")
    })
    .await;
    let beta_story_id = at_beta["id"].as_str().unwrap().to_owned();
    let gamma_story_id = at_gamma["id"].as_str().unwrap().to_owned();

    // Bob replies from beta: the reply joins the thread on alpha and notifies the author.
    bob.reply(&beta_story_id, "Glad to hear it, the island needed this.")
        .await;
    let reply_at_alpha = eventually("bob's reply shows in the thread on alpha", || async {
        news.context(&story_id).await["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| content(s).contains("the island needed this"))
            .cloned()
    })
    .await;
    assert_eq!(reply_at_alpha["account"]["acct"], bob.handle.as_str());
    assert_eq!(reply_at_alpha["in_reply_to_id"], story_id.as_str());
    eventually("newsMNC is told of bob's reply", || async {
        news.notifications()
            .await
            .into_iter()
            .find(|n| n["account"]["acct"] == bob.handle.as_str())
    })
    .await;

    // newsMNC answers on alpha: the answer reaches beta (bob's server) under bob's reply.
    let reply_id = reply_at_alpha["id"].as_str().unwrap();
    news.reply(reply_id, "Thanks Bob, more photos tomorrow.")
        .await;
    eventually("newsMNC's answer shows in the thread on beta", || async {
        bob.context(&beta_story_id).await["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| content(s).contains("more photos tomorrow"))
            .cloned()
    })
    .await;

    // Votes and reactions from two servers add up on alpha.
    bob.post(
        &format!("/api/v1/statuses/{beta_story_id}/favourite"),
        json!({}),
    )
    .await;
    carol
        .post(
            &format!("/api/v1/statuses/{gamma_story_id}/favourite"),
            json!({}),
        )
        .await;
    bob.put(
        &format!("/api/v1/pleroma/statuses/{beta_story_id}/reactions/🎉"),
        json!({}),
    )
    .await;
    eventually("two up-votes and a reaction arrive on alpha", || async {
        let s = news.status(&story_id).await?;
        (count(&s, "favourites_count") == 2 && reaction_count(&s, "🎉") == 1).then_some(s)
    })
    .await;

    // Carol changes her mind: a down-vote replaces her up-vote; Bob takes his reaction back.
    carol
        .post(
            &format!("/api/v1/statuses/{gamma_story_id}/downvote"),
            json!({}),
        )
        .await;
    bob.delete(&format!(
        "/api/v1/pleroma/statuses/{beta_story_id}/reactions/🎉"
    ))
    .await;
    eventually(
        "the down-vote and the withdrawn reaction arrive",
        || async {
            let s = news.status(&story_id).await?;
            (count(&s, "favourites_count") == 1
                && count(&s["tidings"], "downvotes_count") == 1
                && reaction_count(&s, "🎉") == 0)
                .then_some(s)
        },
    )
    .await;

    // The other way: newsMNC follows bob, bob's story lands in newsMNC's home, and
    // newsMNC's up-vote counts on beta.
    let bob_at_alpha = news.follow(&bob.handle).await;
    news.wait_until_following(&bob_at_alpha, "alpha's follow of bob is accepted")
        .await;
    let bobs = bob
        .story("Island market this Saturday", "Bring a basket. #Local")
        .await;
    let bobs_at_alpha = eventually("bob's story reaches newsMNC's home", || {
        news.in_home("Island market this Saturday")
    })
    .await;
    news.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            bobs_at_alpha["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    let bobs_id = bobs["id"].as_str().unwrap();
    eventually("newsMNC's up-vote arrives on beta", || async {
        let s = bob.status(bobs_id).await?;
        (count(&s, "favourites_count") == 1).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn edits_deletes_and_unfollows_reach_followers() {
    let net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let carol = net.gamma().user(&net, "carol", false).await;
    for (who, id) in [
        (&bob, bob.follow(&news.handle).await),
        (&carol, carol.follow(&news.handle).await),
    ] {
        who.wait_until_following(&id, "the follow is accepted")
            .await;
    }

    let story = news
        .story("Bridge closed for repairs", "Until Friday. #Traffic")
        .await;
    let story_id = story["id"].as_str().unwrap();
    let at_beta = eventually("the story reaches bob", || {
        bob.in_home("Bridge closed for repairs")
    })
    .await;
    let beta_id = at_beta["id"].as_str().unwrap().to_owned();

    news.put(
        &format!("/api/v1/statuses/{story_id}"),
        json!({ "headline": "Bridge closed for repairs", "status": "Until Monday now. #Traffic" }),
    )
    .await;
    eventually("the edit reaches bob", || async {
        let s = bob.status(&beta_id).await?;
        content(&s).contains("Until Monday now").then_some(())
    })
    .await;

    news.delete(&format!("/api/v1/statuses/{story_id}")).await;
    eventually("the deletion reaches bob", || async {
        match bob.status(&beta_id).await {
            None => Some(()),
            Some(_) => None,
        }
    })
    .await;
    assert!(bob.in_home("Bridge closed").await.is_none());

    // Bob unfollows: alpha counts one follower left, and the next story reaches only Carol.
    let news_at_beta = bob.resolve_account(&news.handle).await;
    bob.post(
        &format!(
            "/api/v1/accounts/{}/unfollow",
            news_at_beta["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    eventually("alpha sees bob leave", || async {
        let me = news.get("/api/v1/accounts/verify_credentials").await;
        (count(&me, "followers_count") == 1).then_some(())
    })
    .await;
    news.story("Ferry timetable for winter", "Fewer crossings. #Traffic")
        .await;
    eventually("carol, still following, gets the next story", || {
        carol.in_home("Ferry timetable for winter")
    })
    .await;
    assert!(
        bob.in_home("Ferry timetable").await.is_none(),
        "an unfollowed account's story reached bob"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn deliveries_wait_for_a_stopped_peer() {
    let mut net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let id = bob.follow(&news.handle).await;
    bob.wait_until_following(&id, "the follow is accepted")
        .await;

    net.beta_mut().stop();
    news.story("Posted while beta was down", "Stored, then delivered. #Ops")
        .await;
    // Long enough for alpha's first attempt to fail.
    tokio::time::sleep(Duration::from_secs(2)).await;
    net.beta_mut().start().await;

    // The first retry comes 30 s after the failed attempt (docs/federation.md).
    eventually_within(
        Duration::from_secs(90),
        "the story reaches bob after beta is back",
        || bob.in_home("Posted while beta was down"),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_report_about_a_remote_post_reaches_its_moderators() {
    let net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    net.alpha().create_user("modMNC", true);
    let bob = net.beta().user(&net, "bob", false).await;
    let id = bob.follow(&news.handle).await;
    bob.wait_until_following(&id, "the follow is accepted")
        .await;
    news.story("Miracle cure sold here", "Buy now. #Health")
        .await;
    let at_beta = eventually("the story reaches bob", || {
        bob.in_home("Miracle cure sold here")
    })
    .await;

    bob.post(
        "/api/v1/reports",
        json!({
            "account_id": id,
            "status_ids": [at_beta["id"]],
            "comment": "Selling fake medicine",
            "forward": true,
        }),
    )
    .await;

    let moderator = net.alpha().browser(&net, "modMNC").await;
    eventually("the forwarded report is in alpha's queue", || async {
        let page = moderator.get("/moderation").await;
        page.body.contains("Selling fake medicine").then_some(page)
    })
    .await
    .assert_contains("Miracle cure sold here");
}

fn option_votes(poll: &Value, i: usize) -> i64 {
    poll["options"][i]["votes_count"].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poll_on_alpha_counts_votes_from_beta_and_gamma_and_both_see_the_counts() {
    let net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let carol = net.gamma().user(&net, "carol", false).await;
    for (user, what) in [(&bob, "beta"), (&carol, "gamma")] {
        let id = user.follow(&news.handle).await;
        user.wait_until_following(&id, &format!("{what}'s follow is accepted"))
            .await;
    }

    // A poll on alpha reaches both followers as a Question.
    let poll = news
        .post(
            "/api/v1/statuses",
            json!({"headline": "Ferry or bridge?", "status": "Which should the island keep?",
                   "poll": {"options": ["Ferry", "Bridge"], "expires_in": 3600}}),
        )
        .await;
    let poll_id = poll["id"].as_str().unwrap().to_owned();
    let at_beta = eventually("the poll reaches bob", || bob.in_home("Ferry or bridge?")).await;
    let at_gamma = eventually("the poll reaches carol", || {
        carol.in_home("Ferry or bridge?")
    })
    .await;
    assert_eq!(
        at_beta["poll"]["options"][1]["title"], "Bridge",
        "{at_beta}"
    );
    assert_eq!(at_beta["poll"]["voted"], false);
    let beta_id = at_beta["poll"]["id"].as_str().unwrap().to_owned();
    let gamma_id = at_gamma["poll"]["id"].as_str().unwrap().to_owned();

    // Bob votes on beta (a Note to alpha); alpha counts it and it is not a reply there.
    let mine = bob
        .post(
            &format!("/api/v1/polls/{beta_id}/votes"),
            json!({"choices": [1]}),
        )
        .await;
    assert_eq!(mine["own_votes"], json!([1]));
    eventually("alpha counts bob's vote", || async {
        let p = news.get(&format!("/api/v1/polls/{poll_id}")).await;
        (option_votes(&p, 1) == 1).then_some(p)
    })
    .await;
    let s = news.status(&poll_id).await.unwrap();
    assert_eq!(count(&s, "replies_count"), 0, "{s}");

    // Carol votes on gamma; beta learns of it only through alpha's Update(Question).
    carol
        .post(
            &format!("/api/v1/polls/{gamma_id}/votes"),
            json!({"choices": [0]}),
        )
        .await;
    eventually("alpha counts carol's vote", || async {
        let p = news.get(&format!("/api/v1/polls/{poll_id}")).await;
        (option_votes(&p, 0) == 1 && count(&p, "voters_count") == 2).then_some(p)
    })
    .await;
    let at_beta = eventually(
        "beta shows the new counts after Update(Question)",
        || async {
            let p = bob.get(&format!("/api/v1/polls/{beta_id}")).await;
            (option_votes(&p, 0) == 1 && option_votes(&p, 1) == 1).then_some(p)
        },
    )
    .await;
    assert_eq!(at_beta["voters_count"], 2, "{at_beta}");
    assert_eq!(at_beta["own_votes"], json!([1]));
}
