//! The HTTP front door: slow clients, connection cap, security headers, CSRF binding and
//! the trusted reverse proxies (issue #12).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::redirect::Policy;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{PASSWORD, TestApp, csrf_in};

fn addr(app: &TestApp) -> String {
    app.base
        .rsplit_once("://")
        .map(|(_, a)| a.to_owned())
        .unwrap()
}

/// A connection that sent the start of a request and never finishes its headers.
async fn partial_request(app: &TestApp) -> TcpStream {
    let mut tcp = TcpStream::connect(addr(app)).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: tidings.test\r\nX-Slow: ")
        .await
        .unwrap();
    tcp
}

/// Whether the server closes the connection (end of stream or reset) within `bound`,
/// whatever it writes first.
async fn closed_by_server(tcp: &mut TcpStream, bound: Duration) -> bool {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(bound, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => continue,
            }
        }
    })
    .await
    .is_ok()
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let app = TestApp::spawn_with(|s| s.header_read_timeout = 1).await;
    let mut slow = partial_request(&app).await;
    // The timeout is one second; the bound is generous so a busy machine does not matter.
    assert!(
        closed_by_server(&mut slow, Duration::from_secs(30)).await,
        "the server kept a connection whose headers never ended"
    );
    // A silent connection (not a byte sent) is closed too.
    let mut silent = TcpStream::connect(addr(&app)).await.unwrap();
    assert!(closed_by_server(&mut silent, Duration::from_secs(30)).await);
}

#[tokio::test]
async fn requests_are_served_while_slow_clients_hold_more_connections_than_the_cap() {
    let app = TestApp::spawn_with(|s| {
        s.header_read_timeout = 1;
        s.max_connections = 4;
    })
    .await;
    let mut slow = Vec::new();
    for _ in 0..12 {
        slow.push(partial_request(&app).await);
    }
    // The slow ones hold every slot, then time out; the waiting ones get their turn.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let res = client
        .get(format!("{}/", app.base))
        .send()
        .await
        .expect("a normal request is served");
    assert_eq!(res.status(), StatusCode::OK);
    drop(slow);
}

#[tokio::test]
async fn pages_carry_security_headers_and_no_inline_script() {
    let app = TestApp::spawn().await;
    let b = app.user("reader").await;
    for path in ["/", "/login", "/join", "/settings", "/no-such-page"] {
        let page = b.get(path).await;
        let h = |name: &str| {
            page.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let csp = h("content-security-policy");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "same-origin", "{path}");
        // Every script is a file of ours; no event-handler attributes.
        for (at, _) in page.body.match_indices("<script") {
            let tag = &page.body[at..at + page.body[at..].find('>').unwrap()];
            assert!(
                tag.contains(" src=\"/static/"),
                "{path}: inline script {tag}"
            );
        }
        let lower = page.body.to_ascii_lowercase();
        for handler in [
            " onclick=",
            " onload=",
            " onerror=",
            " onsubmit=",
            " onchange=",
        ] {
            assert!(!lower.contains(handler), "{path}: {handler}");
        }
        assert!(!lower.contains("javascript:"), "{path}");
        assert!(!lower.contains(" style=\""), "{path}: inline style");
    }
    // Not only pages: every answer says nosniff.
    let res = reqwest::get(format!("{}/api/v1/instance", app.base))
        .await
        .unwrap();
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
}

