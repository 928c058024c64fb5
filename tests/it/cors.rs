//! CORS for browser apps on other origins (hosted Elk, Phanpy): preflights and actual
//! answers on the API, the token endpoint and discovery; none on HTML pages or form posts
//! (issue #16, item 1).

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};

use crate::common::TestApp;
use crate::common::api::Api;

const ORIGIN: &str = "https://elk.example";

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A browser's preflight for `method path` with these request headers.
async fn preflight(app: &TestApp, path: &str, method: &str, headers: &str) -> reqwest::Response {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{}{path}", app.base))
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", method)
        .header("Access-Control-Request-Headers", headers)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn preflights_on_the_api_allow_what_apps_send_authorization_included() {
    let app = TestApp::spawn().await;
    for (path, method) in [
        ("/api/v1/statuses", "POST"),
        ("/api/v1/timelines/home", "GET"),
        ("/api/v1/accounts/update_credentials", "PATCH"),
        ("/api/v1/statuses/1", "DELETE"),
        ("/api/v1/markers", "POST"),
    ] {
        let res = preflight(
            &app,
            path,
            method,
            "authorization,content-type,idempotency-key",
        )
        .await;
        assert!(
            res.status().is_success(),
            "{method} {path}: {}",
            res.status()
        );
        let h = res.headers();
        assert_eq!(header(h, "access-control-allow-origin"), "*", "{path}");
        let methods = header(h, "access-control-allow-methods").to_ascii_uppercase();
        assert!(methods.contains(method), "{path}: {methods}");
        let allowed = header(h, "access-control-allow-headers").to_ascii_lowercase();
        for wanted in ["authorization", "content-type", "idempotency-key"] {
            assert!(allowed.contains(wanted), "{path}: {allowed}");
        }
        assert!(h.get("access-control-allow-credentials").is_none());
        assert!(!header(h, "access-control-max-age").is_empty());
    }
    // The token endpoint takes posts from the browser; so does revocation.
    for path in ["/oauth/token", "/oauth/revoke"] {
        let res = preflight(&app, path, "POST", "content-type").await;
        assert!(res.status().is_success(), "{path}");
        assert_eq!(header(res.headers(), "access-control-allow-origin"), "*");
    }
}

#[tokio::test]
async fn api_answers_carry_cors_headers_and_expose_the_link_header() {
    let app = TestApp::spawn().await;
    app.user("alice").await;
    let api = Api::login(&app, "alice").await;
    let res = api
        .http
        .get(format!("{}/api/v1/timelines/public", app.base))
        .header("Origin", ORIGIN)
        .bearer_auth(&api.token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(header(res.headers(), "access-control-allow-origin"), "*");
    let exposed = header(res.headers(), "access-control-expose-headers").to_ascii_lowercase();
    assert!(exposed.contains("link"), "{exposed}");

    // Errors too, so the app can read why.
    let res = api
        .http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.base))
        .header("Origin", ORIGIN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(header(res.headers(), "access-control-allow-origin"), "*");

    // Discovery an app does before logging in.
    for path in [
        "/.well-known/webfinger?resource=acct:alice@tidings.test",
        "/.well-known/nodeinfo",
        "/nodeinfo/2.0",
        "/api/v2/instance",
    ] {
        let res = api
            .http
            .get(format!("{}{path}", app.base))
            .header("Origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            header(res.headers(), "access-control-allow-origin"),
            "*",
            "{path}"
        );
    }
}

#[tokio::test]
async fn html_pages_and_form_posts_get_no_cors_headers() {
    let app = TestApp::spawn().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for path in ["/", "/login", "/oauth/authorize", "/about"] {
        let res = client
            .get(format!("{}{path}", app.base))
            .header("Origin", ORIGIN)
            .send()
            .await
            .unwrap();
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "GET {path} carried CORS headers"
        );
    }
    // A form post from another origin: no CORS answer, and its preflight is not granted.
    let res = client
        .post(format!("{}/login", app.base))
        .header("Origin", ORIGIN)
        .form(&[("username", "x"), ("password", "y")])
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
    for path in ["/login", "/oauth/authorize", "/users/alice/inbox"] {
        let res = preflight(&app, path, "POST", "content-type").await;
        assert!(
            res.headers().get("access-control-allow-origin").is_none(),
            "preflight of {path} was granted"
        );
    }
}
