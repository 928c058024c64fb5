//! Invitation links (issue #14, item 3): `tidings invite create --max-uses N --expires-in
//! 7d` and the `/invites` page make them; in `invite` mode `/join` lets in only with one
//! (and `POST /api/v1/accounts` with `invite_code`); used-up, expired and withdrawn links
//! are refused with why; users make them only when the instance allows.

use std::process::Command;

use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::api::Api;
use crate::common::{PASSWORD, TestApp, TestDb};
use crate::moderation::admin;
use tidings::db::schema::invites;
use tidings::service::accounts;
use tidings::service::instance::{self, Changes};

async fn set(app: &TestApp, key: &str, value: &str) {
    instance::apply(&app.svc, Changes::one(key, value).unwrap())
        .await
        .unwrap();
}

fn invite_cmd(db: &TestDb, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", db.url(), "invite"])
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .output()
        .unwrap()
}

/// The `/join?invite=…` path in a line of output or a page.
fn invite_path(text: &str) -> String {
    let start = text.find("/join?invite=").expect("an invite link");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/?=_-".contains(*c))
        .collect()
}

#[tokio::test]
async fn invite_links_from_the_command_line_let_people_in_until_used_up() {
    let app = TestApp::spawn().await;
    set(&app, "registrations", "invite").await;

    // Without an invitation: refused, with why.
    let res = app
        .browser()
        .post_form("/join", &[("username", "walkin"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    res.assert_contains("invitation");
    assert!(
        accounts::find_local(&app.svc, "walkin")
            .await
            .unwrap()
            .is_none()
    );

    let out = invite_cmd(
        &app.db,
        &["create", "--max-uses", "1", "--expires-in", "7d"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        printed.starts_with("http://tidings.test/join?invite="),
        "{printed}"
    );
    let path = invite_path(&printed);

    let mut guest = app.browser();
    let page = guest.get(&path).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("name=\"invite\"");
    let code = path.trim_start_matches("/join?invite=");
    let res = guest
        .post_form(
            "/join",
            &[
                ("username", "guest"),
                ("password", PASSWORD),
                ("invite", code),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);

    // Used up: the page and the form say so; nobody else gets in.
    let mut late = app.browser();
    let page = late.get(&path).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    page.assert_contains("used up");
    let res = late
        .post_form(
            "/join",
            &[
                ("username", "late"),
                ("password", PASSWORD),
                ("invite", code),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    res.assert_contains("used up");
    assert!(
        accounts::find_local(&app.svc, "late")
            .await
            .unwrap()
            .is_none()
    );

    let listed = String::from_utf8_lossy(&invite_cmd(&app.db, &["list"]).stdout).to_string();
    assert!(
        listed.contains(code) && listed.contains("1 of 1"),
        "{listed}"
    );

    // Bad input: one line, nothing made.
    for (args, says) in [
        (vec!["create", "--expires-in", "7x"], "7x"),
        (vec!["create", "--max-uses", "0"], "1 to"),
    ] {
        let out = invite_cmd(&app.db, &args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{err}");
    }
    let count: i64 = {
        let svc = app.svc.clone();
        svc.db
            .run(|conn| Ok(invites::table.count().get_result(conn)?))
            .await
            .unwrap()
    };
    assert_eq!(count, 1);
}

#[tokio::test]
async fn expired_links_are_refused_and_an_app_signs_up_with_invite_code() {
    let app = TestApp::spawn().await;
    set(&app, "registrations", "invite").await;
    let out = invite_cmd(&app.db, &["create", "--expires-in", "1d"]);
    let code = invite_path(&String::from_utf8_lossy(&out.stdout))
        .trim_start_matches("/join?invite=")
        .to_owned();

    // An app signs up with the code.
    let client = Api::for_app(&app, "read write").await;
    let (http, app_token) = (&client.http, &client.token);
    let sign_up = |name: &str, code: &str| {
        http.post(format!("{}/api/v1/accounts", app.base))
            .bearer_auth(app_token)
            .form(&[
                ("username", name),
                ("email", &format!("{name}@example.org")),
                ("password", PASSWORD),
                ("agreement", "true"),
                ("locale", "en"),
                ("invite_code", code),
            ])
            .send()
    };
    let res = sign_up("without", "").await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = sign_up("phoneuser", &code).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    // The link expires (its expiry moved into the past): refused with why.
    let svc = app.svc.clone();
    let c = code.clone();
    svc.db
        .write(move |conn| {
            diesel::update(invites::table.filter(invites::code.eq(c)))
                .set(invites::expires_at.eq(Some(
                    chrono::Utc::now().naive_utc() - chrono::Duration::minutes(1),
                )))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let res = sign_up("tooLate", &code).await.unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "This invitation has expired.");
    let page = app.browser().get(&format!("/join?invite={code}")).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    page.assert_contains("expired");
    let page = app.browser().get("/join?invite=nonsense").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    page.assert_contains("not valid");
}

#[tokio::test]
async fn users_make_invites_only_when_the_instance_allows_and_admins_always() {
    let app = TestApp::spawn().await;
    let mut member = app.user("member").await;
    set(&app, "registrations", "invite").await;
    assert_eq!(member.get("/invites").await.status(), StatusCode::FORBIDDEN);
    let res = member
        .post_form("/invites", &[("max_uses", "5"), ("expires_in", "7d")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let mut boss = admin(&app, "boss").await;
    let res = boss
        .post_form("/invites", &[("max_uses", "5"), ("expires_in", "1d")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let page = boss.get("/invites").await;
    page.assert_contains("0 of 5");
    // Bad values: 422, nothing made.
    let res = boss
        .post_form("/invites", &[("max_uses", "5000"), ("expires_in", "1d")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    set(&app, "invites", "users").await;
    let res = member
        .post_form("/invites", &[("max_uses", ""), ("expires_in", "")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let page = member.get("/invites").await;
    page.assert_contains("no limit");
    page.assert_contains("never expires");
    let path = invite_path(&page.body);

    // A friend joins with it; the member withdraws it; nobody else can.
    let res = app
        .browser()
        .post_form(
            "/join",
            &[
                ("username", "friend"),
                ("password", PASSWORD),
                ("invite", path.trim_start_matches("/join?invite=")),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let id_start = page.body.find("/invites/").unwrap() + "/invites/".len();
    let id: String = page.body[id_start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let res = member
        .post_form(&format!("/invites/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = app.browser().get(&path).await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    page.assert_contains("withdrawn");
}
