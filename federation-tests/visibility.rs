//! Followers-only and direct posts between real Tidings processes (issue #13, item 1;
//! docs/visibility.md): a followers-only post reaches the follower's server and not a
//! server without a follower; a direct post reaches the mentioned account, and not the
//! follower's server. What was delivered is read from alpha's delivery log
//! (`delivered inbox=…`), what arrived from the users' own API.

use serde_json::{Value, json};

use crate::harness::{Instance, Network, eventually};

fn content(status: &Value) -> &str {
    status["content"].as_str().unwrap_or("")
}

/// How many deliveries alpha's log records to `to`'s inboxes.
fn deliveries_to(alpha: &Instance, to: &Instance) -> usize {
    let inbox = format!("{}/", to.domain);
    alpha
        .log()
        .lines()
        .filter(|l| l.contains("delivered") && l.contains(&inbox))
        .count()
}

#[tokio::test(flavor = "multi_thread")]
async fn followers_only_and_direct_posts_reach_only_their_audience() {
    let net = Network::start().await;
    let alice = net.alpha().user(&net, "alice", false).await;
    let bob = net.beta().user(&net, "bob", false).await;
    let carol = net.gamma().user(&net, "carol", false).await;

    // Bob follows alice; carol does not, but alice knows of her.
    let alice_at_beta = bob.follow(&alice.handle).await;
    bob.wait_until_following(&alice_at_beta, "beta's follow of alice is accepted")
        .await;
    alice.resolve_account(&carol.handle).await;
    let to_beta = deliveries_to(net.alpha(), net.beta());

    // Followers only: it reaches bob's home on beta, marked private.
    let private = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": "Harbour closed to visitors tomorrow\n\nFor the regulars only.",
                    "visibility": "private" }),
        )
        .await;
    assert_eq!(private["visibility"], "private");
    let at_beta = eventually("the followers-only post reaches bob's home", || {
        bob.in_home("Harbour closed to visitors")
    })
    .await;
    assert_eq!(at_beta["visibility"], "private", "{at_beta}");
    eventually("alpha records the delivery to beta", || async {
        (deliveries_to(net.alpha(), net.beta()) > to_beta).then_some(())
    })
    .await;
    // Nothing went to gamma, where nobody follows alice.
    assert_eq!(deliveries_to(net.alpha(), net.gamma()), 0);

    // Direct, mentioning carol: carol is told and can read it on gamma; beta (a
    // follower's server) gets nothing.
    let to_beta = deliveries_to(net.alpha(), net.beta());
    let direct = alice
        .post(
            "/api/v1/statuses",
            json!({ "status": format!("Psst @{}, the back door is open", carol.handle),
                    "visibility": "direct" }),
        )
        .await;
    assert_eq!(direct["visibility"], "direct");
    let told = eventually("carol is told of the direct post", || async {
        carol
            .notifications()
            .await
            .into_iter()
            .find(|n| content(&n["status"]).contains("the back door is open"))
    })
    .await;
    assert_eq!(told["type"], "mention", "{told}");
    let at_gamma = told["status"].clone();
    assert_eq!(at_gamma["visibility"], "direct", "{at_gamma}");
    assert_eq!(at_gamma["account"]["acct"], alice.handle.as_str());
    let mentions: Vec<&str> = at_gamma["mentions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["acct"].as_str())
        .collect();
    assert_eq!(mentions, ["carol"], "{at_gamma}");
    eventually("alpha records the delivery to gamma", || async {
        (deliveries_to(net.alpha(), net.gamma()) == 1).then_some(())
    })
    .await;
    assert_eq!(deliveries_to(net.alpha(), net.beta()), to_beta);
    assert!(bob.in_home("the back door is open").await.is_none());
}
