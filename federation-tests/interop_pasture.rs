//! Tidings checked by fediverse-pasture (PyPI `fediverse-pasture`), an independent test
//! tool built on bovine. Its verify-actor application is run by `pasture/verify_actor.py`
//! at `https://pasture.test:PORT` (its test actors alice … frank live there, so Tidings
//! fetches their keys from it), and asked to verify `https://tidings.test:PORT/users/newsMNC`
//! the way a strict remote would: WebFinger round-trip, signed and unsigned GETs of the
//! actor, POSTs to its inbox from unsigned and signed test actors. The evidence is
//! pasture's own table, printed with its event log when a check fails.
//!
//! Pasture's Python packages are installed on first use (`federation-tests/pasture/install.sh`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use serde_json::Value;

use crate::harness::{Network, TestTls, free_port};

const TIDINGS_OCTET: u8 = 31;
const PASTURE_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 32);

fn pasture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("federation-tests/pasture")
}

fn python() -> PathBuf {
    pasture_dir().join(".venv/bin/python")
}

/// Installs fediverse-pasture into its virtualenv on first use (see `peers`).
fn ensure_installed() {
    crate::peers::ensure("fediverse-pasture", &pasture_dir(), || {
        python().exists()
            && pasture_dir()
                .join(".venv/lib")
                .read_dir()
                .into_iter()
                .flatten()
                .flatten()
                .any(|d| d.path().join("site-packages/fediverse_pasture").exists())
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn fediverse_pasture_verifies_the_actor_over_https() {
    ensure_installed();
    let started = Instant::now();
    let tls = TestTls::new();
    let pasture_addr = SocketAddr::new(IpAddr::V4(PASTURE_IP), free_port(IpAddr::V4(PASTURE_IP)));
    let pasture_resolve = format!("pasture.test={PASTURE_IP}");
    let net = Network::start_https(
        &[("tidings", TIDINGS_OCTET)],
        &tls,
        std::slice::from_ref(&pasture_resolve),
    )
    .await;
    let tidings = &net.instances[0];
    let news = tidings.user(&net, "newsMNC", false).await;
    let actor = tidings.actor_id("newsMNC");

    let cert = tls.cert("pasture.test");
    let log = tls.dir.join("pasture.log");
    let out = std::fs::File::create(&log).unwrap();
    let driver = pasture_dir().join("verify_actor.py");
    let run = tokio::task::spawn_blocking({
        let dir = tls.dir.join("pasture");
        let ca = tls.ca_file.clone();
        let actor = actor.clone();
        move || {
            Command::new(python())
                .arg(driver)
                .env("TIDINGS_ACTOR", &actor)
                .env(
                    "PASTURE_DOMAIN",
                    format!("pasture.test:{}", pasture_addr.port()),
                )
                .env("PASTURE_LISTEN", pasture_addr.to_string())
                .env("PASTURE_CERT", &cert.cert)
                .env("PASTURE_KEY", &cert.key)
                .env("PASTURE_CA", &ca)
                .env(
                    "PASTURE_RESOLVE",
                    format!("tidings.test=127.0.0.{TIDINGS_OCTET},pasture.test={PASTURE_IP}"),
                )
                .env("PASTURE_WORKDIR", dir)
                .stdin(Stdio::null())
                .stderr(Stdio::from(out))
                .output()
                .unwrap_or_else(|e| panic!("cannot run pasture's Python: {e}"))
        }
    });
    let output = run.await.unwrap();
    let pasture_log = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        output.status.success(),
        "pasture's driver failed ({}):\n{pasture_log}\n----- Tidings -----\n{}",
        output.status,
        tidings.log()
    );
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "pasture's driver printed no JSON ({e}): {}\n{pasture_log}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    let result = &answer["result"];
    let report = || {
        format!(
            "pasture's result: {result}\npasture's messages: {:#}\n----- Tidings -----\n{}",
            answer["messages"],
            tidings.log()
        )
    };

    // WebFinger: acct:newsMNC@tidings.test:PORT resolves to the actor's id.
    assert_eq!(
        result["webfinger"],
        true,
        "WebFinger round-trip\n{}",
        report()
    );
    // alice and dean post unsigned (an EchoRequest): refused. Their GETs are unsigned:
    // Tidings serves actors to anyone.
    for name in ["alice", "dean"] {
        assert_eq!(
            result[name]["get_actor"],
            true,
            "{name}: unsigned GET\n{}",
            report()
        );
        assert_eq!(
            result[name]["post_inbox"],
            false,
            "{name}: unsigned POST\n{}",
            report()
        );
    }
    // bob and emily sign their GET and their POST (a Like); claire and frank too, and their
    // own actor documents answer only signed GETs, so Tidings must sign its key fetch.
    // bob and claire have WebFinger accounts; emily and frank do not, and their actor
    // documents have no preferredUsername.
    for name in ["bob", "claire", "emily", "frank"] {
        assert_eq!(
            result[name]["get_actor"],
            true,
            "{name}: signed GET\n{}",
            report()
        );
        assert_eq!(
            result[name]["post_inbox"],
            true,
            "{name}: signed POST\n{}",
            report()
        );
    }
    eprintln!(
        "fediverse-pasture verified the actor in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    edge_case_inputs(&net, &news, &answer, pasture_addr.port(), &report).await;
    eprintln!(
        "fediverse-pasture: actor verified and inputs checked in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The tags docs/federation.md ("What Tidings accepts") promises the sanitiser keeps.
/// Written out here rather than taken from `src/domain/html.rs` on purpose: widening the
/// sanitiser's list must fail this test until the promise (and this list) change too.
const ALLOWED_TAGS: &[&str] = &[
    "p",
    "br",
    "a",
    "span",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
];

/// The element names of the tags in `html` (`<x …>` and `</x>`).
fn tag_names(html: &str) -> Vec<String> {
    html.split('<')
        .skip(1)
        .map(|t| {
            t.trim_start_matches('/')
                .chars()
                .take_while(|c| !c.is_whitespace() && *c != '>' && *c != '/')
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

/// Markup of the hostile inputs that must not reach a page as markup.
const HOSTILE: &[&str] = &[
    "<script>alert",
    "<$",
    "<img src=\"http://pasture-one-actor",
    "<audio controls",
    "<video controls",
    "<source src",
];

/// Pasture's sending tool fed Tidings inputs of fediverse-pasture-inputs (hostile HTML,
/// odd addressing, odd `inReplyTo` shapes; the list is `INPUTS` in the driver): each is
/// answered 2xx or 4xx, never 5xx; what was stored has only the tags Tidings allows, and
/// the pages showing it answer 200 without the hostile markup.
async fn edge_case_inputs(
    net: &Network,
    news: &crate::harness::User,
    answer: &Value,
    pasture_port: u16,
    report: &dyn Fn() -> String,
) {
    let tidings = &net.instances[0];
    let sent = answer["sent"].as_array().cloned().unwrap_or_default();
    assert!(
        sent.len() >= 20,
        "pasture sent {} inputs\n{}",
        sent.len(),
        report()
    );
    for entry in &sent {
        let status = entry["status"].as_u64().unwrap_or(0);
        assert!(
            (200..300).contains(&status) || (400..500).contains(&status),
            "input {} #{} answered {status} (2xx or 4xx expected): {entry}\n{}",
            entry["input"],
            entry["number"],
            report()
        );
    }
    let account = news
        .get(&format!(
            "/api/v1/accounts/lookup?acct=actor@pasture.test:{pasture_port}"
        ))
        .await;
    let account_id = account["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{account}"));
    let stored = news
        .get(&format!("/api/v1/accounts/{account_id}/statuses?limit=40"))
        .await;
    let stored = stored.as_array().cloned().unwrap_or_default();
    let web = crate::harness::Instance::client(net).build().unwrap();
    let mut table = Vec::new();
    for entry in &sent {
        let uri = entry["note"]["id"].as_str().unwrap_or("");
        let post = stored.iter().find(|s| s["uri"] == uri);
        table.push(format!(
            "{} #{}: {} -> {}",
            entry["input"],
            entry["number"],
            entry["status"],
            if post.is_some() {
                "stored"
            } else {
                "not stored"
            }
        ));
        let Some(post) = post else { continue };
        let content = post["content"].as_str().unwrap_or("");
        for tag in tag_names(content) {
            assert!(
                ALLOWED_TAGS.contains(&tag.as_str()),
                "input {} #{}: tag <{tag}> kept in {content:?} (sent {})",
                entry["input"],
                entry["number"],
                entry["note"]["content"]
            );
        }
        // Tidings' own page of the post (`url` is the remote one).
        let kind = if post["in_reply_to_id"].is_string() {
            "replies"
        } else {
            "stories"
        };
        let url = format!(
            "{}/{kind}/{}",
            tidings.base(),
            post["id"].as_str().unwrap_or("")
        );
        let url = url.as_str();
        let res = web.get(url).send().await.unwrap();
        assert_eq!(res.status(), 200, "page {url} of {entry}");
        let page = res.text().await.unwrap();
        for bad in HOSTILE {
            assert!(!page.contains(bad), "page {url} contains {bad:?}: {entry}");
        }
    }
    eprintln!("pasture inputs:\n{}", table.join("\n"));
    // The remote actor's profile page, which lists them all.
    let profile = format!("{}/@actor@pasture.test:{pasture_port}", tidings.base());
    let res = web.get(&profile).send().await.unwrap();
    assert_eq!(res.status(), 200, "{profile}");
    let page = res.text().await.unwrap();
    for bad in HOSTILE {
        assert!(!page.contains(bad), "{profile} contains {bad:?}");
    }
}
