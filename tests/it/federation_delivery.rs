//! The delivery worker against stand-in servers on loopback: a dead server is retried
//! with backoff while others are served; a slow server holds at most its own slots.

use std::time::Duration;

use crate::common::TestApp;
use crate::common::recording_peer::RecordingPeer;
use chrono::Utc;
use diesel::prelude::*;
use serde_json::json;
use tidings::db::models::Delivery;
use tidings::db::schema::deliveries;
use tidings::federation::delivery::{self, PER_HOST};

async fn spawn() -> TestApp {
    TestApp::spawn_with(|s| s.allow_private_addresses = true).await
}

/// Queues a small activity (signed by the instance actor) for each inbox URL, in one
/// transaction, as a fan-out would.
async fn enqueue(app: &TestApp, inboxes: Vec<String>) {
    let key_id = format!("{}/actor#main-key", app.svc.base_url());
    app.svc
        .db
        .write(move |conn| {
            for (n, inbox) in inboxes.iter().enumerate() {
                let activity = json!({
                    "id": format!("http://tidings.test/test-activities/{n}"),
                    "type": "Create",
                    "actor": "http://tidings.test/actor",
                    "object": {"type": "Note", "content": format!("number {n}")},
                });
                delivery::enqueue(conn, inbox, &activity, &key_id, None)?;
            }
            Ok(())
        })
        .await
        .unwrap();
}

async fn rows_for(app: &TestApp, inbox: &str) -> Vec<Delivery> {
    let inbox = inbox.to_owned();
    app.svc
        .db
        .run(move |conn| {
            Ok(deliveries::table
                .filter(deliveries::inbox_url.eq(inbox))
                .select(Delivery::as_select())
                .load(conn)?)
        })
        .await
        .unwrap()
}

/// A loopback address where nothing listens.
async fn closed_port() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/inbox")
}

