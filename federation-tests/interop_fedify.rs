//! Tidings against an independent implementation: one Fedify actor (npm `@fedify/fedify`,
//! run by `fedify/peer.mjs` under Node) at `https://peer.test:PORT/users/peer`, and one
//! Tidings instance at `https://tidings.test:PORT`, both serving HTTPS with certificates
//! of a CA made for the run, both resolving the two names to loopback without DNS.
//!
//! The evidence that what Tidings sends is accepted is the peer's own: Fedify dispatches
//! an activity to its inbox listeners only after verifying its HTTP signature against the
//! sender's key, and the peer lists exactly those (`GET /control/inbox`). What it refused
//! (`GET /control/rejections`, with Fedify's answer and log lines) is printed when a check
//! fails.
//!
//! The peer's npm packages are installed on first use (`federation-tests/fedify/install.sh`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{Network, SETTLE, TestTls, eventually, free_port};

const TIDINGS_OCTET: u8 = 21;
const PEER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 22);

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("federation-tests/fedify")
}

/// Installs the peer's pinned npm packages on first use (see `peers`).
fn ensure_installed() {
    crate::peers::ensure("the Fedify peer", &peer_dir(), || {
        peer_dir()
            .join("node_modules/@fedify/fedify/package.json")
            .exists()
    });
}

/// The Fedify peer process and its control API.
struct FedifyPeer {
    child: Option<Child>,
    /// `peer.test:PORT`
    domain: String,
    control: String,
    client: reqwest::Client,
    log: PathBuf,
}

