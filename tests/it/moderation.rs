//! Reports and moderation over real HTTP: filing reports, the queue, resolving and
//! dismissing, removing content, suspending accounts, moderator roles and the log.

use crate::common::{Browser, PASSWORD, TestApp};
use diesel::prelude::*;
use reqwest::StatusCode;
use tidings::db::models::{ModAction, Report};
use tidings::db::schema::{mod_actions, posts, reports, sessions};
use tidings::service::accounts::{self, Registration};

/// An admin account, logged in through the login form.
pub(crate) async fn admin(app: &TestApp, name: &str) -> Browser {
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
    login(app, name).await
}

async fn login(app: &TestApp, name: &str) -> Browser {
    let mut b = app.browser();
    let res = b
        .post_form("/login", &[("username", name), ("password", PASSWORD)])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "login {name}: {}",
        res.body
    );
    b
}

async fn account_id(app: &TestApp, name: &str) -> i64 {
    accounts::find_local(&app.svc, name)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no account {name}"))
        .id
}

async fn all_reports(app: &TestApp) -> Vec<Report> {
    app.svc
        .db
        .run(|conn| {
            Ok(reports::table
                .order(reports::id.asc())
                .load::<Report>(conn)?)
        })
        .await
        .unwrap()
}

async fn report(app: &TestApp, id: i64) -> Report {
    app.svc
        .db
        .run(move |conn| Ok(reports::table.find(id).first::<Report>(conn)?))
        .await
        .unwrap()
}

async fn all_actions(app: &TestApp) -> Vec<ModAction> {
    app.svc
        .db
        .run(|conn| {
            Ok(mod_actions::table
                .order(mod_actions::id.asc())
                .load::<ModAction>(conn)?)
        })
        .await
        .unwrap()
}

/// Files a report through the form and returns the new report's id.
async fn file_report(
    app: &TestApp,
    b: &mut Browser,
    field: &str,
    value: &str,
    reason: &str,
) -> i64 {
    let before: Vec<i64> = all_reports(app).await.iter().map(|r| r.id).collect();
    let res = b
        .post_form("/report", &[(field, value), ("reason", reason)])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/report/sent");
    all_reports(app)
        .await
        .into_iter()
        .find(|r| !before.contains(&r.id))
        .expect("a new report")
        .id
}