#[tokio::test]
async fn a_dead_server_is_retried_later_while_others_are_served() {
    let app = spawn().await;
    let live = RecordingPeer::start(&["ann"]).await;
    let dead = closed_port().await;
    let live_inbox = format!("{}/inbox", live.base);
    enqueue(&app, vec![dead.clone(), live_inbox.clone()]).await;

    // The live server gets its activity.
    let got = live.wait_for("/inbox", "Create", 1).await;
    assert_eq!(got.len(), 1);

    // The dead one's row waits for a retry: one attempt, the error, 30 s of backoff.
    let mut row = None;
    for _ in 0..100 {
        let r = rows_for(&app, &dead).await.pop().expect("the row stays");
        if r.attempts > 0 {
            row = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let row = row.expect("the dead server was tried");
    assert_eq!(row.attempts, 1);
    assert!(row.delivered_at.is_none());
    assert!(
        row.last_error
            .as_deref()
            .unwrap_or("")
            .contains("request failed")
    );
    let wait = row.next_attempt_at - Utc::now().naive_utc();
    assert!(
        wait > chrono::Duration::seconds(20) && wait <= chrono::Duration::seconds(30),
        "next attempt in {wait}"
    );
    // Not tried again before then.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(rows_for(&app, &dead).await[0].attempts, 1);
    // The live row is marked delivered.
    let live_row = &rows_for(&app, &live_inbox).await[0];
    assert!(live_row.delivered_at.is_some());
    assert_eq!(live_row.attempts, 1);
}

#[tokio::test]
async fn a_slow_server_does_not_hold_up_a_fast_one() {
    let app = spawn().await;
    // Each POST to the slow server takes 3 s; it has a backlog of 3 × PER_HOST.
    let slow = RecordingPeer::start_with_delay(&["sam"], Duration::from_secs(3)).await;
    let fast = RecordingPeer::start(&["fred"]).await;
    let slow_inbox = format!("{}/inbox", slow.base);
    let mut inboxes = vec![slow_inbox.clone(); 3 * PER_HOST];
    inboxes.push(format!("{}/inbox", fast.base));
    enqueue(&app, inboxes).await;

    // The fast server is served while the slow one still works through its first batch.
    fast.wait_for("/inbox", "Create", 1).await;
    let slow_started = slow.received().len();
    assert!(
        slow_started <= PER_HOST,
        "{slow_started} requests to one server at once"
    );
    let undelivered = rows_for(&app, &slow_inbox)
        .await
        .iter()
        .filter(|r| r.delivered_at.is_none())
        .count();
    assert!(undelivered > 0, "the slow server's backlog is still there");

    // As slots free up the backlog moves on, never more than PER_HOST at once.
    let all = slow.wait_for("/inbox", "Create", PER_HOST + 1).await;
    assert!(all.len() <= 2 * PER_HOST);
}

#[tokio::test]
async fn delivered_rows_are_pruned_after_a_day() {
    let app = spawn().await;
    let now = Utc::now().naive_utc();
    let row = |id: i64, delivered_at: Option<chrono::NaiveDateTime>| Delivery {
        id,
        inbox_url: format!("https://peer.example/inbox/{id}"),
        activity_json: "{}".into(),
        key_id: "http://tidings.test/actor#main-key".into(),
        actor_account_id: None,
        attempts: 1,
        // Not due for a while: the worker leaves them alone.
        next_attempt_at: now + chrono::Duration::hours(1),
        last_error: None,
        created_at: now - chrono::Duration::days(3),
        delivered_at,
    };
    let rows = vec![
        row(1, Some(now - chrono::Duration::days(2))),
        row(2, Some(now - chrono::Duration::hours(1))),
        row(3, None),
    ];
    app.svc
        .db
        .write(move |conn| {
            for r in rows {
                diesel::insert_into(deliveries::table)
                    .values(&r)
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(delivery::prune(&app.svc).await.unwrap(), 1);
    let left: Vec<i64> = app
        .svc
        .db
        .run(|conn| {
            Ok(deliveries::table
                .select(deliveries::id)
                .order(deliveries::id.asc())
                .load(conn)?)
        })
        .await
        .unwrap();
    assert_eq!(left, vec![2, 3], "recent and pending rows stay");
}

/// A second `tidings` process over the same database (as behind a load balancer).
async fn second_process(app: &TestApp) -> tokio::sync::oneshot::Sender<()> {
    let settings = tidings::config::Settings {
        domain: Some("tidings.test".into()),
        scheme: Some("http".into()),
        listen: "127.0.0.1:0".into(),
        data_dir: std::env::temp_dir(),
        database_url: Some(app.db.url().to_owned()),
        db_pool_size: Some(4),
        allow_private_addresses: true,
        resolve: Vec::new(),
        tls_cert: None,
        tls_key: None,
        extra_ca_file: None,
        header_read_timeout: 10,
        max_connections: 512,
        trusted_proxies: Vec::new(),
        inbox_retention_days: 14,
        metrics_listen: None,
        media_dir: None,
        media_size_limit_mb: 16,
        acme: Default::default(),
    };
    let config = tidings::config::Config::from_settings(&settings).unwrap();
    let url = config.database_url.clone();
    let pool = tokio::task::spawn_blocking(move || tidings::db::Db::connect(&url, 4))
        .await
        .unwrap()
        .unwrap();
    let other = tidings::app::Application::build_with_db(config, pool)
        .await
        .unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(other.run_until(async {
        let _ = rx.await;
    }));
    tx
}

#[tokio::test]
async fn two_processes_sharing_a_database_send_each_delivery_once() {
    let app = spawn().await;
    let _stop = second_process(&app).await;
    let peer = RecordingPeer::start(&["ann"]).await;
    let n = 3 * PER_HOST;
    let inboxes: Vec<String> = (0..n)
        .map(|i| format!("{}/inbox?n={i}", peer.base))
        .collect();
    enqueue(&app, inboxes).await;
    peer.wait_for("/inbox", "Create", n).await;
    // Both workers poll for a while longer: still one POST per row.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = peer.received();
    assert_eq!(got.len(), n);
    let mut ids: Vec<String> = got.iter().map(|r| r.json()["id"].to_string()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "each activity once");
}
