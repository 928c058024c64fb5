//! Boosts between real Tidings processes (issue #13, item 5): a boost on beta reaches the
//! story's server as an `Announce` (counted, the author told) and the booster's followers
//! on gamma see it in their home timeline as a reblog; the unboost (`Undo(Announce)`)
//! takes both back.

use serde_json::{Value, json};

use crate::harness::{Network, eventually};

fn reblogs(status: &Value) -> i64 {
    status["reblogs_count"].as_i64().unwrap_or(-1)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boost_and_its_undo_reach_the_author_and_the_boosters_followers() {
    let net = Network::start().await;
    let news = net.alpha().user(&net, "newsMNC", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let carol = net.gamma().user(&net, "carol", false).await;

    // Bob follows newsMNC (so beta has the story); carol follows newsMNC and bob.
    for (who, handle, what) in [
        (&bob, &news.handle, "bob follows newsMNC"),
        (&carol, &news.handle, "carol follows newsMNC"),
        (&carol, &bob.handle, "carol follows bob"),
    ] {
        let id = who.follow(handle).await;
        who.wait_until_following(&id, what).await;
    }

    let story = news
        .story(
            "Lighthouse keeper retires",
            "Forty years on the rock. #harbour",
        )
        .await;
    let story_id = story["id"].as_str().unwrap().to_owned();
    let at_beta = eventually("the story reaches bob's home", || {
        bob.in_home("Lighthouse keeper retires")
    })
    .await;
    let beta_id = at_beta["id"].as_str().unwrap().to_owned();
    eventually("the story reaches carol's home", || {
        carol.in_home("Lighthouse keeper retires")
    })
    .await;

    // Bob boosts on beta.
    let boosted = bob
        .post(&format!("/api/v1/statuses/{beta_id}/reblog"), json!({}))
        .await;
    assert_eq!(boosted["reblog"]["id"], beta_id.as_str(), "{boosted}");

    // Alpha counts it and tells the author.
    eventually("alpha counts bob's boost", || async {
        news.status(&story_id).await.filter(|s| reblogs(s) == 1)
    })
    .await;
    eventually("newsMNC is told of the boost", || async {
        news.notifications()
            .await
            .into_iter()
            .find(|n| n["type"] == "reblog" && n["account"]["acct"] == bob.handle.as_str())
    })
    .await;

    // Carol, who follows bob, sees the boost in her home: a status by bob with the story.
    let seen = eventually("carol's home shows bob's boost", || async {
        carol.home().await.into_iter().find(|s| {
            s["account"]["acct"] == bob.handle.as_str()
                && s["reblog"]["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Forty years on the rock"))
        })
    })
    .await;
    assert_eq!(
        seen["reblog"]["account"]["acct"],
        news.handle.as_str(),
        "{seen}"
    );

    // Bob takes it back: alpha's count returns to 0 and carol's home loses the boost.
    bob.post(&format!("/api/v1/statuses/{beta_id}/unreblog"), json!({}))
        .await;
    eventually("alpha uncounts the boost", || async {
        news.status(&story_id).await.filter(|s| reblogs(s) == 0)
    })
    .await;
    eventually("the boost leaves carol's home", || async {
        (!carol
            .home()
            .await
            .into_iter()
            .any(|s| s["account"]["acct"] == bob.handle.as_str() && !s["reblog"].is_null()))
        .then_some(())
    })
    .await;
}
