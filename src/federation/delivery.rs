//! The outgoing delivery queue (table `deliveries`) and its worker.
//!
//! Rows are written with [`enqueue`] inside the transaction of the change that causes them,
//! so nothing is sent for a change that was rolled back and nothing is lost on a restart.
//! The worker claims due rows whenever it has a free slot (a claim pushes
//! `next_attempt_at` a few minutes ahead, so several processes sharing one database do not
//! send a row twice), POSTs them signed with the sending account's key (or the instance
//! actor's), at most [`CONCURRENCY`] at once and at most [`PER_HOST`] at once to one
//! server, and marks them delivered, or schedules a retry with exponential backoff:
//! 30 s · 2^attempts, capped at 12 h; after [`GIVE_UP_AFTER`] the row is dropped with a
//! warning.

use std::collections::HashMap;
use std::time::Duration as StdDuration;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::{Duration, NaiveDateTime, Timelike, Utc};
use diesel::prelude::*;
use serde_json::Value;
use tokio::task::{JoinHandle, JoinSet};
use url::Url;

use super::fetch::{authority, check_url, read_limited};
use super::signatures::sign_request;
use super::store;
use crate::db::models::Delivery;
use crate::db::schema::{accounts, deliveries};
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::service::{Services, domain_blocks};

/// Deliveries in flight at once, all servers together.
pub const CONCURRENCY: usize = 256;
/// Deliveries in flight at once to one server (`host[:port]` of the inbox), so one slow
/// server cannot take every slot.
pub const PER_HOST: usize = 4;
/// How long a claimed row is left alone before another round may take it again.
const LEASE: Duration = Duration::minutes(5);
/// Retries stop after this long.
pub const GIVE_UP_AFTER: Duration = Duration::days(3);
/// How often the worker looks for due rows when it has nothing to do.
const IDLE_POLL: StdDuration = StdDuration::from_millis(200);
/// Delivered rows are kept this long (to look into), then deleted.
pub const KEEP_DELIVERED: Duration = Duration::days(1);
/// How often delivered rows are pruned.
const PRUNE_EVERY: StdDuration = StdDuration::from_secs(600);

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
///
/// It claims continuously: whenever a slot frees up it claims more due rows, skipping the
/// servers that already have [`PER_HOST`] deliveries in flight, so a slow or dead server
/// only ever holds its own slots.
pub fn start(svc: Services) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut in_flight: JoinSet<(Delivery, Result<(), Failure>)> = JoinSet::new();
        // The server of each task, and the tasks in flight per server.
        let mut host_of_task: HashMap<tokio::task::Id, String> = HashMap::new();
        let mut per_host: HashMap<String, usize> = HashMap::new();
        let mut pruned_at = tokio::time::Instant::now();
        // Claims failing in a row (a database gone read-only or away): the worker waits
        // longer after each, up to a minute, instead of failing and logging every poll.
        let mut failures: u32 = 0;
        loop {
            if pruned_at.elapsed() >= PRUNE_EVERY {
                pruned_at = tokio::time::Instant::now();
                if let Err(e) = prune(&svc).await {
                    e.log();
                }
            }
            let free = CONCURRENCY - in_flight.len();
            let mut claimed = 0;
            if free > 0 {
                match claim(&svc, free, &per_host).await {
                    Ok(rows) => {
                        failures = 0;
                        claimed = rows.len();
                        for row in rows {
                            let host = host_of(&row.inbox_url);
                            *per_host.entry(host.clone()).or_default() += 1;
                            let svc = svc.clone();
                            let task = in_flight.spawn(async move {
                                let outcome = send(&svc, &row).await;
                                (row, outcome)
                            });
                            host_of_task.insert(task.id(), host);
                        }
                    }
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(
                            failures,
                            retry_in_ms = idle_wait(failures).as_millis() as u64,
                            "claiming deliveries failed: {}",
                            e.public_message()
                        );
                        e.log();
                    }
                }
            }
            // Wait for a slot to free up, or (nothing claimable now) for new rows.
            let done = if in_flight.is_empty() || claimed == 0 {
                tokio::select! {
                    done = in_flight.join_next_with_id(), if !in_flight.is_empty() => done,
                    _ = tokio::time::sleep(idle_wait(failures)) => None,
                }
            } else if in_flight.len() >= CONCURRENCY {
                in_flight.join_next_with_id().await
            } else {
                None
            };
            // Everything finished by now is recorded in one transaction.
            let mut outcomes = Vec::new();
            let mut finish = |r: Result<(tokio::task::Id, _), tokio::task::JoinError>| {
                let id = match r {
                    Ok((id, outcome)) => {
                        outcomes.push(outcome);
                        id
                    }
                    // A panicking delivery: its row stays leased and is tried again later.
                    Err(e) => {
                        tracing::error!("a delivery task failed: {e}");
                        e.id()
                    }
                };
                if let Some(host) = host_of_task.remove(&id)
                    && let Some(n) = per_host.get_mut(&host)
                {
                    *n -= 1;
                    if *n == 0 {
                        per_host.remove(&host);
                    }
                }
            };
            if let Some(r) = done {
                finish(r);
            }
            while let Some(r) = in_flight.try_join_next_with_id() {
                finish(r);
            }
            if let Err(e) = record_all(&svc, outcomes).await {
                tracing::warn!("recording deliveries failed: {}", e.public_message());
                e.log();
            }
        }
    })
}

