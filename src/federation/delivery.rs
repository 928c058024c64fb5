//! The outgoing delivery queue (table `deliveries`) and its worker.
//!
//! Rows are written with [`enqueue`] inside the transaction of the change that causes them,
//! so nothing is sent for a change that was rolled back and nothing is lost on a restart.
//! The worker claims due rows every second (a claim pushes `next_attempt_at` a few minutes
//! ahead, so several processes sharing one database do not send a row twice), POSTs them
//! signed with the sending account's key (or the instance actor's), at most
//! [`CONCURRENCY`] at once, and marks them delivered, or schedules a retry with
//! exponential backoff: 30 s · 2^attempts, capped at 12 h; after [`GIVE_UP_AFTER`] the row
//! is dropped with a warning.

use std::time::Duration as StdDuration;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use futures_util::StreamExt;
use serde_json::Value;
use tokio::task::JoinHandle;
use url::Url;

use super::fetch::{check_url, read_limited};
use super::signatures::sign_request;
use super::store;
use crate::db::models::Delivery;
use crate::db::schema::{accounts, deliveries};
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::service::Services;

/// Rows claimed per round.
pub const BATCH: i64 = 50;
/// Deliveries in flight at once.
pub const CONCURRENCY: usize = 32;
/// How long a claimed row is left alone before another round may take it again.
const LEASE: Duration = Duration::minutes(5);
/// Retries stop after this long.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);

/// Queues `activity` for `inbox_url`, to be signed with `key_id` (of the local account
/// `actor_account_id`, or of the instance actor when `None`). Call it inside the write
/// transaction of the change that causes the activity.
pub fn enqueue(
    conn: &mut DbConn,
    inbox_url: &str,
    activity: &Value,
    key_id: &str,
    actor_account_id: Option<i64>,
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    diesel::insert_into(deliveries::table)
        .values(&Delivery {
            id: ids::new_id(),
            inbox_url: inbox_url.to_owned(),
            activity_json: serde_json::to_string(activity).map_err(AppError::internal)?,
            key_id: key_id.to_owned(),
            actor_account_id,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            created_at: now,
            delivered_at: None,
        })
        .execute(conn)?;
    Ok(())
}

/// The wait before retry number `attempts` (1 = the first retry): 30 s · 2^(attempts-1),
/// at most 12 hours.
pub fn backoff(attempts: i32) -> Duration {
    let exp = (attempts.max(1) - 1).min(20) as u32;
    let secs = 30i64.saturating_mul(1i64 << exp);
    Duration::seconds(secs.min(12 * 3600))
}

/// Starts the worker; it runs until the handle is aborted.
pub fn start(svc: Services) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(StdDuration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = run_once(&svc).await {
                tracing::warn!("delivery round failed: {}", e.public_message());
                e.log();
            }
        }
    })
}

/// Claims the due rows and delivers them. Returns how many were attempted.
pub async fn run_once(svc: &Services) -> Result<usize, AppError> {
    let rows = claim(svc).await?;
    let n = rows.len();
    futures_util::stream::iter(rows)
        .for_each_concurrent(CONCURRENCY, |row| async move {
            let outcome = send(svc, &row).await;
            if let Err(e) = record(svc, &row, outcome).await {
                e.log();
            }
        })
        .await;
    Ok(n)
}

async fn claim(svc: &Services) -> Result<Vec<Delivery>, AppError> {
    svc.db
        .write(|conn| {
            let now = Utc::now().naive_utc();
            let rows: Vec<Delivery> = deliveries::table
                .filter(deliveries::next_attempt_at.le(now))
                .filter(deliveries::delivered_at.is_null())
                .order(deliveries::next_attempt_at.asc())
                .limit(BATCH)
                .select(Delivery::as_select())
                .load(conn)?;
            if !rows.is_empty() {
                let claimed: Vec<i64> = rows.iter().map(|r| r.id).collect();
                diesel::update(deliveries::table.filter(deliveries::id.eq_any(claimed)))
                    .set(deliveries::next_attempt_at.eq(now + LEASE))
                    .execute(conn)?;
            }
            Ok(rows)
        })
        .await
}

/// The private key to sign a delivery with.
async fn signing_key(svc: &Services, row: &Delivery) -> Result<String, String> {
    match row.actor_account_id {
        Some(id) => svc
            .db
            .run(move |conn| {
                Ok(accounts::table
                    .find(id)
                    .select(accounts::private_key_pem)
                    .first::<Option<String>>(conn)
                    .optional()?)
            })
            .await
            .map_err(|e| e.public_message())?
            .flatten()
            .ok_or_else(|| "the sending account has no private key".to_owned()),
        None => store::instance_key(svc)
            .await
            .map(|k| k.private_key_pem)
            .map_err(|e| e.public_message()),
    }
}

/// One POST. `Ok` when the inbox answered 2xx.
async fn send(svc: &Services, row: &Delivery) -> Result<(), String> {
    let url = Url::parse(&row.inbox_url).map_err(|e| format!("bad inbox URL: {e}"))?;
    check_url(&url, svc.config.allow_private_addresses).map_err(|e| e.to_string())?;
    let key = signing_key(svc, row).await?;
    let body = row.activity_json.as_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/activity+json"),
    );
    sign_request(
        &Method::POST,
        &url,
        &mut headers,
        Some(body),
        &row.key_id,
        &key,
        Utc::now(),
    )
    .map_err(|e| e.to_string())?;
    let res = svc
        .http
        .post(url)
        .headers(headers)
        .body(row.activity_json.clone())
        .send()
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = res.status();
    if status.is_success() {
        return Ok(());
    }
    let text = read_limited(res).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text[..text.len().min(200)]).into_owned();
    Err(format!("{status}: {text}"))
}

async fn record(
    svc: &Services,
    row: &Delivery,
    outcome: Result<(), String>,
) -> Result<(), AppError> {
    let id = row.id;
    let now = Utc::now().naive_utc();
    match outcome {
        Ok(()) => {
            tracing::debug!(inbox = row.inbox_url, "delivered");
            svc.db
                .write(move |conn| {
                    diesel::update(deliveries::table.find(id))
                        .set((
                            deliveries::delivered_at.eq(Some(now)),
                            deliveries::attempts.eq(deliveries::attempts + 1),
                            deliveries::last_error.eq(None::<String>),
                        ))
                        .execute(conn)?;
                    Ok(())
                })
                .await
        }
        Err(error) => {
            let attempts = row.attempts + 1;
            let next: NaiveDateTime = now + backoff(attempts);
            if next - row.created_at > GIVE_UP_AFTER {
                tracing::warn!(
                    inbox = row.inbox_url,
                    attempts,
                    error,
                    "giving up on a delivery"
                );
                return svc
                    .db
                    .write(move |conn| {
                        diesel::delete(deliveries::table.find(id)).execute(conn)?;
                        Ok(())
                    })
                    .await;
            }
            tracing::info!(
                inbox = row.inbox_url,
                attempts,
                error,
                "delivery failed, will retry"
            );
            svc.db
                .write(move |conn| {
                    diesel::update(deliveries::table.find(id))
                        .set((
                            deliveries::attempts.eq(attempts),
                            deliveries::next_attempt_at.eq(next),
                            deliveries::last_error.eq(Some(error)),
                        ))
                        .execute(conn)?;
                    Ok(())
                })
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_twelve_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(30), Duration::hours(12));
        assert_eq!(backoff(1000), Duration::hours(12));
    }
}
