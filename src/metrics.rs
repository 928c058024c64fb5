//! Health and Prometheus metrics (issue #14, item 9). `GET /health` on the public port says
//! whether the process and its database answer; `--metrics-listen ADDR` serves
//! `GET /metrics` (Prometheus text format) on its own address, never on the public port.
//!
//! Counters and histograms are updated as requests and activities pass
//! (`prometheus-client`, the Prometheus project's own Rust client: lock-free atomics per
//! label set); the delivery queue and the database pool are read when scraped.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use diesel::prelude::*;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::db::schema::deliveries;
use crate::service::Services;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's pattern (`/stories/{id}`), never the raw path: bounded cardinality.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DomainLabels {
    domain: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    state: &'static str,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    inbox: Family<OutcomeLabels, Counter>,
    delivery_failures: Family<DomainLabels, Counter>,
    deliveries_done: Counter,
    queue_depth: Gauge,
    oldest_pending: Gauge<f64, std::sync::atomic::AtomicU64>,
    pool: Family<PoolLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.0005, 2.0, 14))) as fn() -> Histogram,
        );
        let inbox = Family::<OutcomeLabels, Counter>::default();
        let delivery_failures = Family::<DomainLabels, Counter>::default();
        let deliveries_done = Counter::default();
        let queue_depth = Gauge::default();
        let oldest_pending = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        let pool = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "tidings_http_requests",
            "HTTP requests answered, by method, route pattern and status",
            requests.clone(),
        );
        registry.register(
            "tidings_http_request_duration_seconds",
            "Time to answer HTTP requests, by method and route pattern",
            latency.clone(),
        );
        registry.register(
            "tidings_inbox_activities",
            "Activities posted to our inboxes, by outcome: accepted (stored or a known duplicate), \
             rejected (4xx), busy (429/503), error (other 5xx)",
            inbox.clone(),
        );
        registry.register(
            "tidings_delivery_failures",
            "Failed delivery attempts, by the receiving server's domain",
            delivery_failures.clone(),
        );
        registry.register(
            "tidings_deliveries_delivered",
            "Deliveries that reached their inbox",
            deliveries_done.clone(),
        );
        registry.register(
            "tidings_delivery_queue_depth",
            "Deliveries waiting to be sent (read when scraped)",
            queue_depth.clone(),
        );
        registry.register(
            "tidings_delivery_oldest_pending_age_seconds",
            "Age of the oldest delivery still waiting, 0 when none (read when scraped)",
            oldest_pending.clone(),
        );
        registry.register(
            "tidings_db_pool_connections",
            "Database pool connections by state: idle or in_use (read when scraped)",
            pool.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            inbox,
            delivery_failures,
            deliveries_done,
            queue_depth,
            oldest_pending,
            pool,
        }
    }
}

impl Metrics {
    /// An activity posted to an inbox was answered with `status`.
    pub fn inbox_answered(&self, status: StatusCode) {
        let outcome = match status.as_u16() {
            200..=299 => "accepted",
            429 | 503 => "busy",
            400..=499 => "rejected",
            _ => "error",
        };
        self.inbox.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// A delivery attempt to `domain` failed.
    pub fn delivery_failed(&self, domain: &str) {
        self.delivery_failures
            .get_or_create(&DomainLabels {
                domain: domain.to_owned(),
            })
            .inc();
    }

    pub fn delivered(&self, n: u64) {
        self.deliveries_done.inc_by(n);
    }
}

/// Counts every request by route pattern and times it.
pub async fn layer(State(svc): State<Services>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let res = next.run(req).await;
    let m = &svc.metrics;
    m.latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    m.requests
        .get_or_create(&RequestLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

/// `GET /health`: 200 when the database answers a query, else 503 (with the reason in the
/// log, not in the answer).
pub async fn health(State(svc): State<Services>) -> Response {
    let probe = svc
        .db
        .run(|conn| {
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
                .get_result::<i32>(conn)
                .map_err(crate::error::AppError::from)
        })
        .await;
    let (status, body) = match probe {
        Ok(_) => (StatusCode::OK, r#"{"status":"ok","database":"ok"}"#),
        Err(e) => {
            tracing::warn!("health check: database unreachable: {}", e.public_message());
            (
                StatusCode::SERVICE_UNAVAILABLE,
                r#"{"status":"unavailable","database":"unreachable"}"#,
            )
        }
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

/// `GET /metrics` on the metrics address.
async fn scrape(State(svc): State<Services>) -> Response {
    let m = svc.metrics.clone();
    let state = svc.db.pool_state();
    m.pool
        .get_or_create(&PoolLabels { state: "idle" })
        .set(i64::from(state.idle_connections));
    m.pool
        .get_or_create(&PoolLabels { state: "in_use" })
        .set(i64::from(state.connections - state.idle_connections));
    let queue = svc
        .db
        .run(|conn| {
            let pending = deliveries::table.filter(deliveries::delivered_at.is_null());
            let depth: i64 = pending.count().get_result(conn)?;
            let oldest: Option<chrono::NaiveDateTime> = pending
                .select(diesel::dsl::min(deliveries::created_at))
                .first(conn)?;
            Ok((depth, oldest))
        })
        .await;
    match queue {
        Ok((depth, oldest)) => {
            m.queue_depth.set(depth);
            let age = oldest
                .map(|t| (Utc::now().naive_utc() - t).num_milliseconds() as f64 / 1000.0)
                .unwrap_or(0.0);
            m.oldest_pending.set(age.max(0.0));
        }
        Err(e) => tracing::warn!(
            "metrics: reading the delivery queue failed: {}",
            e.public_message()
        ),
    }
    let mut body = String::new();
    if let Err(e) = prometheus_client::encoding::text::encode(&mut body, &m.registry) {
        tracing::error!("metrics: encoding failed: {e}");
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// Serves `GET /metrics` on its own listener until the task is dropped.
pub fn serve(svc: Services, listener: tokio::net::TcpListener) -> tokio::task::JoinHandle<()> {
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .with_state(svc);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!("the metrics listener stopped: {e}");
        }
    })
}

/// Shared handle (in `Services`).
pub type SharedMetrics = Arc<Metrics>;
