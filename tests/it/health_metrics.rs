//! `/health` on the public port and Prometheus metrics on their own address (issue #14,
//! item 9).

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::TestApp;

/// The value of one sample line (`name{labels} value`) in Prometheus text.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn health_answers_and_metrics_count_requests_inbox_outcomes_and_the_queue() {
    let app = TestApp::spawn_with(|s| s.metrics_listen = Some("127.0.0.1:0".into())).await;
    let client = reqwest::Client::new();

    let res = client
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], "ok");

    for _ in 0..3 {
        assert_eq!(
            client
                .get(format!("{}/", app.base))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    assert_eq!(
        client
            .get(format!("{}/stories/1", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    // An unsigned activity is refused: counted as rejected.
    let res = client
        .post(format!("{}/inbox", app.base))
        .header("Content-Type", "application/activity+json")
        .body(json!({"type": "Follow", "id": "https://elsewhere.example/1"}).to_string())
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error(), "{}", res.status());

    // Metrics are not on the public port.
    assert_eq!(
        client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );
    let metrics = app.metrics_base.as_ref().expect("metrics address");
    let res = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert_eq!(
        sample(
            &text,
            r#"tidings_http_requests_total{method="GET",route="/",status="200"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tidings_http_requests_total{method="GET",route="/stories/{id}",status="404"}"#
        ),
        Some(1.0),
        "routes are patterns, not raw paths: {text}"
    );
    assert!(
        sample(
            &text,
            r#"tidings_http_request_duration_seconds_count{method="GET",route="/"}"#
        ) == Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"tidings_inbox_activities_total{outcome="rejected"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tidings_delivery_queue_depth"),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, "tidings_delivery_oldest_pending_age_seconds"),
        Some(0.0),
        "{text}"
    );
    let idle = sample(&text, r#"tidings_db_pool_connections{state="idle"}"#).expect("pool");
    let busy = sample(&text, r#"tidings_db_pool_connections{state="in_use"}"#).expect("pool");
    assert!(idle + busy >= 1.0, "{text}");

    // A delivery waiting for a server that is down (queued 90 s ago): the queue shows it.
    app.svc
        .db
        .run(|conn| {
            use diesel::prelude::*;
            use tidings::db::schema::deliveries;
            let now = chrono::Utc::now().naive_utc() - chrono::Duration::seconds(90);
            diesel::insert_into(deliveries::table)
                .values((
                    deliveries::id.eq(1_i64),
                    deliveries::inbox_url.eq("https://down.example/inbox"),
                    deliveries::activity_json.eq("{}"),
                    deliveries::key_id.eq("https://tidings.test/actor#main-key"),
                    deliveries::attempts.eq(0),
                    deliveries::next_attempt_at.eq(now + chrono::Duration::days(1)),
                    deliveries::created_at.eq(now),
                ))
                .execute(conn)?;
            Ok(())
        })
        .await
        .unwrap();
    let text = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        sample(&text, "tidings_delivery_queue_depth"),
        Some(1.0),
        "{text}"
    );
    let age = sample(&text, "tidings_delivery_oldest_pending_age_seconds").unwrap();
    assert!((89.0..200.0).contains(&age), "{age}");
}
