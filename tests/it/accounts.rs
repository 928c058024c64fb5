//! Join, login, logout, sessions, CSRF, profiles and settings over real HTTP.

use crate::common::{PASSWORD, TestApp, csrf_in};
use reqwest::StatusCode;

#[tokio::test]
async fn join_logs_in_and_names_match_case_insensitively() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let res = b
        .post_form("/join", &[("username", "newsMNC"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/@newsMNC");
    let cookie = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tidings_session="))
        .expect("session cookie set");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http must not mark cookies Secure: {cookie}"
    );

    // Logged in: the header shows the account.
    let home = b.get("/").await;
    home.assert_contains("href=\"/@newsMNC\"");
    home.assert_contains("Logout");

    // Same account whatever the case of the name.
    let page = app.browser().get("/@newsmnc").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("@newsMNC");

    // And the name is taken whatever the case.
    let mut other = app.browser();
    let res = other
        .post_form("/join", &[("username", "NEWSmnc"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("That username is taken.");
    res.assert_contains("value=\"NEWSmnc\"");
}

#[tokio::test]
async fn accounts_get_an_actor_id_and_a_private_key() {
    let app = TestApp::spawn().await;
    app.user("keyed").await;
    let account = tidings::service::accounts::find_local(&app.svc, "KEYED")
        .await
        .unwrap()
        .expect("account stored");
    assert_eq!(account.ap_id, "http://tidings.test/users/keyed");
    assert!(account.domain.is_none());
    assert!(
        account
            .public_key_pem
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    assert!(account.private_key_pem.unwrap().contains("PRIVATE KEY"));
    assert!(account.password_hash.unwrap().starts_with("$argon2id$"));
}

#[tokio::test]
async fn join_rejects_bad_input_and_keeps_what_was_typed() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let res = b
        .post_form("/join", &[("username", "bad name!"), ("password", "short")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("value=\"bad name!\"");
    res.assert_contains("A username may hold only letters, digits and underscores.");
    res.assert_contains("A password needs at least 8 characters.");
    res.assert_contains("aria-invalid=\"true\"");
    // Nothing was created.
    assert_eq!(
        tidings::service::accounts::count_local(&app.svc)
            .await
            .unwrap(),
        0
    );

    let long = "a".repeat(31);
    let res = b
        .post_form("/join", &[("username", &long), ("password", PASSWORD)])
        .await;
    res.assert_contains("at most 30 characters");
}

#[tokio::test]
async fn login_and_logout() {
    let app = TestApp::spawn().await;
    app.user("reader").await;

    let mut b = app.browser();
    let res = b
        .post_form(
            "/login",
            &[("username", "Reader"), ("password", "wrong password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    res.assert_contains("Wrong username or password.");
    res.assert_contains("value=\"Reader\"");

    let res = b
        .post_form(
            "/login",
            &[
                ("username", "READER"),
                ("password", PASSWORD),
                ("return_to", "/submit"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/submit");
    assert_eq!(b.get("/submit").await.status(), StatusCode::OK);

    let res = b.post_form("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = b.get("/submit").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/login?return_to=%2Fsubmit");
}

#[tokio::test]
async fn login_never_redirects_off_site() {
    let app = TestApp::spawn().await;
    app.user("walker").await;
    let mut b = app.browser();
    let res = b
        .post_form(
            "/login",
            &[
                ("username", "walker"),
                ("password", PASSWORD),
                ("return_to", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/");
}

/// Browsers drop tabs and newlines from a `Location` and read `\` as `/`: a target such
/// as `/\t/evil.example/` leaves the site. Such targets fall back to `/`, both on the login
/// form (as it comes in the query) and after logging in.
#[tokio::test]
async fn login_refuses_targets_browsers_would_read_as_another_host() {
    let app = TestApp::spawn().await;
    app.user("walker").await;
    let page = app
        .browser()
        .get("/login?return_to=/%09/evil.example/")
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("name=\"return_to\" value=\"/\"");
    for target in [
        "/\t/evil.example/",
        "/\n/evil.example/",
        "/\\evil.example/",
        "/%09/evil.example/",
        "/%5C/evil.example/",
    ] {
        let mut b = app.browser();
        let res = b
            .post_form(
                "/login",
                &[
                    ("username", "walker"),
                    ("password", PASSWORD),
                    ("return_to", target),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{target:?}");
        assert_eq!(res.location(), "/", "{target:?}");
    }
    // Other forms taking a target after their work go through the same check.
    let mut b = app.user("voter").await;
    let res = b
        .post_form(
            "/settings/theme",
            &[("theme", "dark"), ("return_to", "/\t/evil.example/")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/");
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused() {
    let app = TestApp::spawn().await;
    let mut b = app.user("author").await;
    let token = b.csrf().await;

    // Wrong token: refused, nothing stored.
    let res = b
        .post_raw(
            "/submit",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("headline", "Sneaky"),
                ("body", "text"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    res.assert_contains("This form has expired or came from another site.");

    // No token at all: refused.
    let res = b
        .post_raw("/submit", &[("headline", "Sneaky"), ("body", "text")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A token taken from another visitor's cookie does not work either.
    let mut other = app.browser();
    let other_token = other.csrf().await;
    assert_ne!(other_token, token);
    let res = b
        .post_raw(
            "/submit",
            &[
                ("csrf", other_token.as_str()),
                ("headline", "Sneaky"),
                ("body", "x"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let front = app.browser().get("/").await;
    front.assert_lacks("Sneaky");
    assert_eq!(
        tidings::service::stories::count_local(&app.svc)
            .await
            .unwrap(),
        0
    );
}

#[tokio::test]
async fn https_instances_mark_cookies_secure() {
    let app = TestApp::spawn_with(|s| s.scheme = Some("https".into())).await;
    let b = app.browser();
    let res = b.get("/").await;
    let csrf = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-tidings_csrf="))
        .expect("csrf cookie, named __Host- on https");
    assert!(
        csrf.contains("Secure") && csrf.contains("HttpOnly"),
        "{csrf}"
    );
    assert!(csrf_in(&res.body).is_some());
}

#[tokio::test]
async fn profile_shows_bio_and_settings_validate() {
    let app = TestApp::spawn().await;
    let mut b = app.user("biographer").await;
    let res = b
        .post_form(
            "/settings",
            &[
                ("display_name", "The Biographer"),
                ("bio", "I write about #history <b>and</b> more"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.browser().get("/@biographer").await;
    page.assert_contains("The Biographer");
    page.assert_contains("&lt;b&gt;and&lt;/b&gt;");
    page.assert_contains("/tags/history");
    page.assert_contains("More posts by @biographer");

    let long = "x".repeat(2001);
    let res = b
        .post_form(
            "/settings",
            &[("display_name", "Kept name"), ("bio", &long)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("A bio has at most 2000 characters.");
    res.assert_contains("value=\"Kept name\"");
}

#[tokio::test]
async fn dark_theme_choice_persists() {
    let app = TestApp::spawn().await;
    let mut b = app.browser();
    let page = b.get("/").await;
    page.assert_lacks("data-theme=");
    page.assert_contains("Use dark theme");
    let res = b
        .post_form(
            "/settings/theme",
            &[("theme", "dark"), ("return_to", "/tags/x")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/tags/x");
    let page = b.get("/").await;
    page.assert_contains("<html lang=\"en\" data-theme=\"dark\">");
    page.assert_contains("Use light theme");
    page.assert_contains("Follow system");
    b.post_form("/settings/theme", &[("theme", "system")]).await;
    b.get("/").await.assert_lacks("data-theme=");
    let res = b.post_form("/settings/theme", &[("theme", "purple")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn unknown_pages_get_a_real_404_page() {
    let app = TestApp::spawn().await;
    let b = app.browser();
    for path in [
        "/no/such/page",
        "/@nobody",
        "/stories/999",
        "/stories/abc",
        "/tags/none",
        "/plainword",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{path}");
        res.assert_contains("<title>Page not found · Tidings</title>");
        res.assert_contains("Back to top");
    }
}

#[tokio::test]
async fn tests_run_on_the_backend_the_environment_names() {
    let app = TestApp::spawn().await;
    let expected = if std::env::var(crate::common::PG_ENV).is_ok_and(|v| !v.is_empty()) {
        tidings::db::Backend::Postgres
    } else {
        tidings::db::Backend::Sqlite
    };
    assert_eq!(app.svc.db.backend(), expected);
    assert_eq!(
        app.db.is_postgres(),
        expected == tidings::db::Backend::Postgres
    );
}
