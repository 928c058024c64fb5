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
