//! The `tidings` binary: user creation from the command line and start-up errors.

use std::io::Write;
use std::process::{Command, Stdio};

use crate::common::{TestApp, TestDb};
use reqwest::StatusCode;

fn tidings(db: &TestDb, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tidings"));
    cmd.args([
        "--database-url",
        db.url(),
        "--domain",
        "tidings.test",
        "--scheme",
        "http",
    ])
    .args(args)
    .env("TIDINGS_LOG", "warn");
    cmd
}

#[tokio::test]
async fn admin_creates_a_user_from_the_command_line() {
    let app = TestApp::spawn().await;
    let mut child = tidings(&app.db, &["user", "create", "EditorInChief", "--admin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long admin password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created EditorInChief@tidings.test (admin)")
    );

    let account = tidings::service::accounts::find_local(&app.svc, "editorinchief")
        .await
        .unwrap()
        .unwrap();
    assert!(account.is_admin);

    let mut b = app.browser();
    let res = b
        .post_form(
            "/login",
            &[
                ("username", "editorinchief"),
                ("password", "a long admin password"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // The same name again fails with the reason.
    let mut child = tidings(&app.db, &["user", "create", "EDITORinchief"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"another password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("That username is taken."));
}

#[test]
fn an_unreachable_postgres_fails_with_the_drivers_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args([
            "--database-url",
            "postgres://postgres@127.0.0.1:1/nothing",
            "migrate",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot connect to postgres database"), "{err}");
    assert!(
        err.contains("Connection refused"),
        "the driver's own cause is shown: {err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn bad_settings_fail_at_start_with_the_cause() {
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", "mysql://x/y", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
    let out = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--scheme", "ftp", "migrate"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid --scheme"));
}

#[tokio::test]
async fn serve_starts_prints_its_url_and_answers() {
    let db = TestDb::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let data = std::env::temp_dir().join(format!("tidings-serve-{port}"));
    let mut child = tidings(
        &db,
        &[
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ],
    )
    .arg(&data)
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut ok = false;
    for _ in 0..100 {
        if let Ok(res) = reqwest::get(format!("http://127.0.0.1:{port}/")).await {
            assert_eq!(res.status(), StatusCode::OK);
            assert!(res.text().await.unwrap().contains("Latest stories"));
            ok = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let _ = std::fs::remove_dir_all(&data);
    assert!(ok, "server never answered");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Tidings is running at http://tidings.test/")
    );
}

/// A database Tidings cannot write to: `serve` refuses to start, with one line saying so,
/// instead of answering 500 to every write (issue #12). SQLite: the file opened read-only;
/// PostgreSQL: a session whose transactions are read-only.
#[test]
fn serve_refuses_a_read_only_database() {
    let db = TestDb::new();
    let out = tidings(&db, &["migrate"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (url, dir) = match &db {
        TestDb::Sqlite { dir, .. } => ("sqlite://file:tidings.db?mode=ro".to_owned(), dir.clone()),
        TestDb::Postgres { url, .. } => (
            format!("{url}?options=-c%20default_transaction_read_only%3Don"),
            std::env::temp_dir(),
        ),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", &url, "--listen", "127.0.0.1:0"])
        .args(["--domain", "tidings.test", "--scheme", "http", "serve"])
        .current_dir(&dir)
        .env("TIDINGS_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that starts never exits by itself: give it a generous while, then stop it.
    let mut exited = None;
    for _ in 0..300 {
        if let Some(status) = child.try_wait().unwrap() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    if exited.is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let status = exited.unwrap_or_else(|| panic!("serve kept running: {stderr}"));
    assert!(!status.success());
    assert!(
        stderr.contains("database is read-only for Tidings"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("Tidings is running"));
}

/// Runs `tidings` on `db` with only the given flags (no `--domain` unless given).
fn bare(db: &TestDb, args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tidings"))
        .args(["--database-url", db.url()])
        .args(args)
        .env("TIDINGS_LOG", "warn")
        .env_remove("TIDINGS_DOMAIN")
        .env_remove("TIDINGS_SCHEME")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

/// The identity is fixed at first start (issue #14, item 1): a later command without
/// `--domain` creates accounts under the stored domain, and one with another domain is
/// refused with one line, leaving everything as it was.
#[tokio::test]
async fn the_domain_is_fixed_in_the_database_at_first_start() {
    let db = TestDb::new();
    let out = bare(
        &db,
        &["--domain", "news.example", "user", "create", "alice"],
        b"a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // No --domain: the stored one is used, not localhost.
    let out = bare(&db, &["user", "create", "bob"], b"another long password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("created bob@news.example"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Another domain is refused, by account creation and by serve, in one line.
    for args in [
        &["--domain", "other.example", "user", "create", "carol"][..],
        &[
            "--domain",
            "other.example",
            "--listen",
            "127.0.0.1:0",
            "serve",
        ][..],
        &[
            "--domain",
            "news.example",
            "--scheme",
            "http",
            "--listen",
            "127.0.0.1:0",
            "serve",
        ][..],
    ] {
        let out = bare(&db, args, b"a third long password\n");
        assert!(!out.status.success(), "{args:?} must be refused");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("this database belongs to https://news.example"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }

    // The accounts carry the stored identity, and carol was not created.
    let app = TestApp::spawn_on(db, |s| {
        s.domain = None;
        s.scheme = None;
    })
    .await;
    assert_eq!(app.svc.config.base_url(), "https://news.example");
    let bob = tidings::service::accounts::find_local(&app.svc, "bob")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(bob.ap_id, "https://news.example/users/bob");
    assert!(
        tidings::service::accounts::find_local(&app.svc, "carol")
            .await
            .unwrap()
            .is_none()
    );
}

/// A database from before the identity was stored takes it from its local accounts, so
/// upgrading never changes an instance's address.
#[tokio::test]
async fn an_older_database_keeps_the_domain_of_its_accounts() {
    let db = TestDb::new();
    let out = bare(
        &db,
        &[
            "--domain",
            "old.example",
            "--scheme",
            "http",
            "user",
            "create",
            "dave",
        ],
        b"a long enough password\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // As it was before the identity was stored.
    let app = TestApp::spawn_on(db, |s| {
        s.domain = None;
        s.scheme = None;
    })
    .await;
    app.svc
        .db
        .run(|conn| {
            use diesel::prelude::*;
            diesel::delete(tidings::db::schema::instance_settings::table).execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let db = &app.db;
    let out = bare(db, &["user", "create", "erin"], b"another long password\n");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("created erin@old.example"));
    let out = bare(
        db,
        &["--domain", "new.example", "user", "create", "fay"],
        b"pw pw pw pw pw\n",
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("belongs to http://old.example"));
}
