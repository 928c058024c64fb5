//! OAuth 2 for the client API: apps, the authorize page, token grants, revoke, scopes; and
//! the instance endpoints apps call first.

use crate::common::{PASSWORD, TestApp};
use reqwest::StatusCode;
use serde_json::Value;

async fn register_app(app: &TestApp, scopes: &str, redirect: &str) -> (String, String) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", app.base))
        .form(&[
            ("client_name", "Test app"),
            ("redirect_uris", redirect),
            ("scopes", scopes),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["name"], "Test app");
    assert_eq!(v["redirect_uri"], redirect);
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

async fn post_json(url: String, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn password_token(
    app: &TestApp,
    id: &str,
    secret: &str,
    user: &str,
    scope: &str,
) -> (StatusCode, Value) {
    post_json(
        format!("{}/oauth/token", app.base),
        &[
            ("grant_type", "password"),
            ("client_id", id),
            ("client_secret", secret),
            ("username", user),
            ("password", PASSWORD),
            ("scope", scope),
        ],
    )
    .await
}

async fn get_with(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(format!("{}{path}", app.base))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn authorization_code_flow_with_pkce_through_the_consent_page() {
    let app = TestApp::spawn().await;
    let (id, secret) = register_app(&app, "read write", "https://client.example/cb").await;
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
    let query = format!(
        "/oauth/authorize?client_id={id}&redirect_uri=https%3A%2F%2Fclient.example%2Fcb&scope=read+write&response_type=code&state=xyz&code_challenge={challenge}&code_challenge_method=S256"
    );
    // Logged out: sent to the login page, and back here after.
    let anon = app.browser();
    let res = anon.get(&query).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.location()
            .starts_with("/login?return_to=%2Foauth%2Fauthorize"),
        "{}",
        res.location()
    );

    let mut person = app.user("consenting").await;
    let page = person.get(&query).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Authorize Test app?");
    page.assert_contains("<code>write</code>");

    let res = person
        .post_form(
            "/oauth/authorize",
            &[
                ("decision", "approve"),
                ("client_id", &id),
                ("redirect_uri", "https://client.example/cb"),
                ("scope", "read write"),
                ("response_type", "code"),
                ("state", "xyz"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let loc = url::Url::parse(res.location()).unwrap();
    assert_eq!(loc.host_str(), Some("client.example"));
    let params: std::collections::HashMap<_, _> = loc.query_pairs().into_owned().collect();
    assert_eq!(params["state"], "xyz");
    let code = params["code"].clone();

    // A wrong verifier fails, and burns the code.
    let token_url = format!("{}/oauth/token", app.base);
    let form = |verifier: &'static str, code: String| {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("client_id", id.clone()),
            ("client_secret", secret.clone()),
            ("redirect_uri", "https://client.example/cb".to_owned()),
            ("code", code),
            ("code_verifier", verifier.to_owned()),
        ]
    };
    let res = reqwest::Client::new()
        .post(&token_url)
        .form(&form("wrong", code.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "invalid_grant");
    let res = reqwest::Client::new()
        .post(&token_url)
        .form(&form(verifier, code))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "a code works once");

    // A fresh consent, then the right verifier.
    let res = person
        .post_form(
            "/oauth/authorize",
            &[
                ("decision", "approve"),
                ("client_id", &id),
                ("redirect_uri", "https://client.example/cb"),
                ("scope", "read"),
                ("response_type", "code"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
    let loc = url::Url::parse(res.location()).unwrap();
    let code = loc
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let res = reqwest::Client::new()
        .post(&token_url)
        .form(&form(verifier, code))
        .send()
        .await
        .unwrap();
    let status = res.status();
    let v: Value = res.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["scope"], "read");
    let token = v["access_token"].as_str().unwrap().to_owned();
    let me = get_with(&app, "/api/v1/apps/verify_credentials", &token).await;
    assert_eq!(me.status(), StatusCode::OK);

    // Deny sends the person back with an error.
    let res = person
        .post_form(
            "/oauth/authorize",
            &[
                ("decision", "deny"),
                ("client_id", &id),
                ("redirect_uri", "https://client.example/cb"),
                ("scope", "read"),
                ("response_type", "code"),
            ],
        )
        .await;
    assert_eq!(
        res.location(),
        "https://client.example/cb?error=access_denied"
    );
}

#[tokio::test]
async fn the_authorize_page_refuses_bad_requests() {
    let app = TestApp::spawn().await;
    let (id, _) = register_app(&app, "read", "https://client.example/cb").await;
    let person = app.user("careful").await;
    for (query, reason) in [
        (
            "client_id=nope&redirect_uri=https://client.example/cb&response_type=code".to_owned(),
            "unknown client_id",
        ),
        (
            format!("client_id={id}&redirect_uri=https://evil.example/cb&response_type=code"),
            "redirect_uri is not registered",
        ),
        (
            format!(
                "client_id={id}&redirect_uri=https://client.example/cb&response_type=code&scope=write"
            ),
            "scopes it did not register",
        ),
        (
            format!("client_id={id}&redirect_uri=https://client.example/cb&response_type=token"),
            "response_type must be code",
        ),
    ] {
        let page = person.get(&format!("/oauth/authorize?{query}")).await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST, "{query}");
        page.assert_contains(reason);
    }
}

#[tokio::test]
async fn password_grant_scopes_and_revoke() {
    let app = TestApp::spawn().await;
    app.user("scripter").await;
    let (id, secret) = register_app(&app, "read write follow", "urn:ietf:wg:oauth:2.0:oob").await;

    let (status, v) = password_token(&app, &id, "wrong-secret", "scripter", "read").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(v["error"], "invalid_client");
    let (status, v) = password_token(&app, &id, &secret, "scripter", "push").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_scope");
    let (status, v) = password_token(&app, &id, &secret, "scripter", "admin:everything").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"], "invalid_scope");

    let (status, v) = password_token(&app, &id, &secret, "Scripter", "read").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let read_only = v["access_token"].as_str().unwrap().to_owned();

    // Without a token: 401; with a bad one: 401; a read token may read but not write.
    let res = reqwest::get(format!("{}/api/v1/preferences", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "The access token is invalid");
    assert_eq!(
        get_with(&app, "/api/v1/preferences", "garbage")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get_with(&app, "/api/v1/preferences", &read_only)
            .await
            .status(),
        StatusCode::OK
    );
    let (status, _) = password_token(&app, &id, &secret, "scripter", "write:statuses").await;
    assert_eq!(status, StatusCode::OK);

    // Tokens are stored hashed: the database never holds the token itself.
    let stored: Vec<String> = app
        .svc
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use tidings::db::schema::oauth_tokens;
            Ok(oauth_tokens::table
                .select(oauth_tokens::token_hash)
                .load(conn)?)
        })
        .await
        .unwrap();
    assert!(!stored.contains(&read_only));
    assert!(stored.contains(&tidings::service::crypto::sha256_hex(&read_only)));

    // Revoked: refused from then on.
    let (status, _) = post_json(
        format!("{}/oauth/revoke", app.base),
        &[
            ("client_id", &id),
            ("client_secret", &secret),
            ("token", &read_only),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        get_with(&app, "/api/v1/preferences", &read_only)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn client_credentials_tokens_have_no_user() {
    let app = TestApp::spawn().await;
    let (id, secret) = register_app(&app, "read write", "urn:ietf:wg:oauth:2.0:oob").await;
    let (status, v) = post_json(
        format!("{}/oauth/token", app.base),
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let token = v["access_token"].as_str().unwrap();
    let res = get_with(&app, "/api/v1/apps/verify_credentials", token).await;
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["name"], "Test app");
    // No user behind it.
    assert_eq!(
        get_with(&app, "/api/v1/preferences", token).await.status(),
        StatusCode::FORBIDDEN
    );
    // An app stored before websites were checked may carry a script link: the API does not
    // hand it out (issue #12, script links).
    app.svc
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use tidings::db::schema::oauth_apps;
            diesel::update(oauth_apps::table)
                .set(oauth_apps::website.eq("javascript:alert(1)"))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let v: Value = get_with(&app, "/api/v1/apps/verify_credentials", token)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["name"], "Test app");
    assert_eq!(v["website"], Value::Null, "{v}");
}

#[tokio::test]
async fn apps_are_validated_and_accept_json() {
    let app = TestApp::spawn().await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", app.base))
        .json(&serde_json::json!({"client_name": "J", "redirect_uris": ["https://a.example/cb", "urn:ietf:wg:oauth:2.0:oob"], "scopes": "read"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["redirect_uris"].as_array().unwrap().len(), 2);

    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", app.base))
        .form(&[
            ("client_name", "X"),
            ("redirect_uris", "not a uri"),
            ("scopes", "read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = res.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("not a valid URI"),
        "{v}"
    );
    // Redirect targets a browser would run or that carry a fragment are refused; an app's
    // own scheme is fine (issue #12, script links).
    for (uri, want) in [
        ("javascript:alert(document.cookie)//", "not allowed"),
        ("data:text/html,<script>alert(1)</script>", "not allowed"),
        ("https://a.example/cb#frag", "fragment"),
    ] {
        let (status, v) = post_json(
            format!("{}/api/v1/apps", app.base),
            &[
                ("client_name", "X"),
                ("redirect_uris", uri),
                ("scopes", "read"),
            ],
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{uri}: {v}");
        assert!(v["error"].as_str().unwrap().contains(want), "{uri}: {v}");
    }
    let (status, v) = post_json(
        format!("{}/api/v1/apps", app.base),
        &[
            ("client_name", "Native"),
            ("redirect_uris", "org.example.app://oauth"),
            ("scopes", "read"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", app.base))
        .form(&[
            ("client_name", "X"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", "read admin:all"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn instance_endpoints_answer_with_and_without_slash() {
    let app = TestApp::spawn().await;
    app.user("someone").await;
    for path in [
        "/api/v1/instance",
        "/api/v1/instance/",
        "/api/v2/instance",
        "/api/v2/instance/",
    ] {
        let res = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let v: Value = res.json().await.unwrap();
        assert!(
            v["version"]
                .as_str()
                .unwrap()
                .starts_with("4.3.0 (compatible; Tidings "),
            "{v}"
        );
    }
    let v: Value = reqwest::get(format!("{}/api/v2/instance", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["domain"], "tidings.test");
    assert_eq!(v["api_versions"]["mastodon"], 2);
    assert_eq!(v["usage"]["users"]["active_month"], 1);
    let v: Value = reqwest::get(format!("{}/api/v1/instance", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["stats"]["user_count"], 1);
    for path in [
        "/api/v1/custom_emojis",
        "/api/v1/filters",
        "/api/v1/announcements",
        "/api/v1/lists",
    ] {
        let v: Value = reqwest::get(format!("{}{path}", app.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v, serde_json::json!([]), "{path}");
    }
    let meta: Value = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        app.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(meta["token_endpoint"], "http://tidings.test/oauth/token");
    // Unknown API paths answer JSON.
    let res = reqwest::get(format!("{}/api/v1/nothing/here", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let v: Value = res.json().await.unwrap();
    assert!(v["error"].is_string());
}

#[tokio::test]
async fn sign_in_endpoints_are_rate_limited() {
    // As behind a reverse proxy on this machine, named as such.
    let app = TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1".into()]).await;
    let client = reqwest::Client::new();
    let url = format!("{}/oauth/token", app.base);
    let form = [
        ("grant_type", "password"),
        ("client_id", "x"),
        ("client_secret", "y"),
    ];
    for i in 0..30 {
        let res = client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "request {i}");
        assert_eq!(res.headers()["x-ratelimit-limit"], "30");
    }
    let res = client.post(&url).form(&form).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.headers()["x-ratelimit-remaining"], "0");
    assert!(res.headers().contains_key("x-ratelimit-reset"));
    let v: Value = res.json().await.unwrap();
    assert_eq!(v["error"], "Too many requests");
    // Another client behind the same local proxy is counted apart.
    let res = client
        .post(&url)
        .header("x-forwarded-for", "203.0.113.7")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Reading pages is not limited by it.
    assert_eq!(
        client
            .get(format!("{}/", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
}
