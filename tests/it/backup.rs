//! `tidings backup DIR` while the server runs, and `tidings restore DIR` into an empty
//! database (issue #14, item 7), on the backend under test.

use std::process::{Command, Output};

use reqwest::StatusCode;

use crate::common::{PASSWORD, TestApp, TestDb};

fn tidings(db: &TestDb, data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", db.url(), "--data-dir"])
        .arg(data)
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .output()
        .unwrap()
}

fn temp(name: &str) -> std::path::PathBuf {
    let mut b = [0u8; 6];
    openssl::rand::rand_bytes(&mut b).unwrap();
    std::env::temp_dir().join(format!("tidings-{name}-{}", hex::encode(b)))
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_into_an_empty_database() {
    let app = TestApp::spawn().await;
    let mut writer = app.user("harbourmaster").await;
    let story = writer
        .post_story("Tide tables for December", "High water at noon #harbour")
        .await;
    let account = tidings::service::accounts::find_local(&app.svc, "harbourmaster")
        .await
        .unwrap()
        .unwrap();

    let data = temp("data");
    let dir = temp("backup");
    let out = tidings(&app.db, &data, &["backup", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("backed up"));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("backup.json")).unwrap()).unwrap();
    assert_eq!(manifest["tables"]["posts"], 1);
    assert_eq!(manifest["domain"], "tidings.test");

    // A second backup into the same folder is refused: nothing is overwritten.
    let out = tidings(&app.db, &data, &["backup", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not empty"));

    let fresh = TestDb::new();
    let out = tidings(&fresh, &data, &["restore", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("restored"));

    // Restoring over a database that has data is refused, in one line.
    let out = tidings(&fresh, &data, &["restore", dir.to_str().unwrap()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already holds a database") || err.contains("is not empty"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // The restored instance: same story, same account and keys, the same password logs in.
    let restored = TestApp::spawn_on(fresh, |s| {
        s.domain = None;
        s.scheme = None;
    })
    .await;
    assert_eq!(restored.svc.config.base_url(), "http://tidings.test");
    let page = restored.browser().get(&format!("/stories/{story}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Tide tables for December");
    let again = tidings::service::accounts::find_local(&restored.svc, "harbourmaster")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.ap_id, account.ap_id);
    assert_eq!(again.public_key_pem, account.public_key_pem);
    assert_eq!(again.private_key_pem, account.private_key_pem);
    let mut b = restored.browser();
    let res = b
        .post_form(
            "/login",
            &[("username", "harbourmaster"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&data);
}

/// `tidings db copy --to postgres://…` (issue #14, item 8): a SQLite instance moves to an
/// empty PostgreSQL database with ids, keys and threads unchanged. Runs in the PostgreSQL
/// pass of the suite (it needs a server to copy to).
#[tokio::test]
async fn db_copy_moves_a_sqlite_instance_to_an_empty_postgres_database() {
    if std::env::var(crate::common::PG_ENV)
        .unwrap_or_default()
        .is_empty()
    {
        eprintln!(
            "db copy needs PostgreSQL: runs when {} is set",
            crate::common::PG_ENV
        );
        return;
    }
    let app = TestApp::spawn_on(TestDb::sqlite(), |_| {}).await;
    let mut writer = app.user("harbourmaster").await;
    let story = writer
        .post_story("Ferry times", "The ferry leaves at six #harbour")
        .await;
    let mut reader = app.user("deckhand").await;
    let res = reader
        .post_form(
            &format!("/posts/{story}/reply"),
            &[("body", "Is it on time today?")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let reply: i64 = res
        .location()
        .rsplit('/')
        .next()
        .and_then(|s| s.split('#').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{}", res.location()));
    let res = writer
        .post_form(
            &format!("/posts/{reply}/reply"),
            &[("body", "Yes, on time.")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let account = tidings::service::accounts::find_local(&app.svc, "harbourmaster")
        .await
        .unwrap()
        .unwrap();

    let target = TestDb::new();
    assert!(target.is_postgres());
    let data = temp("data");
    let out = tidings(&app.db, &data, &["db", "copy", "--to", target.url()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("every count checked"), "{said}");
    assert!(said.contains("--database-url"), "{said}");

    // Again into the now non-empty database: refused in one line.
    let out = tidings(&app.db, &data, &["db", "copy", "--to", target.url()]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not empty"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    let moved = TestApp::spawn_on(target, |s| {
        s.domain = None;
        s.scheme = None;
    })
    .await;
    assert_eq!(moved.svc.config.base_url(), "http://tidings.test");
    let page = moved.browser().get(&format!("/stories/{story}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    page.assert_contains("Ferry times");
    page.assert_contains("Is it on time today?");
    page.assert_contains("Yes, on time.");
    let again = tidings::service::accounts::find_local(&moved.svc, "harbourmaster")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.ap_id, account.ap_id);
    assert_eq!(again.private_key_pem, account.private_key_pem);
    // Full-text search works on the copy (PostgreSQL's own index of the posts).
    moved
        .browser()
        .get("/search?q=ferry")
        .await
        .assert_contains("Ferry times");
    let mut b = moved.browser();
    let res = b
        .post_form(
            "/login",
            &[("username", "deckhand"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let _ = std::fs::remove_dir_all(&data);
}
