//! Sign-up control (issue #14, item 3): in `approval` mode a sign-up on the web or through
//! `POST /api/v1/accounts` gives a reason and waits; it cannot log in or act until staff
//! approve it on the admin page, with `tidings user approve`, or through Mastodon's admin
//! API (`/api/v1/admin/accounts`, `/api/v2/admin/accounts`); rejecting deletes it.
//! `closed` refuses sign-ups on the web and the API.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::api::Api;
use crate::common::{PASSWORD, TestApp, TestDb};
use crate::moderation::admin;
use tidings::service::accounts::{self, Registration};
use tidings::service::instance::{self, Changes};

async fn set_registrations(app: &TestApp, mode: &str) {
    instance::apply(&app.svc, Changes::one("registrations", mode).unwrap())
        .await
        .unwrap();
}

fn with_token(app: &TestApp, token: &str) -> Api {
    Api {
        base: app.base.clone(),
        http: reqwest::Client::new(),
        token: token.to_owned(),
    }
}

async fn make_admin(app: &TestApp, name: &str) {
    accounts::register(
        &app.svc,
        Registration {
            username: name.into(),
            password: PASSWORD.into(),
            is_admin: true,
        },
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_web_sign_up_waits_for_approval_and_cannot_log_in_until_approved() {
    let app = TestApp::spawn().await;
    set_registrations(&app, "approval").await;
    let mut visitor = app.browser();
    let page = visitor.get("/join").await;
    page.assert_contains("Why do you want to join?");

    // Without a reason: refused, nothing made.
    let res = visitor
        .post_form("/join", &[("username", "newcomer"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("tell them why");
    assert!(
        accounts::find_local(&app.svc, "newcomer")
            .await
            .unwrap()
            .is_none()
    );

    let res = visitor
        .post_form(
            "/join",
            &[
                ("username", "newcomer"),
                ("password", PASSWORD),
                ("email", "New@Example.org"),
                ("reason", "I write about the harbour"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK, "{}", res.body);
    res.assert_contains("waiting for approval");
    assert!(
        res.set_cookies()
            .iter()
            .all(|c| !c.starts_with("tidings_session=") || c.starts_with("tidings_session=;")),
        "no session for a pending account: {:?}",
        res.set_cookies()
    );

    // Logging in says why not.
    let mut other = app.browser();
    let res = other
        .post_form(
            "/login",
            &[("username", "newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    res.assert_contains("waiting for approval");
    // A wrong password still says only that.
    let res = other
        .post_form(
            "/login",
            &[("username", "newcomer"), ("password", "not the password")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    res.assert_lacks("waiting for approval");

    // The admin sees it with its reason and e-mail, and approves it.
    let mut boss = admin(&app, "boss").await;
    let page = boss.get("/admin/accounts?status=pending").await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("@newcomer");
    page.assert_contains("I write about the harbour");
    page.assert_contains("new@example.org");
    page.assert_lacks("data-username=\"boss\"");
    let id = accounts::find_local(&app.svc, "newcomer")
        .await
        .unwrap()
        .unwrap()
        .id;
    let res = boss
        .post_form(&format!("/admin/accounts/{id}/approve"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(boss.get(res.location()).await.status(), StatusCode::OK);
    boss.get("/admin/accounts?status=pending")
        .await
        .assert_lacks("@newcomer");

    let res = other
        .post_form(
            "/login",
            &[("username", "newcomer"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    boss.get("/moderation/log")
        .await
        .assert_contains("approved a sign-up");

    // A user who is not staff may not see the page.
    set_registrations(&app, "open").await;
    let mut someone = app.user("someone").await;
    assert_eq!(
        someone.get("/admin/accounts").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = someone
        .post_form(&format!("/admin/accounts/{id}/silence"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_app_sign_up_waits_and_the_admin_api_lists_approves_and_rejects() {
    let app = TestApp::spawn().await;
    set_registrations(&app, "approval").await;
    let v1 = reqwest::get(format!("{}/api/v1/instance", app.base))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(v1["registrations"], true);
    assert_eq!(v1["approval_required"], true);

    let client = Api::for_app(&app, "read write").await;
    let sign_up = |name: &'static str, extra: &[(&'static str, &'static str)]| {
        let mut f: Vec<(&str, &str)> = vec![
            ("username", name),
            (
                "email",
                if name == "reader" {
                    "reader@example.org"
                } else {
                    "writer@example.org"
                },
            ),
            ("password", PASSWORD),
            ("agreement", "true"),
            ("locale", "en"),
        ];
        f.extend_from_slice(extra);
        f
    };

    // Bad input: unknown parameter, no agreement, no reason — each 422, nothing made.
    let (status, body) = client
        .form(
            "/api/v1/accounts",
            &sign_up("reader", &[("reason", "hi"), ("colour", "red")]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["error"].as_str().unwrap().contains("colour"), "{body}");
    let (status, body) = client
        .form(
            "/api/v1/accounts",
            &[
                ("username", "reader"),
                ("email", "reader@example.org"),
                ("password", PASSWORD),
                ("reason", "hi"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["details"]["agreement"][0]["error"], "ERR_ACCEPTED");
    let (status, body) = client
        .form("/api/v1/accounts", &sign_up("reader", &[]))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(body["details"]["reason"].is_array(), "{body}");
    assert!(
        accounts::find_local(&app.svc, "reader")
            .await
            .unwrap()
            .is_none()
    );

    // A sign-up with a reason: a token that may not act yet.
    let (status, token) = client
        .form(
            "/api/v1/accounts",
            &sign_up("reader", &[("reason", "I read the local news every day")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(token["token_type"], "Bearer");
    let reader = with_token(&app, token["access_token"].as_str().unwrap());
    let (status, body) = reader.get("/api/v1/accounts/verify_credentials").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Your login is currently pending approval");
    let (status, _) = reader
        .form("/api/v1/statuses", &[("status", "hello")])
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // The same username or e-mail cannot be taken twice.
    let (status, body) = client
        .form(
            "/api/v1/accounts",
            &sign_up("reader", &[("reason", "again")]),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["details"]["username"][0]["error"], "ERR_TAKEN");
    let (status, _) = client
        .form(
            "/api/v1/accounts",
            &sign_up("writer", &[("reason", "I write")]),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // Staff with admin scopes see both; others may not look.
    make_admin(&app, "boss").await;
    let boss = Api::login_with_scopes(&app, "boss", "read write admin:read admin:write").await;
    let plain = Api::login_with_scopes(&app, "boss", "read write").await;
    let (status, _) = plain.get("/api/v1/admin/accounts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    accounts::register(
        &app.svc,
        Registration {
            username: "someone".into(),
            password: PASSWORD.into(),
            is_admin: false,
        },
    )
    .await
    .unwrap();
    let someone =
        Api::login_with_scopes(&app, "someone", "read write admin:read admin:write").await;
    let (status, body) = someone.get("/api/v1/admin/accounts").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "This action is not allowed");

    let pending = boss.ok("/api/v1/admin/accounts?pending=true").await;
    let names: Vec<&str> = pending
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["writer", "reader"]);
    let reader_row = &pending[1];
    assert_eq!(reader_row["approved"], false);
    assert_eq!(reader_row["email"], "reader@example.org");
    assert_eq!(reader_row["locale"], "en");
    assert_eq!(
        reader_row["invite_request"],
        "I read the local news every day"
    );
    assert_eq!(reader_row["role"]["id"], "-99");
    assert_eq!(reader_row["account"]["acct"], "reader");
    let reader_id = reader_row["id"].as_str().unwrap().to_owned();
    let v2 = boss
        .ok("/api/v2/admin/accounts?origin=local&status=pending&username=rea")
        .await;
    assert_eq!(v2.as_array().unwrap().len(), 1);
    assert_eq!(v2[0]["id"], reader_id.as_str());
    let staff = boss.ok("/api/v2/admin/accounts?permissions=staff").await;
    assert_eq!(staff.as_array().unwrap().len(), 1);
    assert_eq!(staff[0]["username"], "boss");
    assert_eq!(staff[0]["role"]["name"], "Admin");
    let by_role = boss.ok("/api/v2/admin/accounts?role_ids[]=2").await;
    assert_eq!(by_role[0]["username"], "boss");
    for bad in [
        "/api/v2/admin/accounts?status=sleeping",
        "/api/v2/admin/accounts?origin=mars",
        "/api/v1/admin/accounts?colour=red",
        "/api/v2/admin/accounts?local=true",
    ] {
        let (status, body) = boss.get(bad).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }

    // Approve the reader: its token works now; approving twice is refused.
    let (status, approved) = boss
        .post(&format!("/api/v1/admin/accounts/{reader_id}/approve"))
        .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["approved"], true);
    let me = reader.ok("/api/v1/accounts/verify_credentials").await;
    assert_eq!(me["username"], "reader");
    let (status, body) = boss
        .post(&format!("/api/v1/admin/accounts/{reader_id}/approve"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    // Reject the writer: the account is gone and its name free again.
    let writer_id = pending[0]["id"].as_str().unwrap().to_owned();
    let (status, rejected) = boss
        .post(&format!("/api/v1/admin/accounts/{writer_id}/reject"))
        .await;
    assert_eq!(status, StatusCode::OK, "{rejected}");
    assert_eq!(rejected["username"], "writer");
    let (status, _) = boss
        .get(&format!("/api/v1/admin/accounts/{writer_id}"))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        accounts::find_local(&app.svc, "writer")
            .await
            .unwrap()
            .is_none()
    );
    let (status, _) = boss
        .post(&format!("/api/v1/admin/accounts/{reader_id}/reject"))
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an approved account is not rejected"
    );
}

#[tokio::test]
async fn admin_actions_silence_disable_and_suspend_through_the_api() {
    let app = TestApp::spawn().await;
    make_admin(&app, "boss").await;
    app.user("target").await;
    let boss = Api::login_with_scopes(&app, "boss", "read write admin:read admin:write").await;
    let target = Api::login_with_scopes(&app, "target", "read write").await;
    let id = target.ok("/api/v1/accounts/verify_credentials").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (status, body) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "silence"), ("text", "too loud")],
        )
        .await;
    assert_eq!((status, body), (StatusCode::OK, json!({})));
    let shown = boss.ok(&format!("/api/v1/admin/accounts/{id}")).await;
    assert_eq!(shown["silenced"], true);
    let silenced = boss.ok("/api/v1/admin/accounts?silenced=true").await;
    assert_eq!(silenced.as_array().unwrap().len(), 1);
    let (status, shown) = boss
        .post(&format!("/api/v1/admin/accounts/{id}/unsilence"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["silenced"], false);

    // Disabling the login: the token stops working with Mastodon's message, the login
    // form says why; enabling brings both back.
    let (status, _) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "disable")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = target.get("/api/v1/accounts/verify_credentials").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Your login is currently disabled");
    let res = app
        .browser()
        .post_form("/login", &[("username", "target"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    res.assert_contains("disabled");
    let (status, shown) = boss
        .post(&format!("/api/v1/admin/accounts/{id}/enable"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["disabled"], false);
    target.ok("/api/v1/accounts/verify_credentials").await;

    let (status, _) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "suspend")],
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let shown = boss.ok(&format!("/api/v1/admin/accounts/{id}")).await;
    assert_eq!(shown["suspended"], true);
    let (status, _) = boss
        .post(&format!("/api/v1/admin/accounts/{id}/unsuspend"))
        .await;
    assert_eq!(status, StatusCode::OK);

    // Unknown types and parameters change nothing.
    let (status, body) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "banish")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let (status, _) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "silence"), ("colour", "red")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    // No e-mail can be sent: asking for one is refused, and nothing is done.
    let (status, body) = boss
        .form(
            &format!("/api/v1/admin/accounts/{id}/action"),
            &[("type", "silence"), ("send_email_notification", "true")],
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert!(
        body.to_string().contains("send_email_notification"),
        "{body}"
    );
    let shown = boss.ok(&format!("/api/v1/admin/accounts/{id}")).await;
    assert_eq!(shown["silenced"], false);
    // Nobody acts on their own account.
    let boss_id = boss.ok("/api/v1/accounts/verify_credentials").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = boss
        .form(
            &format!("/api/v1/admin/accounts/{boss_id}/action"),
            &[("type", "disable")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn closed_sign_ups_are_refused_on_the_web_and_the_api_and_open_ones_work_at_once() {
    let app = TestApp::spawn().await;
    let client = Api::for_app(&app, "read write").await;
    let form = [
        ("username", "early"),
        ("email", "early@example.org"),
        ("password", PASSWORD),
        ("agreement", "1"),
        ("locale", "en"),
    ];
    // Open: the token works at once.
    let (status, token) = client.form("/api/v1/accounts", &form).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let early = with_token(&app, token["access_token"].as_str().unwrap());
    assert_eq!(
        early.ok("/api/v1/accounts/verify_credentials").await["username"],
        "early"
    );

    set_registrations(&app, "closed").await;
    let (status, body) = client
        .form(
            "/api/v1/accounts",
            &[
                ("username", "late"),
                ("email", "late@example.org"),
                ("password", PASSWORD),
                ("agreement", "1"),
                ("locale", "en"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"], "Sign-ups are closed on this server.");
    let res = app
        .browser()
        .post_form("/join", &[("username", "late"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        accounts::find_local(&app.svc, "late")
            .await
            .unwrap()
            .is_none()
    );
    // Without an app token there is no sign-up either.
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/accounts", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

fn user_cmd(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", db.url(), "user"])
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_command_line_lists_approves_and_rejects_pending_sign_ups() {
    let app = TestApp::spawn().await;
    set_registrations(&app, "approval").await;
    for (name, reason) in [("anna", "Neighbour\nof the editor"), ("bert", "spam spam")] {
        let res = app
            .browser()
            .post_form(
                "/join",
                &[
                    ("username", name),
                    ("password", PASSWORD),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK, "{}", res.body);
    }
    let out = user_cmd(&app.db, &["pending"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = String::from_utf8_lossy(&out.stdout).to_string();
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("anna\t") && lines[0].ends_with("\tNeighbour of the editor"));
    assert!(lines[1].starts_with("bert\t"));

    let out = user_cmd(&app.db, &["approve", "anna"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "approved anna\n");
    let out = user_cmd(&app.db, &["reject", "bert"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Bad input: one line saying why, nothing changed.
    let out = user_cmd(&app.db, &["approve", "anna"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not waiting for approval"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = user_cmd(&app.db, &["approve", "nobody"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no local account"));

    assert!(String::from_utf8_lossy(&user_cmd(&app.db, &["pending"]).stdout).is_empty());
    let res = app
        .browser()
        .post_form("/login", &[("username", "anna"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        accounts::find_local(&app.svc, "bert")
            .await
            .unwrap()
            .is_none()
    );
    // The log shows both, taken on the command line.
    let boss = admin(&app, "boss").await;
    let log = boss.get("/moderation/log").await;
    log.assert_contains("The command line");
    log.assert_contains("approved a sign-up");
    log.assert_contains("rejected a sign-up");
    log.assert_contains("@bert");
}