/// The longest wait between claims after repeated failures.
const MAX_FAILURE_WAIT: StdDuration = StdDuration::from_secs(60);

/// How long the worker waits for new rows: [`IDLE_POLL`], doubled for each claim that
/// failed in a row, at most [`MAX_FAILURE_WAIT`].
fn idle_wait(failures: u32) -> StdDuration {
    IDLE_POLL
        .saturating_mul(1u32 << failures.min(16))
        .min(MAX_FAILURE_WAIT)
}

/// Deletes the rows delivered more than [`KEEP_DELIVERED`] ago.
pub async fn prune(svc: &Services) -> Result<usize, AppError> {
    let before = Utc::now().naive_utc() - KEEP_DELIVERED;
    svc.db
        .write(move |conn| {
            Ok(diesel::delete(
                deliveries::table
                    .filter(deliveries::delivered_at.is_not_null())
                    .filter(deliveries::delivered_at.lt(before)),
            )
            .execute(conn)?)
        })
        .await
}

/// The end of a claim's lease: [`LEASE`] from `now`, plus a random part below a second so
/// that two claims never share it, in whole microseconds (what PostgreSQL stores).
fn lease_mark(now: NaiveDateTime) -> NaiveDateTime {
    let mut b = [0u8; 4];
    let jitter = match openssl::rand::rand_bytes(&mut b) {
        Ok(()) => u32::from_le_bytes(b) % 1_000_000,
        Err(_) => 0,
    };
    let t = now + LEASE + Duration::microseconds(i64::from(jitter));
    t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t)
}

/// `host[:port]` of an inbox URL: what the per-server limit counts.
fn host_of(inbox_url: &str) -> String {
    Url::parse(inbox_url)
        .map(|u| authority(&u))
        .unwrap_or_default()
}

