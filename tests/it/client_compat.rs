//! Small points real clients trip over (issue #16, item 9): `/oauth/authorize/` with a
//! trailing slash (toot), HTTP Basic client authentication at `/oauth/token`, the
//! `profile` scope, `/api/v2/search?resolve=true` for our own accounts, and
//! `GET /api/v1/statuses?id[]=`.

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::Api;
use crate::common::{PASSWORD, TestApp};

async fn register(app: &TestApp, scopes: &str) -> (String, String) {
    let v: Value = reqwest::Client::new()
        .post(format!("{}/api/v1/apps", app.base))
        .form(&[
            ("client_name", "compat"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", scopes),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (
        v["client_id"].as_str().unwrap().to_owned(),
        v["client_secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn the_authorize_page_answers_with_a_trailing_slash() {
    let app = TestApp::spawn().await;
    let (id, _) = register(&app, "read").await;
    let mut person = app.user("tooter").await;
    let query = format!(
        "?client_id={id}&redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scope=read&response_type=code"
    );
    let page = person.get(&format!("/oauth/authorize/{query}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Authorize compat?");
    // Approving through the slashed path gives a code, as without the slash.
    let res = person
        .post_form(
            "/oauth/authorize/",
            &[
                ("decision", "approve"),
                ("client_id", &id),
                ("redirect_uri", "urn:ietf:wg:oauth:2.0:oob"),
                ("scope", "read"),
                ("response_type", "code"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.body);
    res.assert_contains("compat is authorized");
    res.assert_contains("class=\"oob-code\"");
}

#[tokio::test]
async fn the_token_endpoint_takes_http_basic_client_authentication() {
    let app = TestApp::spawn().await;
    app.user("basic").await;
    let (id, secret) = register(&app, "read").await;
    let http = reqwest::Client::new();
    let token_url = format!("{}/oauth/token", app.base);
    let res = http
        .post(&token_url)
        .basic_auth(&id, Some(&secret))
        .form(&[
            ("grant_type", "password"),
            ("username", "basic"),
            ("password", PASSWORD),
            ("scope", "read"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token: Value = res.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    let me = http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);

    // A wrong secret, or Basic credentials that contradict the body, are refused.
    for (user, pass, body_id) in [
        (id.as_str(), "wrong", None),
        (id.as_str(), secret.as_str(), Some("someone-else")),
    ] {
        let mut form = vec![("grant_type", "client_credentials"), ("scope", "read")];
        if let Some(other) = body_id {
            form.push(("client_id", other));
        }
        let res = http
            .post(&token_url)
            .basic_auth(user, Some(pass))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client");
    }

    // Revocation takes it too; the revoked token no longer works.
    let res = http
        .post(format!("{}/oauth/revoke", app.base))
        .basic_auth(&id, Some(&secret))
        .form(&[("token", access)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me = http
        .get(format!("{}/api/v1/accounts/verify_credentials", app.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);

    let meta: Value = http
        .get(format!(
            "{}/.well-known/oauth-authorization-server",
            app.base
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let methods = meta["token_endpoint_auth_methods_supported"].to_string();
    assert!(methods.contains("client_secret_basic"), "{methods}");
    assert!(methods.contains("client_secret_post"), "{methods}");
}

#[tokio::test]
async fn the_profile_scope_opens_verify_credentials_and_nothing_else() {
    let app = TestApp::spawn().await;
    app.user("carol").await;
    let (id, secret) = register(&app, "profile").await;
    let http = reqwest::Client::new();
    let token: Value = http
        .post(format!("{}/oauth/token", app.base))
        .form(&[
            ("grant_type", "password"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("username", "carol"),
            ("password", PASSWORD),
            ("scope", "profile"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(token["scope"], "profile");
    let access = token["access_token"].as_str().unwrap();
    let get = |path: &str| {
        http.get(format!("{}{path}", app.base))
            .bearer_auth(access)
            .send()
    };
    let me = get("/api/v1/accounts/verify_credentials").await.unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["username"], "carol");
    for path in ["/api/v1/timelines/home", "/api/v1/notifications"] {
        assert_eq!(
            get(path).await.unwrap().status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
}

#[tokio::test]
async fn search_with_resolve_finds_our_own_accounts_by_handle_and_profile_url() {
    // A domain with a port, as in development setups.
    let app = TestApp::spawn_with(|s| s.domain = Some("tidings.test:8443".into())).await;
    app.user("alice").await;
    app.user("bob").await;
    let api = Api::login(&app, "alice").await;
    let bob = api.ok("/api/v1/accounts/lookup?acct=bob").await;
    let profile = bob["url"].as_str().unwrap().to_owned();
    let actor = bob["uri"].as_str().unwrap().to_owned();
    assert_eq!(profile, "http://tidings.test:8443/@bob");
    for q in [
        "@bob@tidings.test:8443",
        "bob@tidings.test:8443",
        "@bob@TIDINGS.test:8443",
        profile.as_str(),
        actor.as_str(),
    ] {
        for resolve in ["true", "false"] {
            let found = api
                .ok(&format!(
                    "/api/v2/search?type=accounts&resolve={resolve}&q={}",
                    urlencoding(q)
                ))
                .await;
            let accounts = found["accounts"].as_array().unwrap();
            if resolve == "false" && q.starts_with("http") {
                // Without resolve, URLs are not looked up (as in Mastodon).
                continue;
            }
            assert_eq!(
                accounts.first().map(|a| a["id"].clone()),
                Some(bob["id"].clone()),
                "q={q} resolve={resolve}: {found}"
            );
        }
    }
    // Nobody of that name here: nothing, and no fetch elsewhere.
    let found = api
        .ok("/api/v2/search?type=accounts&resolve=true&q=%40nobody%40tidings.test%3A8443")
        .await;
    assert_eq!(found["accounts"], serde_json::json!([]));
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test]
async fn several_statuses_by_id_in_one_request() {
    let app = TestApp::spawn().await;
    app.user("dora").await;
    app.user("eve").await;
    let dora = Api::login(&app, "dora").await;
    let eve = Api::login(&app, "eve").await;
    let mut ids = Vec::new();
    for text in ["first\n\nbody one", "second\n\nbody two"] {
        let (s, v) = dora.form("/api/v1/statuses", &[("status", text)]).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        ids.push(v["id"].as_str().unwrap().to_owned());
    }
    let (s, v) = eve
        .form(
            "/api/v1/statuses",
            &[
                ("status", "only mine\n\nfor followers"),
                ("visibility", "private"),
            ],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let private = v["id"].as_str().unwrap().to_owned();

    let path = format!(
        "/api/v1/statuses?id[]={}&id[]={}&id[]={private}&id[]=999999",
        ids[1], ids[0]
    );
    let got = dora.ok(&path).await;
    let got: Vec<&str> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    // In the order asked; what dora may not see and what does not exist are left out.
    assert_eq!(got, [ids[1].as_str(), ids[0].as_str()]);
    // Eve sees her own private post.
    let got = eve.ok(&format!("/api/v1/statuses?id[]={private}")).await;
    assert_eq!(got.as_array().unwrap().len(), 1);

    // Too many ids, or an unknown parameter: 422 with the reason.
    let many: String = (1..=21).map(|i| format!("id[]={i}&")).collect();
    let (s, v) = dora.get(&format!("/api/v1/statuses?{many}")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = dora
        .get(&format!("/api/v1/statuses?id[]={}&with_muted=1", ids[0]))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["error"].as_str().unwrap().contains("with_muted"), "{v}");
}