impl FedifyPeer {
    async fn start(tls: &TestTls, addr: SocketAddr, resolve: &str) -> FedifyPeer {
        let dir = peer_dir();
        ensure_installed();
        let domain = format!("peer.test:{}", addr.port());
        let cert = tls.cert("peer.test");
        let control_port = free_port(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let log = tls.dir.join("fedify-peer.log");
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new("node")
            .arg(dir.join("peer.mjs"))
            .current_dir(&dir)
            .env("PEER_DOMAIN", &domain)
            .env("PEER_LISTEN", addr.to_string())
            .env("PEER_CERT", &cert.cert)
            .env("PEER_KEY", &cert.key)
            .env("PEER_RESOLVE", resolve)
            .env("CONTROL_PORT", control_port.to_string())
            .env("NODE_EXTRA_CA_CERTS", &tls.ca_file)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run node (Node.js 20 or newer is needed): {e}"));
        let mut peer = FedifyPeer {
            child: Some(child),
            domain,
            control: format!("http://127.0.0.1:{control_port}/control"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(res) = peer
                .client
                .get(format!("{}/ready", peer.control))
                .send()
                .await
            {
                if res.status().is_success() {
                    break;
                }
            }
            if let Some(status) = peer.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("the Fedify peer exited with {status}:\n{}", peer.log());
            }
            assert!(
                Instant::now() < deadline,
                "the Fedify peer did not start within 30 s:\n{}",
                peer.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        peer
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn actor_id(&self) -> String {
        format!("https://{}/users/peer", self.domain)
    }

    fn handle(&self) -> String {
        format!("peer@{}", self.domain)
    }

    /// Makes the peer act; panics with its error and what it refused.
    async fn act(&self, action: &str, args: Value) -> Value {
        let res = self
            .client
            .post(format!("{}/{action}", self.control))
            .json(&args)
            .send()
            .await
            .unwrap_or_else(|e| panic!("peer {action}: {e}"));
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            panic!(
                "the Fedify peer failed to {action} {args}: {body}\n{}",
                self.rejections_report().await
            );
        }
        body
    }

    async fn get(&self, what: &str) -> Vec<Value> {
        self.client
            .get(format!("{}/{what}", self.control))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What the peer refused, with its reasons, for failure messages.
    async fn rejections_report(&self) -> String {
        let rejected = self.get("rejections").await;
        if rejected.is_empty() {
            return "the peer refused nothing".into();
        }
        let mut out = format!("the peer refused {} request(s):\n", rejected.len());
        for r in rejected {
            out += &format!(
                "  POST {} -> {} {}\n    signature: {}\n    body: {}\n    peer's log:\n",
                r["path"].as_str().unwrap_or(""),
                r["status"],
                r["answer"].as_str().unwrap_or(""),
                r["signature"],
                r["body"].as_str().unwrap_or(""),
            );
            for line in r["log"].as_array().into_iter().flatten() {
                out += &format!("      {}\n", line.as_str().unwrap_or(""));
            }
        }
        out
    }

    /// Waits until the peer's inbox has a verified activity matching `pred`.
    async fn received(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + SETTLE;
        loop {
            if let Some(a) = self
                .get("inbox")
                .await
                .into_iter()
                .find(|a| a["verified"] == true && pred(a))
            {
                // Signed by the actor's own key (`…/users/NAME#main-key`).
                let actor = a["actor"].as_str().unwrap_or("");
                let key = a["keyId"].as_str().unwrap_or("");
                assert!(
                    !actor.is_empty() && key.starts_with(&format!("{actor}#")),
                    "{what} came signed with key {key:?}, not one of its actor {actor:?}: {a}"
                );
                return a;
            }
            if Instant::now() >= deadline {
                let seen: Vec<String> = self
                    .get("inbox")
                    .await
                    .iter()
                    .map(|a| format!("{} {}", a["type"], a["id"]))
                    .collect();
                panic!(
                    "not within {} s: the peer verified {what}\n  it verified: {seen:?}\n{}",
                    SETTLE.as_secs(),
                    self.rejections_report().await
                );
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

impl Drop for FedifyPeer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if std::thread::panicking() {
            eprintln!("----- log of the Fedify peer -----\n{}", self.log());
        }
    }
}

/// `value` as a list (compacted JSON-LD writes a one-element array as the element).
fn list(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        v => vec![v.clone()],
    }
}

/// The id of an object that may be embedded or given by id.
fn id_of(value: &Value) -> &str {
    value
        .as_str()
        .or_else(|| value["id"].as_str())
        .unwrap_or("")
}

fn count(status: &Value, field: &str) -> i64 {
    status[field].as_i64().unwrap_or(-1)
}

/// A client that trusts the test CA and reaches `peer.test`.
fn tidings_client(net: &Network, peer: SocketAddr) -> reqwest::Client {
    crate::harness::Instance::client(net)
        .resolve("peer.test", peer)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fedify_peer_and_tidings_verify_each_other_over_https() {
    ensure_installed();
    let started = Instant::now();
    let tls = TestTls::new();
    let peer_addr = SocketAddr::new(IpAddr::V4(PEER_IP), free_port(IpAddr::V4(PEER_IP)));
    let peer_resolve = format!("peer.test={PEER_IP}");
    let net = Network::start_https(
        &[("tidings", TIDINGS_OCTET)],
        &tls,
        std::slice::from_ref(&peer_resolve),
    )
    .await;
    let tidings = &net.instances[0];
    let resolve = format!("tidings.test=127.0.0.{TIDINGS_OCTET},{peer_resolve}");
    let peer = FedifyPeer::start(&tls, peer_addr, &resolve).await;
    let news = tidings.user(&net, "newsMNC", false).await;
    let news_actor = tidings.actor_id("newsMNC");
    assert!(
        news_actor.starts_with("https://tidings.test:"),
        "{news_actor}"
    );

    // The peer finds @newsMNC by WebFinger (over HTTPS) and follows; Tidings' Accept passes
    // the peer's signature check.
    let followed = peer
        .act("follow", json!({ "handle": format!("@{}", news.handle) }))
        .await;
    assert_eq!(followed["actor"], news_actor.as_str(), "{followed}");
    let follow_id = followed["activity"].as_str().unwrap().to_owned();
    let accept = peer
        .received("Tidings' Accept of its Follow", |a| {
            a["type"] == "Accept" && a["actor"] == news_actor.as_str()
        })
        .await;
    assert_eq!(id_of(&accept["json"]["object"]), follow_id, "{accept}");
    let me = news.get("/api/v1/accounts/verify_credentials").await;
    assert_eq!(count(&me, "followers_count"), 1, "{me}");

    // A story with hashtags reaches the peer as a verified Create of a Note with Hashtags.
    let story = news
        .story(
            "Harbour reopens after the storm",
            "Ferries run again. #WorldNEWS #Harbour",
        )
        .await;
    let story_id = story["id"].as_str().unwrap().to_owned();
    let create = peer
        .received("the Create of the story", |a| {
            a["type"] == "Create"
                && a["actor"] == news_actor.as_str()
                && a["json"]["object"]["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Harbour reopens"))
        })
        .await;
    let note = &create["json"]["object"];
    assert_eq!(note["type"], "Note", "{create}");
    assert_eq!(note["attributedTo"], news_actor.as_str(), "{create}");
    let tags: Vec<String> = list(&note["tag"])
        .iter()
        .filter(|t| t["type"] == "Hashtag")
        .filter_map(|t| t["name"].as_str().map(str::to_lowercase))
        .collect();
    assert!(
        tags.contains(&"#worldnews".to_owned()) && tags.contains(&"#harbour".to_owned()),
        "hashtags {tags:?} in {create}"
    );
    let note_id = note["id"].as_str().unwrap().to_owned();

    // The peer replies; Tidings shows the reply under the story.
    peer.act(
        "reply",
        json!({ "inReplyTo": note_id, "content": "<p>Glad to hear it, from Fedify.</p>" }),
    )
    .await;
    let reply = eventually("the peer's reply shows under the story", || async {
        news.context(&story_id).await["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("Glad to hear it, from Fedify"))
            })
            .cloned()
    })
    .await;
    assert_eq!(reply["in_reply_to_id"], story_id.as_str(), "{reply}");
    assert_eq!(reply["account"]["acct"], peer.handle().as_str(), "{reply}");

    // A followers-only reply (to: the peer's followers, cc: newsMNC, as Mastodon addresses
    // it) is stored as private and shown to newsMNC, whom it addresses, and to nobody else
    // here (issue #13).
    let reader = tidings.user(&net, "reader", false).await;
    peer.act(
        "reply",
        json!({ "inReplyTo": note_id, "content": "<p>Between us: the ferry is late.</p>",
                "visibility": "private" }),
    )
    .await;
    let private = eventually("the followers-only reply shows to newsMNC", || async {
        news.context(&story_id).await["descendants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("the ferry is late"))
            })
            .cloned()
    })
    .await;
    assert_eq!(private["visibility"], "private", "{private}");
    let seen_by_reader = reader.context(&story_id).await;
    assert!(
        !seen_by_reader.to_string().contains("the ferry is late"),
        "a local account that neither follows the peer nor is addressed sees it: {seen_by_reader}"
    );
    assert!(
        seen_by_reader
            .to_string()
            .contains("Glad to hear it, from Fedify"),
        "the public reply stays visible: {seen_by_reader}"
    );

    // The peer likes the story: the score moves.
    peer.act("like", json!({ "object": note_id })).await;
    eventually("the peer's Like counts on the story", || async {
        let s = news.status(&story_id).await?;
        (count(&s, "favourites_count") == 1).then_some(())
    })
    .await;

    // newsMNC follows the peer by handle; the peer verifies the Follow and accepts.
    let peer_at_tidings = news.follow(&peer.handle()).await;
    peer.received("Tidings' Follow", |a| {
        a["type"] == "Follow"
            && a["actor"] == news_actor.as_str()
            && id_of(&a["json"]["object"]) == peer.actor_id()
    })
    .await;
    news.wait_until_following(&peer_at_tidings, "the peer accepts newsMNC's follow")
        .await;

    // The peer's post reaches newsMNC's home timeline, hashtag and all.
    let posted = peer
        .act(
            "post",
            json!({ "content": "<p>Lighthouse lit again tonight #Coast</p>", "tags": ["Coast"] }),
        )
        .await;
    let peer_note = posted["note"].as_str().unwrap().to_owned();
    let at_tidings = eventually("the peer's post reaches newsMNC's home", || {
        news.in_home("Lighthouse lit again tonight")
    })
    .await;
    assert_eq!(at_tidings["account"]["acct"], peer.handle().as_str());
    assert!(
        at_tidings["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"].as_str().unwrap().eq_ignore_ascii_case("coast")),
        "{at_tidings}"
    );

    // newsMNC favourites it: the peer verifies the Like.
    news.post(
        &format!(
            "/api/v1/statuses/{}/favourite",
            at_tidings["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    peer.received("Tidings' Like of its post", |a| {
        a["type"] == "Like"
            && a["actor"] == news_actor.as_str()
            && id_of(&a["json"]["object"]) == peer_note
    })
    .await;

    // newsMNC takes the favourite back: the peer verifies the Undo of the Like.
    let like_id = peer
        .received("Tidings' Like", |a| a["type"] == "Like")
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    news.post(
        &format!(
            "/api/v1/statuses/{}/unfavourite",
            at_tidings["id"].as_str().unwrap()
        ),
        json!({}),
    )
    .await;
    peer.received("Tidings' Undo of its Like", |a| {
        a["type"] == "Undo"
            && a["actor"] == news_actor.as_str()
            && id_of(&a["json"]["object"]) == like_id
    })
    .await;

    // newsMNC unfollows the peer: the peer verifies the Undo of the Follow.
    news.post(
        &format!("/api/v1/accounts/{peer_at_tidings}/unfollow"),
        json!({}),
    )
    .await;
    peer.received("Tidings' Undo of its Follow", |a| {
        a["type"] == "Undo"
            && a["actor"] == news_actor.as_str()
            && (a["json"]["object"]["type"] == "Follow" || a["json"]["object"].is_string())
    })
    .await;

    // The peer unfollows newsMNC: Tidings counts no follower.
    peer.act("unfollow", json!({ "handle": format!("@{}", news.handle) }))
        .await;
    eventually("Tidings sees the peer leave", || async {
        let me = news.get("/api/v1/accounts/verify_credentials").await;
        (count(&me, "followers_count") == 0).then_some(())
    })
    .await;

    let refused = peer.get("rejections").await;
    assert!(refused.is_empty(), "{}", peer.rejections_report().await);

    // The other side of the evidence: an unsigned copy of an activity is refused by the
    // peer, not listed as received, and its reason is reported.
    let forged = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{news_actor}#forged"),
        "type": "Like",
        "actor": news_actor,
        "object": peer_note,
    });
    let client = tidings_client(&net, peer_addr);
    let res = client
        .post(format!("{}/inbox", peer.actor_id()))
        .header("content-type", "application/activity+json")
        .body(forged.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401, "an unsigned activity was not refused");
    let report = peer.rejections_report().await;
    assert!(
        report.contains("401") && report.contains("forged"),
        "the refusal is not reported: {report}"
    );
    assert!(
        !peer
            .get("inbox")
            .await
            .iter()
            .any(|a| a["id"].as_str().is_some_and(|i| i.ends_with("#forged"))),
        "the peer listed an unsigned activity as received"
    );
    eprintln!(
        "Fedify interop scenario took {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