/// Claims up to `max` due rows (leasing them), at most [`PER_HOST`] in flight per server
/// counting `busy`. Servers at their limit are left out of the query, so a long backlog
/// for one server does not hide the rows of others.
async fn claim(
    svc: &Services,
    max: usize,
    busy: &HashMap<String, usize>,
) -> Result<Vec<Delivery>, AppError> {
    let mut busy = busy.clone();
    let full: Vec<String> = busy
        .iter()
        .filter(|(_, n)| **n >= PER_HOST)
        .map(|(h, _)| format!("%://{h}/%"))
        .collect();
    svc.db
        .write(move |conn| {
            let now = Utc::now().naive_utc();
            let mut q = deliveries::table
                .filter(deliveries::next_attempt_at.le(now))
                .filter(deliveries::delivered_at.is_null())
                .into_boxed();
            for pattern in &full {
                q = q.filter(deliveries::inbox_url.not_like(pattern.clone()));
            }
            // Ids and inboxes first: the activities of rows not taken are not loaded.
            let candidates: Vec<(i64, String)> = q
                .order(deliveries::next_attempt_at.asc())
                .limit((max * PER_HOST) as i64)
                .select((deliveries::id, deliveries::inbox_url))
                .load(conn)?;
            let mut chosen: Vec<i64> = Vec::new();
            for (id, inbox) in candidates {
                if chosen.len() >= max {
                    break;
                }
                let n = busy.entry(host_of(&inbox)).or_default();
                if *n < PER_HOST {
                    *n += 1;
                    chosen.push(id);
                }
            }
            if chosen.is_empty() {
                return Ok(Vec::new());
            }
            // The lease is taken only on rows still due, and marked with a time of its own:
            // on PostgreSQL (read committed) another process may have selected the same
            // rows; its update waits for ours, then finds them no longer due.
            let lease = lease_mark(now);
            let leased = diesel::update(
                deliveries::table
                    .filter(deliveries::id.eq_any(&chosen))
                    .filter(deliveries::next_attempt_at.le(now))
                    .filter(deliveries::delivered_at.is_null()),
            )
            .set(deliveries::next_attempt_at.eq(lease))
            .execute(conn)?;
            if leased == 0 {
                return Ok(Vec::new());
            }
            let rows: Vec<Delivery> = deliveries::table
                .filter(deliveries::id.eq_any(&chosen))
                .filter(deliveries::next_attempt_at.eq(lease))
                .select(Delivery::as_select())
                .load(conn)?;
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

/// Why a delivery did not happen.
#[derive(Debug)]
enum Failure {
    /// Worth another try later.
    Error(String),
    /// The server is one we do not federate with (see `service::domain_blocks`): the row
    /// is dropped.
    Refused(&'static str),
}

impl From<String> for Failure {
    fn from(e: String) -> Failure {
        Failure::Error(e)
    }
}

/// One POST. `Ok` when the inbox answered 2xx. Nothing is sent to a server we do not
/// federate with.
async fn send(svc: &Services, row: &Delivery) -> Result<(), Failure> {
    let url = Url::parse(&row.inbox_url).map_err(|e| format!("bad inbox URL: {e}"))?;
    let rules = domain_blocks::rules(svc)
        .await
        .map_err(|e| e.public_message())?;
    if let Some(why) = url.host_str().and_then(|h| rules.refusal(h)) {
        return Err(Failure::Refused(why));
    }
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
    Err(format!("{status}: {text}").into())
}

/// Writes the outcomes of finished deliveries, all in one transaction: delivered rows are
/// marked, failed ones scheduled for a retry (or dropped after [`GIVE_UP_AFTER`]).
async fn record_all(
    svc: &Services,
    outcomes: Vec<(Delivery, Result<(), Failure>)>,
) -> Result<(), AppError> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    let mut delivered: Vec<i64> = Vec::new();
    let mut dropped: Vec<i64> = Vec::new();
    let mut retries: Vec<(i64, i32, NaiveDateTime, String)> = Vec::new();
    for (row, outcome) in outcomes {
        match outcome {
            Ok(()) => {
                tracing::debug!(inbox = row.inbox_url, "delivered");
                delivered.push(row.id);
            }
            Err(Failure::Refused(why)) => {
                tracing::info!(
                    inbox = row.inbox_url,
                    reason = why,
                    "delivery dropped: a server we do not federate with"
                );
                dropped.push(row.id);
            }
            Err(Failure::Error(error)) => {
                svc.metrics.delivery_failed(&host_of(&row.inbox_url));
                let attempts = row.attempts + 1;
                let next: NaiveDateTime = now + backoff(attempts);
                if next - row.created_at > GIVE_UP_AFTER {
                    tracing::warn!(
                        inbox = row.inbox_url,
                        attempts,
                        error,
                        "giving up on a delivery"
                    );
                    dropped.push(row.id);
                } else {
                    tracing::info!(
                        inbox = row.inbox_url,
                        attempts,
                        error,
                        "delivery failed, will retry"
                    );
                    retries.push((row.id, attempts, next, error));
                }
            }
        }
    }
    svc.metrics.delivered(delivered.len() as u64);
    svc.db
        .write(move |conn| {
            if !delivered.is_empty() {
                diesel::update(deliveries::table.filter(deliveries::id.eq_any(delivered)))
                    .set((
                        deliveries::delivered_at.eq(Some(now)),
                        deliveries::attempts.eq(deliveries::attempts + 1),
                        deliveries::last_error.eq(None::<String>),
                    ))
                    .execute(conn)?;
            }
            if !dropped.is_empty() {
                diesel::delete(deliveries::table.filter(deliveries::id.eq_any(dropped)))
                    .execute(conn)?;
            }
            for (id, attempts, next, error) in retries {
                diesel::update(deliveries::table.find(id))
                    .set((
                        deliveries::attempts.eq(attempts),
                        deliveries::next_attempt_at.eq(next),
                        deliveries::last_error.eq(Some(error)),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_claims_back_off_exponentially_to_a_minute() {
        assert_eq!(idle_wait(0), IDLE_POLL);
        assert_eq!(idle_wait(1), IDLE_POLL * 2);
        assert_eq!(idle_wait(3), IDLE_POLL * 8);
        assert_eq!(idle_wait(20), MAX_FAILURE_WAIT);
        assert_eq!(idle_wait(u32::MAX), MAX_FAILURE_WAIT);
    }

    #[test]
    fn leases_are_whole_microseconds_and_differ() {
        let now = Utc::now().naive_utc();
        let a = lease_mark(now);
        let b = lease_mark(now);
        assert_eq!(a.nanosecond() % 1000, 0);
        assert!(a >= now + LEASE - Duration::microseconds(1));
        assert!(a < now + LEASE + Duration::seconds(1));
        // Two claims at the same instant: (almost surely) different marks.
        assert!(a != b || lease_mark(now) != a);
    }

    #[test]
    fn backoff_doubles_up_to_twelve_hours() {
        assert_eq!(backoff(1), Duration::seconds(30));
        assert_eq!(backoff(2), Duration::seconds(60));
        assert_eq!(backoff(5), Duration::seconds(480));
        assert_eq!(backoff(30), Duration::hours(12));
        assert_eq!(backoff(1000), Duration::hours(12));
    }
}