/// The `name=value` of a cookie set by a response.
fn cookie_pair(page: &crate::common::Page, name: &str) -> String {
    page.set_cookies()
        .into_iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .and_then(|c| c.split(';').next().map(str::to_owned))
        .unwrap_or_else(|| panic!("no {name} cookie"))
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_csrf_token_not_derived_from_the_session_is_refused() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let join = b
        .post_form("/join", &[("username", "victim"), ("password", PASSWORD)])
        .await;
    assert_eq!(join.status(), StatusCode::SEE_OTHER);
    let session = cookie_pair(&join, "tidings_session");
    let client = plain_client();
    let post = |cookies: String, token: String| {
        let client = client.clone();
        let base = app.base.clone();
        async move {
            client
                .post(format!("{base}/submit"))
                .header("cookie", cookies)
                .form(&[
                    ("csrf", token.as_str()),
                    ("headline", "Planted"),
                    ("body", "text"),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // A sibling subdomain planted a CSRF cookie of its choosing and submits the same value:
    // a valid-looking double submit, but not the token of this session.
    let planted = "ab".repeat(32);
    let status = post(
        format!("{session}; tidings_csrf={planted}"),
        planted.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The token the session's own pages carry works.
    let page = client
        .get(format!("{}/submit", app.base))
        .header("cookie", session.clone())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_in(&page).unwrap();
    assert_ne!(token, planted);
    assert_eq!(
        post(format!("{session}; tidings_csrf={planted}"), token).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        tidings::service::stories::count_local(&app.svc)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn https_instances_name_the_csrf_cookie_host_only() {
    let app = TestApp::spawn_with(|s| s.scheme = Some("https".into())).await;
    // Made directly: the test's cookie jar does not send Secure cookies over plain http.
    tidings::service::accounts::register(
        &app.svc,
        tidings::service::accounts::Registration {
            username: "someone".into(),
            password: PASSWORD.into(),
            is_admin: false,
        },
    )
    .await
    .unwrap();
    let page = app.browser().get("/login").await;
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.contains("tidings_csrf="))
        .unwrap();
    assert!(cookie.starts_with("__Host-tidings_csrf="), "{cookie}");
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/"),
        "{cookie}"
    );
    assert!(!cookie.contains("Domain"), "{cookie}");

    let token = "cd".repeat(32);
    let login = |cookie: String| {
        let base = app.base.clone();
        let token = token.clone();
        async move {
            plain_client()
                .post(format!("{base}/login"))
                .header("cookie", cookie)
                .form(&[
                    ("csrf", token.as_str()),
                    ("username", "someone"),
                    ("password", PASSWORD),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    // A cookie without the prefix is what another host could plant: not read on https.
    assert_eq!(
        login(format!("tidings_csrf={token}")).await,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        login(format!("__Host-tidings_csrf={token}")).await,
        StatusCode::SEE_OTHER
    );
}

/// Requests without a CSRF token are refused before any work, so they are cheap to send;
/// each still counts against the sign-in quota (30 per 5 minutes and client).
async fn login_statuses(app: &TestApp, forwarded_for: impl Fn(usize) -> String) -> Vec<u16> {
    let client = plain_client();
    let mut out = Vec::new();
    for i in 0..31 {
        let res = client
            .post(format!("{}/login", app.base))
            .header("x-forwarded-for", forwarded_for(i))
            .form(&[("username", "x"), ("password", "y")])
            .send()
            .await
            .unwrap();
        out.push(res.status().as_u16());
    }
    out
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies (the default): a client on loopback cannot pose as many.
    let app = TestApp::spawn().await;
    let statuses = login_statuses(&app, |i| format!("203.0.113.{i}")).await;
    assert_eq!(statuses[..30], [403; 30]);
    assert_eq!(
        statuses[30], 429,
        "a new X-Forwarded-For each time escaped the limit"
    );
}

#[tokio::test]
async fn forwarded_for_from_a_trusted_proxy_names_the_client() {
    let app = TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    // Thirty-one clients behind the proxy: none is over its limit.
    let statuses = login_statuses(&app, |i| format!("203.0.113.{i}")).await;
    assert!(statuses.iter().all(|s| *s == 403), "{statuses:?}");
    // One client: limited, whatever it writes in front of the proxy's entry.
    let statuses = login_statuses(&app, |i| format!("10.0.0.{i}, 198.51.100.7")).await;
    assert_eq!(statuses[30], 429);
    // Two addresses of one IPv6 /64 count as one client.
    let statuses = login_statuses(&app, |i| format!("2001:db8:7:7::{i:x}")).await;
    assert_eq!(statuses[30], 429);
}
