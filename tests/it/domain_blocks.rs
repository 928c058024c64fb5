//! Defederation (issue #14, item 4): blocks from the command line (the real binary), in
//! Mastodon's CSV format, and their enforcement on the inbox and the delivery queue, with
//! a real second HTTP server in the test process as the blocked peer.

use std::process::{Command, Output};
use std::time::Duration;

use crate::common::peer::{Peer, signed};
use crate::common::{TestApp, TestDb};
use diesel::prelude::*;
use reqwest::StatusCode;
use serde_json::json;
use tidings::db::schema::{accounts, deliveries, follows, reports};
use tidings::service::domain_blocks::{self, BlockInput, Severity};
use tidings::service::instance;

fn tidings(db: &TestDb, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args([
            "--database-url",
            db.url(),
            "--domain",
            "tidings.test",
            "--scheme",
            "http",
        ])
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .output()
        .unwrap()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The one-line error of a failed command.
fn failed(out: Output) -> String {
    assert!(
        !out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    err
}

#[tokio::test]
async fn the_cli_blocks_lists_and_unblocks_and_refuses_our_own_domain() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    let out = ok(tidings(
        db,
        &[
            "domain",
            "block",
            "Bad.Example",
            "--severity",
            "suspend",
            "--reject-reports",
            "--public-comment",
            "spam waves",
            "--private-comment",
            "ticket 12",
        ],
    ));
    assert_eq!(
        out.trim(),
        "blocked bad.example suspend reject_reports public_comment=\"spam waves\" private_comment=\"ticket 12\""
    );
    ok(tidings(
        db,
        &[
            "domain",
            "block",
            "loud.example",
            "--severity",
            "silence",
            "--obfuscate",
        ],
    ));
    let list = ok(tidings(db, &["domain", "list"]));
    assert_eq!(
        list,
        "bad.example suspend reject_reports public_comment=\"spam waves\" private_comment=\"ticket 12\"\n\
         loud.example silence obfuscate\n"
    );

    // Our own domain, a parent of it, junk and unknown severities: one line, nothing changed.
    let err = failed(tidings(db, &["domain", "block", "tidings.test"]));
    assert!(err.contains("this server's own domain"), "{err}");
    failed(tidings(
        db,
        &["domain", "block", "test", "--severity", "silence"],
    ));
    let err = failed(tidings(db, &["domain", "block", "https://x.example/"]));
    assert!(err.contains("not a domain"), "{err}");
    // (clap's usage error: its first line names the choices)
    let out = tidings(
        db,
        &["domain", "block", "x.example", "--severity", "banish"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.lines()
            .next()
            .unwrap()
            .contains("use silence, suspend or noop"),
        "{err}"
    );
    assert_eq!(ok(tidings(db, &["domain", "list"])), list);

    // Blocking again changes the block.
    let out = ok(tidings(
        db,
        &[
            "domain",
            "block",
            "loud.example",
            "--severity",
            "noop",
            "--reject-media",
        ],
    ));
    assert_eq!(out.trim(), "changed loud.example noop reject_media");

    let out = ok(tidings(db, &["domain", "unblock", "BAD.example"]));
    assert_eq!(out.trim(), "unblocked bad.example");
    let err = failed(tidings(db, &["domain", "unblock", "bad.example"]));
    assert!(err.contains("bad.example is not blocked"), "{err}");
    assert_eq!(
        ok(tidings(db, &["domain", "list"])),
        "loud.example noop reject_media\n"
    );
}

#[tokio::test]
async fn csv_export_and_import_round_trip_and_a_bad_line_imports_nothing() {
    let app = TestApp::spawn().await;
    let db = &app.db;
    ok(tidings(
        db,
        &[
            "domain",
            "block",
            "bad.example",
            "--reject-media",
            "--public-comment",
            "spam, and more",
        ],
    ));
    ok(tidings(
        db,
        &[
            "domain",
            "block",
            "loud.example",
            "--severity",
            "silence",
            "--obfuscate",
        ],
    ));
    let csv = ok(tidings(db, &["domain", "export"]));
    assert_eq!(
        csv,
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
         bad.example,suspend,true,false,\"spam, and more\",false\n\
         loud.example,silence,false,false,,true\n"
    );

    // Into another instance's database: the same list comes out.
    let other = TestApp::spawn().await;
    let dir = std::env::temp_dir().join(format!("tidings-blocks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("{}.csv", tidings::db::ids::new_id()));
    std::fs::write(&file, &csv).unwrap();
    let out = ok(tidings(
        &other.db,
        &["domain", "import", file.to_str().unwrap()],
    ));
    assert_eq!(out.trim(), "imported 2 blocks (2 new, 0 changed)");
    assert_eq!(ok(tidings(&other.db, &["domain", "export"])), csv);

    // A bad row (line 5) stops the import: the good rows before it are not imported either.
    let bad = format!(
        "{}new.example,silence,false,false,,false\nworse.example,banish,false,false,,false\n",
        csv.replace("bad.example,suspend", "bad.example,silence")
    );
    std::fs::write(&file, bad).unwrap();
    let err = failed(tidings(
        &other.db,
        &["domain", "import", file.to_str().unwrap()],
    ));
    assert!(
        err.contains("line 5") && err.contains("banish") && err.contains("nothing imported"),
        "{err}"
    );
    // Our own domain in a file: refused, nothing imported.
    std::fs::write(
        &file,
        "#domain,#severity\nfine.example,silence\ntidings.test,suspend\n",
    )
    .unwrap();
    let err = failed(tidings(
        &other.db,
        &["domain", "import", file.to_str().unwrap()],
    ));
    assert!(err.contains("own domain"), "{err}");
    assert_eq!(ok(tidings(&other.db, &["domain", "export"])), csv);
    let _ = std::fs::remove_file(&file);
}

async fn spawn() -> (TestApp, Peer) {
    let app = TestApp::spawn_with(|s| s.allow_private_addresses = true).await;
    app.user("alice").await;
    (app, Peer::start().await)
}

/// The peer's host, as a block names it.
const PEER_HOST: &str = "127.0.0.1";

async fn count_accounts(app: &TestApp, ap_id: &str) -> i64 {
    let ap_id = ap_id.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(ap_id))
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

async fn count_follows(app: &TestApp) -> i64 {
    app.svc
        .db
        .run(|conn| Ok(follows::table.count().get_result(conn)?))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_suspended_server_is_refused_at_the_inbox_and_nothing_is_stored() {
    let (app, peer) = spawn().await;
    domain_blocks::create(&app.svc, BlockInput::suspend(PEER_HOST))
        .await
        .unwrap();

    let (status, body) = signed(&app, &peer, &peer.follow(1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("does not federate with 127.0.0.1"), "{body}");
    // Not even its actor was fetched and stored.
    assert_eq!(count_accounts(&app, &peer.actor_id).await, 0);
    assert_eq!(count_follows(&app).await, 0);
    // Our objects are not served to its signed fetches either: a signed GET of alice's
    // followers-only post would need the signer, and the inbox check is the same one.

    // Lifted, the same server is heard again.
    domain_blocks::remove_domain(&app.svc, PEER_HOST)
        .await
        .unwrap();
    let (status, body) = signed(&app, &peer, &peer.follow(2)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(count_follows(&app).await, 1);
}

#[tokio::test]
async fn the_allow_list_mode_hears_only_listed_servers() {
    let (app, peer) = spawn().await;
    instance::apply(
        &app.svc,
        instance::Changes::one("federation", "allowlist").unwrap(),
    )
    .await
    .unwrap();
    let (status, body) = signed(&app, &peer, &peer.follow(1)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(count_accounts(&app, &peer.actor_id).await, 0);

    domain_blocks::allow(&app.svc, PEER_HOST).await.unwrap();
    let (status, body) = signed(&app, &peer, &peer.follow(2)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");

    // An unknown mode is refused with the choices.
    let e = instance::Changes::one("federation", "closed")
        .unwrap_err()
        .public_message();
    assert!(e.contains("use open or allowlist"), "{e}");
}

#[tokio::test]
async fn reports_from_a_server_whose_reports_are_rejected_are_refused() {
    let (app, peer) = spawn().await;
    let mut input = BlockInput::suspend(PEER_HOST);
    input.severity = Severity::Noop;
    input.reject_reports = true;
    domain_blocks::create(&app.svc, input).await.unwrap();

    let flag = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{}/flags/1", peer.base),
        "type": "Flag",
        "actor": peer.actor_id,
        "object": ["http://tidings.test/users/alice"],
        "content": "Spam from afar",
    });
    let (status, body) = signed(&app, &peer, &flag).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let n: i64 = app
        .svc
        .db
        .run(|conn| Ok(reports::table.count().get_result(conn)?))
        .await
        .unwrap();
    assert_eq!(n, 0);
    // Other activities from it still arrive (noop).
    let (status, body) = signed(&app, &peer, &peer.follow(1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
}

async fn pending_to_peer(app: &TestApp, peer: &Peer) -> i64 {
    let inbox = format!("{}/inbox", peer.base);
    app.svc
        .db
        .run(move |conn| {
            Ok(deliveries::table
                .filter(deliveries::inbox_url.eq(inbox))
                .filter(deliveries::delivered_at.is_null())
                .count()
                .get_result(conn)?)
        })
        .await
        .unwrap()
}

async fn enqueue(app: &TestApp, peer: &Peer, n: u32, due_in: chrono::Duration) {
    let inbox = format!("{}/inbox", peer.base);
    let activity = json!({"id": format!("http://tidings.test/test/{n}"), "type": "Test"});
    app.svc
        .db
        .write(move |conn| {
            tidings::federation::delivery::enqueue(
                conn,
                &inbox,
                &activity,
                "http://tidings.test/users/alice#main-key",
                None,
            )?;
            // Only the row just queued (the Accept's row may still be waiting to be marked).
            diesel::update(deliveries::table.filter(deliveries::inbox_url.eq(&inbox)))
                .filter(deliveries::delivered_at.is_null())
                .filter(deliveries::activity_json.like(format!("%/test/{n}\"%")))
                .set(deliveries::next_attempt_at.eq(chrono::Utc::now().naive_utc() + due_in))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn suspending_a_server_suspends_its_accounts_and_stops_deliveries() {
    let (app, peer) = spawn().await;
    let (status, body) = signed(&app, &peer, &peer.follow(1)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    // The Accept is delivered.
    for _ in 0..100 {
        if !peer.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(peer.received().len(), 1);
    // ... and its row marked delivered.
    for _ in 0..100 {
        if pending_to_peer(&app, &peer).await == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending_to_peer(&app, &peer).await, 0);

    // A delivery waiting for its retry is cancelled by the suspension.
    enqueue(&app, &peer, 1, chrono::Duration::hours(1)).await;
    assert_eq!(pending_to_peer(&app, &peer).await, 1);
    let (block, effects) = domain_blocks::create(&app.svc, BlockInput::suspend(PEER_HOST))
        .await
        .unwrap();
    assert_eq!(effects.accounts_suspended, 1);
    assert_eq!(effects.deliveries_cancelled, 1);
    assert_eq!(pending_to_peer(&app, &peer).await, 0);
    let actor = peer.actor_id.clone();
    let suspended_at = app
        .svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(actor))
                .select(accounts::suspended_at)
                .first::<Option<chrono::NaiveDateTime>>(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(suspended_at, Some(block.created_at));

    // One queued after the block (due now) is dropped by the worker, never sent.
    enqueue(&app, &peer, 2, chrono::Duration::zero()).await;
    let mut left = 1;
    for _ in 0..100 {
        left = pending_to_peer(&app, &peer).await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(left, 0, "the delivery to the suspended server stays queued");
    assert_eq!(peer.received().len(), 1, "something was sent to it");

    // Unblocking lifts the suspension it made.
    let (_, effects) = domain_blocks::remove(&app.svc, block.id).await.unwrap();
    assert_eq!(effects.accounts_restored, 1);
    assert_eq!(count_follows(&app).await, 1);
}

/// Logs `name` in through an app with `scopes` (the password grant).
async fn token(app: &TestApp, name: &str, scopes: &str) -> String {
    let http = reqwest::Client::new();
    let reg: serde_json::Value = http
        .post(format!("{}/api/v1/apps", app.base))
        .form(&[
            ("client_name", "blocklist tool"),
            ("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"),
            ("scopes", scopes),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token: serde_json::Value = http
        .post(format!("{}/oauth/token", app.base))
        .form(&[
            ("grant_type", "password"),
            ("client_id", reg["client_id"].as_str().unwrap()),
            ("client_secret", reg["client_secret"].as_str().unwrap()),
            ("username", name),
            ("password", crate::common::PASSWORD),
            ("scope", scopes),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    token["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {token}"))
        .to_owned()
}

async fn make_admin(app: &TestApp, name: &str) {
    let name = name.to_lowercase();
    app.svc
        .db
        .write(move |conn| {
            diesel::update(accounts::table.filter(accounts::username_lower.eq(name)))
                .set(accounts::is_admin.eq(true))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
}

struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, serde_json::Value, String) {
        let res = req.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status();
        let link = res
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, res.json().await.unwrap_or_default(), link)
    }
    async fn get(&self, path: &str) -> (StatusCode, serde_json::Value, String) {
        self.send(self.http.get(format!("{}{path}", self.base)))
            .await
    }
    async fn post(&self, path: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
        let (s, v, _) = self
            .send(self.http.post(format!("{}{path}", self.base)).json(&body))
            .await;
        (s, v)
    }
    async fn put(&self, path: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
        let (s, v, _) = self
            .send(self.http.put(format!("{}{path}", self.base)).json(&body))
            .await;
        (s, v)
    }
    async fn delete(&self, path: &str) -> StatusCode {
        self.send(self.http.delete(format!("{}{path}", self.base)))
            .await
            .0
    }
}

#[tokio::test]
async fn the_admin_api_creates_lists_changes_and_removes_blocks() {
    let app = TestApp::spawn().await;
    app.user("boss").await;
    app.user("someone").await;
    make_admin(&app, "boss").await;
    let scopes = "read admin:read:domain_blocks admin:write:domain_blocks";
    let admin = Client {
        base: app.base.clone(),
        token: token(&app, "boss", scopes).await,
        http: reqwest::Client::new(),
    };
    const PATH: &str = "/api/v1/admin/domain_blocks";

    // Form-encoded and JSON bodies (with nulls, as FediBlockHole sends).
    let res = admin
        .http
        .post(format!("{}{PATH}", app.base))
        .bearer_auth(&admin.token)
        .form(&[
            ("domain", "Spam.Example"),
            ("severity", "suspend"),
            ("reject_reports", "true"),
            ("private_comment", "ticket 12"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let spam: serde_json::Value = res.json().await.unwrap();
    assert_eq!(spam["domain"], "spam.example");
    assert_eq!(spam["severity"], "suspend");
    assert_eq!(spam["reject_reports"], true);
    assert_eq!(spam["reject_media"], false);
    assert_eq!(spam["private_comment"], "ticket 12");
    assert_eq!(spam["public_comment"], "", "as Mastodon stores it");
    assert_eq!(spam["obfuscate"], false);
    assert_eq!(spam["digest"], hex_sha256("spam.example"));
    let (status, loud) = admin
        .post(
            PATH,
            json!({"domain": "loud.example", "severity": null, "public_comment": "shouting",
                   "private_comment": null, "reject_media": false, "reject_reports": false,
                   "obfuscate": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{loud}");
    assert_eq!(loud["severity"], "silence", "Mastodon's default");
    let spam_id = spam["id"].as_str().unwrap().to_owned();
    let loud_id = loud["id"].as_str().unwrap().to_owned();

    // Newest first, paged with Link.
    let (status, list, link) = admin.get(PATH).await;
    assert_eq!(status, StatusCode::OK);
    let domains: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["domain"].as_str().unwrap())
        .collect();
    assert_eq!(domains, ["loud.example", "spam.example"]);
    let (_, page, link1) = admin.get(&format!("{PATH}?limit=1")).await;
    assert_eq!(page[0]["id"], loud_id);
    assert!(
        link1.contains(&format!("max_id={loud_id}>; rel=\"next\"")),
        "{link1}"
    );
    let (_, page2, _) = admin.get(&format!("{PATH}?limit=1&max_id={loud_id}")).await;
    assert_eq!(page2[0]["id"], spam_id);
    assert!(link.contains("rel=\"prev\""), "{link}");
    let (status, one, _) = admin.get(&format!("{PATH}/{spam_id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one, spam);

    // Bad input: 422 with the reason, nothing changed.
    for (body, needle) in [
        (json!({"domain": "spam.example"}), "already blocked"),
        (json!({"domain": "tidings.test"}), "own domain"),
        (
            json!({"domain": "x.example", "severity": "banish"}),
            "use silence, suspend or noop",
        ),
        (
            json!({"domain": "x.example", "colour": "red"}),
            "unknown parameter colour",
        ),
        (
            json!({"domain": "x.example", "obfuscate": "maybe"}),
            "not a boolean",
        ),
        (json!({"severity": "suspend"}), "domain is missing"),
        (json!({"domain": "https://x.example/"}), "not a domain"),
    ] {
        let (status, err) = admin.post(PATH, body.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {err}");
        assert!(
            err["error"].as_str().unwrap().contains(needle),
            "{body}: {err}"
        );
    }
    let (status, err, _) = admin.get(&format!("{PATH}?order=asc")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    assert_eq!(admin.get(PATH).await.1.as_array().unwrap().len(), 2);

    // PUT changes the fields given; the same domain may be given, another may not.
    let (status, changed) = admin
        .put(
            &format!("{PATH}/{loud_id}"),
            json!({"domain": "loud.example", "severity": "suspend", "reject_media": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["severity"], "suspend");
    assert_eq!(changed["reject_media"], true);
    assert_eq!(changed["public_comment"], "shouting", "kept");
    assert_eq!(changed["obfuscate"], true, "kept");
    let (status, err) = admin
        .put(
            &format!("{PATH}/{loud_id}"),
            json!({"domain": "other.example"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{err}");
    let rules = domain_blocks::rules(&app.svc).await.unwrap();
    assert!(rules.refused("loud.example") && rules.rejects_media("loud.example"));

    // DELETE lifts it.
    assert_eq!(
        admin.delete(&format!("{PATH}/{loud_id}")).await,
        StatusCode::OK
    );
    assert_eq!(
        admin.delete(&format!("{PATH}/{loud_id}")).await,
        StatusCode::NOT_FOUND
    );
    assert!(
        !domain_blocks::rules(&app.svc)
            .await
            .unwrap()
            .refused("loud.example")
    );

    // Not an admin, or without the admin scope: 403; without a token: 401.
    let user = Client {
        base: app.base.clone(),
        token: token(&app, "someone", scopes).await,
        http: reqwest::Client::new(),
    };
    assert_eq!(user.get(PATH).await.0, StatusCode::FORBIDDEN);
    assert_eq!(
        user.post(PATH, json!({"domain": "x.example"})).await.0,
        StatusCode::FORBIDDEN
    );
    let reader = Client {
        token: token(&app, "boss", "read write").await,
        ..user
    };
    assert_eq!(reader.get(PATH).await.0, StatusCode::FORBIDDEN);
    let res = reqwest::get(format!("{}{PATH}", app.base)).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(admin.get(PATH).await.1.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_public_list_shows_limiting_blocks_obfuscated_when_asked() {
    let app = TestApp::spawn().await;
    let mut loud = BlockInput::suspend("loud.example");
    loud.severity = Severity::Silence;
    loud.obfuscate = true;
    loud.public_comment = Some("shouting".into());
    domain_blocks::create(&app.svc, loud).await.unwrap();
    domain_blocks::create(&app.svc, BlockInput::suspend("spam.example"))
        .await
        .unwrap();
    let mut quiet = BlockInput::suspend("quiet.example");
    quiet.severity = Severity::Noop;
    domain_blocks::create(&app.svc, quiet).await.unwrap();

    let url = format!("{}/api/v1/instance/domain_blocks", app.base);
    // Private unless the admin shows it (Mastodon's default).
    assert_eq!(
        reqwest::get(&url).await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    instance::apply(
        &app.svc,
        instance::Changes::one("show_domain_blocks", "all").unwrap(),
    )
    .await
    .unwrap();
    let list: serde_json::Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(
        list,
        json!([
            {"domain": "l*u*.example",
             "digest": hex_sha256("loud.example"),
             "severity": "silence", "comment": "shouting"},
            {"domain": "spam.example",
             "digest": hex_sha256("spam.example"),
             "severity": "suspend", "comment": null},
        ])
    );
    // The about page lists them too.
    let about = app.browser().get("/about").await;
    about.assert_contains("l*u*.example");
    about.assert_contains("spam.example");
    about.assert_lacks("quiet.example");
}

fn hex_sha256(s: &str) -> String {
    openssl::sha::sha256(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