#[tokio::test]
async fn a_reported_story_appears_in_the_queue() {
    let app = TestApp::spawn().await;
    let boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let story = author.post_story("Buy cheap pills", "spam spam").await;

    // Logged out: the form sends people to log in first.
    let res = app.browser().get(&format!("/report?post={story}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        res.location().starts_with("/login?return_to="),
        "{}",
        res.location()
    );

    // The form names what is reported.
    let form = reader.get(&format!("/report?post={story}")).await;
    assert_eq!(form.status(), StatusCode::OK);
    form.assert_contains("Report a story");
    form.assert_contains("Buy cheap pills");
    form.assert_contains("@author");
    form.assert_contains(&format!("name=\"post\" value=\"{story}\""));

    let id = file_report(
        &app,
        &mut reader,
        "post",
        &story.to_string(),
        "  It is spam.  ",
    )
    .await;
    let sent = reader.get("/report/sent").await;
    assert_eq!(sent.status(), StatusCode::OK);
    sent.assert_contains("Thanks, moderators will look at it");

    let r = report(&app, id).await;
    assert_eq!(r.reason, "It is spam.");
    assert_eq!(r.status, "open");
    assert_eq!(r.ap_id, format!("http://tidings.test/reports/{id}"));
    assert_eq!(r.reporter_id, Some(account_id(&app, "reader").await));
    assert_eq!(r.target_account_id, account_id(&app, "author").await);
    assert_eq!(r.target_post_id, Some(story));

    // An account, reported from its profile.
    let profile = reader.get("/@author").await;
    profile.assert_contains("href=\"/report?account=author\"");
    let form = reader.get("/report?account=author").await;
    form.assert_contains("Report an account");
    let acct = file_report(
        &app,
        &mut reader,
        "account",
        "@author",
        "Posts spam all day",
    )
    .await;
    let r = report(&app, acct).await;
    assert_eq!(r.target_account_id, account_id(&app, "author").await);
    assert_eq!(r.target_post_id, None);

    // The queue shows both, with reporter, target and post.
    let queue = boss.get("/moderation").await;
    assert_eq!(queue.status(), StatusCode::OK);
    queue.assert_contains("It is spam.");
    queue.assert_contains("Posts spam all day");
    queue.assert_contains("Buy cheap pills");
    queue.assert_contains("href=\"/@reader\"");
    queue.assert_contains("href=\"/@author\"");
    queue.assert_contains(&format!("/moderation/reports/{id}/resolve"));
    queue.assert_contains(&format!("/moderation/reports/{id}/dismiss"));
    queue.assert_contains(&format!("/moderation/posts/{story}/remove"));
    queue.assert_contains("Suspend account");
    // The nav links to it for moderators only.
    queue.assert_contains("href=\"/moderation\"");
    reader.get("/").await.assert_lacks("href=\"/moderation\"");
}

#[tokio::test]
async fn bad_reports_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let story = author.post_story("A fine story", "text").await;
    let sid = story.to_string();

    // Empty reason: 422 with the message beside the field.
    let res = reader
        .post_form("/report", &[("post", &sid), ("reason", "  \n ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("Say what is wrong.");
    res.assert_contains("id=\"reason-error\"");
    res.assert_contains("A fine story");

    // Too long: the text typed is kept.
    let long = format!("{} kept words", "x".repeat(1000));
    let res = reader
        .post_form("/report", &[("post", &sid), ("reason", &long)])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("A reason has at most 1000 characters (this one has 1011).");
    res.assert_contains(&format!("{long}</textarea>"));

    // Your own post or account.
    let res = author
        .post_form(
            "/report",
            &[("post", &sid), ("reason", "Hmm, my own story")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("You cannot report your own post.");
    res.assert_contains(">Hmm, my own story</textarea>");
    let res = author
        .post_form("/report", &[("account", "author"), ("reason", "me")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    res.assert_contains("You cannot report yourself.");

    // Unknown targets.
    for path in [
        "/report?post=999999",
        "/report?post=abc",
        "/report?account=nobody",
    ] {
        assert_eq!(
            reader.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let res = reader
        .post_form("/report", &[("post", "999999"), ("reason", "spam")])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = reader
        .post_form("/report", &[("account", "nobody"), ("reason", "spam")])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        reader.get("/report").await.status(),
        StatusCode::BAD_REQUEST
    );

    // A deleted story is gone.
    let res = author
        .post_form(&format!("/stories/{story}/delete"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = reader
        .post_form("/report", &[("post", &sid), ("reason", "spam")])
        .await;
    assert_eq!(res.status(), StatusCode::GONE);

    // Logged out: refused.
    let mut anon = app.browser();
    let res = anon
        .post_form("/report", &[("account", "author"), ("reason", "spam")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    assert!(all_reports(&app).await.is_empty());
}

#[tokio::test]
async fn only_moderators_moderate_and_admins_appoint_them() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let mut helper = app.user("helper").await;
    let story = author.post_story("Reported", "text").await;
    let rid = file_report(&app, &mut reader, "post", &story.to_string(), "spam").await;
    let author_id = account_id(&app, "author").await;
    let helper_id = account_id(&app, "helper").await;

    let posts_to_try = [
        (format!("/moderation/reports/{rid}/resolve"), vec![]),
        (format!("/moderation/reports/{rid}/dismiss"), vec![]),
        (format!("/moderation/posts/{story}/remove"), vec![]),
        (format!("/moderation/accounts/{author_id}/suspend"), vec![]),
        (
            format!("/moderation/accounts/{author_id}/unsuspend"),
            vec![],
        ),
        (
            format!("/moderation/accounts/{helper_id}/moderator"),
            vec![("grant", "true")],
        ),
    ];
    // Not a moderator: 403 on every page and action.
    for path in ["/moderation", "/moderation/log"] {
        assert_eq!(
            helper.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    for (path, fields) in &posts_to_try {
        let res = helper.post_form(path, fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Logged out: pages go to the login form, actions are refused.
    let mut anon = app.browser();
    let res = anon.get("/moderation").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"));
    for (path, fields) in &posts_to_try {
        let res = anon.post_form(path, fields).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
    assert_eq!(report(&app, rid).await.status, "open");
    assert!(all_actions(&app).await.is_empty());

    // The admin sees the controls on a profile and appoints a moderator.
    let profile = boss.get("/@helper").await;
    profile.assert_contains(&format!("/moderation/accounts/{helper_id}/moderator"));
    profile.assert_contains("Make moderator");
    profile.assert_contains(&format!("/moderation/accounts/{helper_id}/suspend"));
    // Plain people see only the Report link.
    let profile = reader.get("/@helper").await;
    profile.assert_contains("/report?account=helper");
    profile.assert_lacks("Make moderator");
    profile.assert_lacks("/suspend");
    // Nobody is offered to report themselves.
    helper
        .get("/@helper")
        .await
        .assert_lacks("/report?account=");

    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "true"), ("return_to", "/@helper")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/@helper");
    let queue = helper.get("/moderation").await;
    assert_eq!(queue.status(), StatusCode::OK);
    queue.assert_contains("Reported");
    queue.assert_contains("href=\"/moderation\"");
    let profile = helper.get("/@author").await;
    profile.assert_contains(&format!("/moderation/accounts/{author_id}/suspend"));
    profile.assert_lacks("Make moderator");

    // Moderators cannot appoint moderators; granting twice is a conflict.
    let reader_id = account_id(&app, "reader").await;
    let res = helper
        .post_form(
            &format!("/moderation/accounts/{reader_id}/moderator"),
            &[("grant", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Revoked: the role ends on the next request.
    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "false")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        helper.get("/moderation").await.status(),
        StatusCode::FORBIDDEN
    );
    let actions: Vec<String> = all_actions(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["grant_moderator", "revoke_moderator"]);
}

#[tokio::test]
async fn resolve_and_dismiss_close_reports_once() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let story = author.post_story("Questionable", "text").await;
    let first = file_report(
        &app,
        &mut reader,
        "post",
        &story.to_string(),
        "first reason",
    )
    .await;
    let second = file_report(&app, &mut reader, "account", "author", "second reason").await;
    let boss_id = account_id(&app, "boss").await;

    let res = boss
        .post_form(&format!("/moderation/reports/{first}/resolve"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/moderation?done=resolved");
    let r = report(&app, first).await;
    assert_eq!(r.status, "resolved");
    assert_eq!(r.resolved_by, Some(boss_id));
    assert!(r.resolved_at.is_some());

    let res = boss
        .post_form(&format!("/moderation/reports/{second}/dismiss"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let r = report(&app, second).await;
    assert_eq!(r.status, "dismissed");
    assert_eq!(r.resolved_by, Some(boss_id));

    // A closed report cannot be closed again, either way.
    for (id, verb) in [(first, "resolve"), (first, "dismiss"), (second, "resolve")] {
        let res = boss
            .post_form(&format!("/moderation/reports/{id}/{verb}"), &[])
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{verb} {id}");
        res.assert_contains("already handled");
    }
    assert_eq!(report(&app, first).await.status, "resolved");
    let res = boss
        .post_form("/moderation/reports/12345/resolve", &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The queue is empty again.
    let queue = boss.get("/moderation?done=dismissed").await;
    queue.assert_contains("Report dismissed.");
    queue.assert_lacks("first reason");
    queue.assert_lacks("second reason");
    queue.assert_contains("No open reports.");
    let actions: Vec<String> = all_actions(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(actions, ["resolve_report", "dismiss_report"]);
}

#[tokio::test]
async fn removing_a_story_takes_it_out_of_view() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let story = author.post_story("Removable", "bad text").await;
    let rid = file_report(&app, &mut reader, "post", &story.to_string(), "abuse").await;

    let res = boss
        .post_form(
            &format!("/moderation/posts/{story}/remove"),
            &[("report_id", &rid.to_string()), ("note", "rule 1")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let removed_at = app
        .svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .find(story)
                .select(posts::removed_at)
                .first::<Option<chrono::NaiveDateTime>>(conn)?)
        })
        .await
        .unwrap();
    assert!(removed_at.is_some(), "posts.removed_at set");
    // The report it answered is resolved by the same action.
    let r = report(&app, rid).await;
    assert_eq!(r.status, "resolved");

    let page = app.browser().get(&format!("/stories/{story}")).await;
    assert!(
        page.status() == StatusCode::NOT_FOUND || page.status() == StatusCode::GONE,
        "removed story answered {}",
        page.status()
    );
    // It can no longer be reported, nor removed twice.
    let res = reader
        .post_form(
            "/report",
            &[("post", &story.to_string()), ("reason", "again")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::GONE);
    let res = boss
        .post_form(&format!("/moderation/posts/{story}/remove"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // A report about something else cannot be attached.
    let other = author.post_story("Other", "text").await;
    let acct = file_report(&app, &mut reader, "account", "author", "x").await;
    let res = boss
        .post_form(
            &format!("/moderation/posts/{other}/remove"),
            &[("report_id", &acct.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(report(&app, acct).await.status, "open");

    let actions = all_actions(&app).await;
    assert_eq!(actions.len(), 1);
    assert_eq!(actions[0].action, "remove_post");
    assert_eq!(actions[0].target_post_id, Some(story));
    assert_eq!(actions[0].report_id, Some(rid));
    assert_eq!(actions[0].note, "rule 1");
}

#[tokio::test]
async fn suspended_accounts_lose_their_sessions_and_cannot_log_in() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let troll = app.user("troll").await;
    let mut reader = app.user("reader").await;
    let mut helper = app.user("helper").await;
    let troll_id = account_id(&app, "troll").await;
    let boss_id = account_id(&app, "boss").await;
    let helper_id = account_id(&app, "helper").await;
    assert_eq!(troll.get("/submit").await.status(), StatusCode::OK);
    let rid = file_report(&app, &mut reader, "account", "troll", "harassment").await;

    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // A moderator cannot suspend themselves, nor an admin.
    let res = helper
        .post_form(&format!("/moderation/accounts/{helper_id}/suspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let res = helper
        .post_form(&format!("/moderation/accounts/{boss_id}/suspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let res = helper
        .post_form(
            &format!("/moderation/accounts/{troll_id}/suspend"),
            &[("report_id", &rid.to_string()), ("note", "repeated abuse")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(report(&app, rid).await.status, "resolved");
    let live = app
        .svc
        .db
        .run(move |conn| {
            Ok(sessions::table
                .filter(sessions::account_id.eq(troll_id))
                .count()
                .get_result::<i64>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(live, 0, "sessions deleted");

    // The open session stops working at once, and logging in again fails.
    let res = troll.get("/submit").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(res.location().starts_with("/login"), "{}", res.location());
    let mut again = app.browser();
    let res = again
        .post_form("/login", &[("username", "troll"), ("password", PASSWORD)])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // Suspending twice is a conflict.
    let res = helper
        .post_form(&format!("/moderation/accounts/{troll_id}/suspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // Lifting the suspension lets the account log in again.
    let log = boss.get("/moderation/log").await;
    log.assert_contains(&format!("/moderation/accounts/{troll_id}/unsuspend"));
    let res = boss
        .post_form(&format!("/moderation/accounts/{troll_id}/unsuspend"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let back = login(&app, "troll").await;
    assert_eq!(back.get("/submit").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_action_appears_in_the_log() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let mut helper = app.user("helper").await;
    let helper_id = account_id(&app, "helper").await;
    let author_id = account_id(&app, "author").await;
    let story = author.post_story("Logged story", "text").await;
    let r1 = file_report(&app, &mut reader, "post", &story.to_string(), "one").await;
    let r2 = file_report(&app, &mut reader, "account", "author", "two").await;

    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "true")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for (path, fields) in [
        (format!("/moderation/reports/{r1}/resolve"), vec![]),
        (format!("/moderation/reports/{r2}/dismiss"), vec![]),
        (
            format!("/moderation/posts/{story}/remove"),
            vec![("note", "off-topic spam")],
        ),
        (format!("/moderation/accounts/{author_id}/suspend"), vec![]),
        (
            format!("/moderation/accounts/{author_id}/unsuspend"),
            vec![],
        ),
    ] {
        let res = helper.post_form(&path, &fields).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}: {}", res.body);
    }
    let res = boss
        .post_form(
            &format!("/moderation/accounts/{helper_id}/moderator"),
            &[("grant", "false")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let actions: Vec<String> = all_actions(&app)
        .await
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert_eq!(
        actions,
        [
            "grant_moderator",
            "resolve_report",
            "dismiss_report",
            "remove_post",
            "suspend_account",
            "unsuspend_account",
            "revoke_moderator",
        ]
    );

    // The log page lists them newest first, with names; only moderators see it.
    let log = boss.get("/moderation/log").await;
    assert_eq!(log.status(), StatusCode::OK);
    let labels = [
        "removed a moderator",
        "lifted a suspension",
        "suspended an account",
        "removed a post",
        "dismissed a report",
        "resolved a report",
        "made a moderator",
    ];
    let mut at = 0;
    for label in labels {
        let found = log.body[at..]
            .find(label)
            .unwrap_or_else(|| panic!("{label:?} missing or out of order:\n{}", log.body));
        at += found + label.len();
    }
    log.assert_contains("href=\"/@boss\"");
    log.assert_contains("href=\"/@helper\"");
    log.assert_contains("href=\"/@author\"");
    log.assert_contains("Logged story");
    log.assert_contains("Note: off-topic spam");
    assert_eq!(
        helper.get("/moderation/log").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn forms_without_csrf_are_refused() {
    let app = TestApp::spawn().await;
    let boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut reader = app.user("reader").await;
    let story = author.post_story("Target", "text").await;
    let rid = file_report(&app, &mut reader, "post", &story.to_string(), "spam").await;
    let author_id = account_id(&app, "author").await;

    let sid = story.to_string();
    let res = reader
        .post_raw("/report", &[("post", sid.as_str()), ("reason", "no token")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    for (path, fields) in [
        (format!("/moderation/reports/{rid}/resolve"), vec![]),
        (format!("/moderation/reports/{rid}/dismiss"), vec![]),
        (format!("/moderation/posts/{story}/remove"), vec![]),
        (format!("/moderation/accounts/{author_id}/suspend"), vec![]),
        (
            format!("/moderation/accounts/{author_id}/unsuspend"),
            vec![],
        ),
        (
            format!("/moderation/accounts/{author_id}/moderator"),
            vec![("grant", "true")],
        ),
    ] {
        let res = boss.post_raw(&path, &fields).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let res = boss
            .post_raw(
                &path,
                &[&fields[..], &[("csrf", "0123456789abcdef")]].concat(),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::FORBIDDEN,
            "{path} with a wrong token"
        );
    }
    assert_eq!(all_reports(&app).await.len(), 1);
    assert_eq!(report(&app, rid).await.status, "open");
    assert!(all_actions(&app).await.is_empty());
    assert_eq!(author.get("/submit").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_reply_can_be_reported_and_removed() {
    let app = TestApp::spawn().await;
    let mut boss = admin(&app, "boss").await;
    let mut author = app.user("author").await;
    let mut replier = app.user("replier").await;
    let story = author.post_story("A calm story", "text").await;
    let res = replier
        .post_form(
            &format!("/posts/{story}/reply"),
            &[("body", "A rude reply to report")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", res.body);
    let reply: i64 = res
        .location()
        .strip_prefix("/replies/")
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("unexpected redirect {:?}", res.location()));

    let form = author.get(&format!("/report?post={reply}")).await;
    assert_eq!(form.status(), StatusCode::OK);
    form.assert_contains("Report a reply");
    form.assert_contains("A rude reply to report");
    let rid = file_report(&app, &mut author, "post", &reply.to_string(), "rude").await;
    let r = report(&app, rid).await;
    assert_eq!(r.target_post_id, Some(reply));
    assert_eq!(r.target_account_id, account_id(&app, "replier").await);

    let queue = boss.get("/moderation").await;
    queue.assert_contains("a reply");
    queue.assert_contains(&format!("href=\"/replies/{reply}\""));
    let res = boss
        .post_form(
            &format!("/moderation/posts/{reply}/remove"),
            &[("report_id", &rid.to_string())],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let removed = app
        .svc
        .db
        .run(move |conn| {
            Ok(posts::table
                .find(reply)
                .select(posts::removed_at.is_not_null())
                .first::<bool>(conn)?)
        })
        .await
        .unwrap();
    assert!(removed);
    assert_eq!(report(&app, rid).await.status, "resolved");
    // The story itself stays.
    assert_eq!(
        app.browser()
            .get(&format!("/stories/{story}"))
            .await
            .status(),
        StatusCode::OK
    );
}
