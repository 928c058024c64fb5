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
            diesel::update(deliveries::table.filter(deliveries::inbox_url.eq(&inbox)))
                .filter(deliveries::delivered_at.is_null())
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
