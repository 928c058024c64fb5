//! Instance settings (issue #14, item 2): set by the admin on the web page or with
//! `tidings instance set`, shown in the instance API (v1, v2, rules), NodeInfo, the about
//! page and the sign-up page; bad keys and values change nothing.

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{PASSWORD, TestApp, TestDb};
use crate::moderation::admin;

fn instance_cmd(db: &TestDb, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", db.url(), "instance"])
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

async fn json(app: &TestApp, path: &str) -> Value {
    let res = reqwest::get(format!("{}{path}", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

#[tokio::test]
async fn settings_from_the_command_line_show_in_the_api_nodeinfo_and_pages() {
    let app = TestApp::spawn().await;
    for (key, value) in [
        ("name", "Harbour News"),
        ("short_description", "News from the harbour town"),
        ("contact", "editors@harbour.example"),
    ] {
        let out = instance_cmd(&app.db, &["set", key, value], b"");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Rules from standard input, a line each.
    let out = instance_cmd(&app.db, &["set", "rules", "-"], b"Be kind\n\nNo spam\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(shown.contains("name: Harbour News\n"), "{shown}");
    assert!(
        shown.contains("rules.1: Be kind\nrules.2: No spam\n"),
        "{shown}"
    );

    let out = instance_cmd(&app.db, &["show"], b"");
    assert_eq!(String::from_utf8_lossy(&out.stdout), shown);

    // Another process changed them: this one shows them within its refresh time.
    tokio::time::sleep(tidings::service::instance::REFRESH).await;
    let v1 = json(&app, "/api/v1/instance").await;
    assert_eq!(v1["title"], "Harbour News");
    assert_eq!(v1["short_description"], "News from the harbour town");
    assert_eq!(v1["email"], "editors@harbour.example");
    assert_eq!(v1["rules"][1]["text"], "No spam");
    assert_eq!(v1["registrations"], true);
    let v2 = json(&app, "/api/v2/instance").await;
    assert_eq!(v2["title"], "Harbour News");
    assert_eq!(v2["contact"]["email"], "editors@harbour.example");
    assert_eq!(v2["rules"][0]["id"], "1");
    assert_eq!(v2["rules"][0]["text"], "Be kind");
    let rules = json(&app, "/api/v1/instance/rules").await;
    assert_eq!(rules.as_array().unwrap().len(), 2);
    let nodeinfo = json(&app, "/nodeinfo/2.1").await;
    assert_eq!(nodeinfo["openRegistrations"], true);
    assert_eq!(nodeinfo["metadata"]["nodeName"], "Harbour News");

    let b = app.browser();
    let about = b.get("/about").await;
    about.assert_contains("About Harbour News");
    about.assert_contains("<li>No spam</li>");
    about.assert_contains("mailto:editors@harbour.example");
    // The name is the site's name on every page.
    b.get("/").await.assert_contains("Harbour News");

    // Closed: the sign-up page says so and joining is refused; the API and NodeInfo agree.
    let out = instance_cmd(&app.db, &["set", "registrations", "closed"], b"");
    assert!(out.status.success());
    tokio::time::sleep(tidings::service::instance::REFRESH).await;
    let page = b.get("/join").await;
    assert_eq!(page.status(), StatusCode::FORBIDDEN);
    page.assert_contains("Sign-ups are closed");
    let mut visitor = app.browser();
    let res = visitor
        .post_form(
            "/join",
            &[
                ("username", "latecomer"),
                ("password", PASSWORD),
                ("accept_rules", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        tidings::service::accounts::find_local(&app.svc, "latecomer")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(json(&app, "/api/v1/instance").await["registrations"], false);
    assert_eq!(
        json(&app, "/api/v2/instance").await["registrations"]["enabled"],
        false
    );
    assert_eq!(
        json(&app, "/nodeinfo/2.1").await["openRegistrations"],
        false
    );
}

#[tokio::test]
async fn bad_keys_and_values_are_refused_in_one_line_and_change_nothing() {
    let app = TestApp::spawn().await;
    let before = String::from_utf8_lossy(&instance_cmd(&app.db, &["show"], b"").stdout).to_string();
    for (key, value, says) in [
        ("title", "x", "unknown setting \"title\""),
        (
            "registrations",
            "sometimes",
            "use open, approval, invite or closed",
        ),
        ("invites", "everyone", "staff or users"),
        ("name", "", "name:"),
        ("contact", "two words", "contact:"),
    ] {
        let out = instance_cmd(&app.db, &["set", key, value], b"");
        assert!(!out.status.success(), "{key} {value} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{key} {value}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    let after = String::from_utf8_lossy(&instance_cmd(&app.db, &["show"], b"").stdout).to_string();
    assert_eq!(before, after);
    assert!(before.contains("registrations: open"), "{before}");
}

#[tokio::test]
async fn the_admin_edits_settings_on_the_web_and_people_accept_the_rules_to_join() {
    let app = TestApp::spawn().await;
    let mut reader = app.user("reader").await;
    assert_eq!(
        reader.get("/admin/instance").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = reader
        .post_form(
            "/admin/instance",
            &[("name", "Taken Over"), ("registrations", "open")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let mut boss = admin(&app, "boss").await;
    // A rejected form keeps what was typed and saves nothing.
    let res = boss
        .post_form(
            "/admin/instance",
            &[
                ("name", ""),
                ("short_description", "Typed and kept"),
                ("description", ""),
                ("contact", "@boss"),
                ("rules", "Be kind"),
                ("registrations", "open"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Typed and kept");
    res.assert_contains("name-error");
    assert_eq!(json(&app, "/api/v1/instance").await["title"], "Tidings");

    let res = boss
        .post_form(
            "/admin/instance",
            &[
                ("name", "Valley Tidings"),
                ("short_description", "The valley's news"),
                ("description", "Run by the valley's editors.\n\nSince 2026."),
                ("contact", "@boss"),
                ("rules", "Be kind\nCite your sources"),
                ("registrations", "open"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Shown at once in this process.
    let v2 = json(&app, "/api/v2/instance").await;
    assert_eq!(v2["title"], "Valley Tidings");
    assert_eq!(v2["contact"]["account"]["username"], "boss");
    assert_eq!(v2["rules"][1]["text"], "Cite your sources");
    let about = app.browser().get("/about").await;
    about.assert_contains("<p>Since 2026.</p>");
    about.assert_contains("href=\"/@boss\"");

    // Joining needs the rules accepted; without, the form comes back with the name typed.
    let mut visitor = app.browser();
    let page = visitor.get("/join").await;
    page.assert_contains("<li>Cite your sources</li>");
    let res = visitor
        .post_form("/join", &[("username", "newcomer"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("accept_rules-error");
    res.assert_contains("value=\"newcomer\"");
    let res = visitor
        .post_form(
            "/join",
            &[
                ("username", "newcomer"),
                ("password", PASSWORD),
                ("accept_rules", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
