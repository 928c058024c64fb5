//! Rate limits, Mastodon-style: a fixed window per client address, answered with 429 and the
//! `X-RateLimit-*` headers. Counters live in this process's memory: they are safe to lose
//! (a restart forgives everyone) and, with several processes, each counts its own share.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// How many requests one key may make per window.
#[derive(Debug, Clone, Copy)]
pub struct Quota {
    pub limit: u32,
    pub window: Duration,
}

/// Mastodon's defaults: 300 API calls per 5 minutes; sign-in style endpoints far fewer.
pub const API: Quota = Quota {
    limit: 300,
    window: Duration::from_secs(300),
};
pub const AUTH: Quota = Quota {
    limit: 30,
    window: Duration::from_secs(300),
};

#[derive(Default)]
struct Window {
    started: Option<Instant>,
    count: u32,
}

#[derive(Clone, Default)]
pub struct Limiter {
    windows: Arc<Mutex<HashMap<(u8, String), Window>>>,
}

/// The outcome of one request: whether it may go on, and what the headers say.
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    pub reset_in: Duration,
}

impl Limiter {
    pub fn check(&self, bucket: u8, key: &str, quota: Quota, now: Instant) -> Verdict {
        let mut map = self.windows.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, w| {
                w.started
                    .is_some_and(|s| now.duration_since(s) < quota.window)
            });
        }
        let w = map.entry((bucket, key.to_owned())).or_default();
        let fresh = w
            .started
            .is_none_or(|s| now.duration_since(s) >= quota.window);
        if fresh {
            w.started = Some(now);
            w.count = 0;
        }
        let started = w.started.unwrap_or(now);
        let allowed = w.count < quota.limit;
        if allowed {
            w.count += 1;
        }
        Verdict {
            allowed,
            limit: quota.limit,
            remaining: quota.limit.saturating_sub(w.count),
            reset_in: quota.window.saturating_sub(now.duration_since(started)),
        }
    }
}

/// The client's address: the peer, or, when the peer is a reverse proxy on this machine
/// (loopback), the last address it added to `X-Forwarded-For`.
fn client_ip(req: &Request) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<crate::app::PeerAddr>>()
        .map(|c| c.0.0.ip())?;
    if peer.is_loopback() {
        let forwarded = req
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|ip| ip.trim().parse().ok());
        if let Some(ip) = forwarded {
            return Some(ip);
        }
    }
    Some(peer)
}

/// Which quota a request falls under, if any: sign-in and registration endpoints get the
/// small one, other API calls the large one; both per client address.
fn classify(req: &Request) -> Option<(u8, Quota)> {
    let path = req.uri().path();
    let post = req.method() == Method::POST;
    if post && matches!(path, "/oauth/token" | "/api/v1/apps" | "/login" | "/join") {
        return Some((0, AUTH));
    }
    if path.starts_with("/api/") {
        return Some((1, API));
    }
    None
}

pub async fn layer(State(limiter): State<Limiter>, req: Request, next: Next) -> Response {
    let Some((bucket, quota)) = classify(&req) else {
        return next.run(req).await;
    };
    // Counted per client address: keying on the Authorization header would let a client
    // escape the limit by sending a new made-up token each time.
    let key = client_ip(&req)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into());
    let v = limiter.check(bucket, &key, quota, Instant::now());
    let mut res = if v.allowed {
        next.run(req).await
    } else {
        tracing::info!(bucket, "rate limited");
        (
            StatusCode::TOO_MANY_REQUESTS,
            axum::Json(serde_json::json!({ "error": "Too many requests" })),
        )
            .into_response()
    };
    let reset = chrono::Utc::now() + chrono::Duration::from_std(v.reset_in).unwrap_or_default();
    let headers = res.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from(v.limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(v.remaining));
    if let Ok(h) = HeaderValue::from_str(&reset.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    {
        headers.insert("x-ratelimit-reset", h);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_fill_and_reset() {
        let l = Limiter::default();
        let q = Quota {
            limit: 3,
            window: Duration::from_secs(10),
        };
        let t0 = Instant::now();
        for i in 0..3 {
            let v = l.check(0, "a", q, t0);
            assert!(v.allowed);
            assert_eq!(v.remaining, 2 - i);
        }
        assert!(!l.check(0, "a", q, t0).allowed);
        assert!(l.check(0, "b", q, t0).allowed, "keys are separate");
        assert!(l.check(1, "a", q, t0).allowed, "buckets are separate");
        assert!(
            l.check(0, "a", q, t0 + Duration::from_secs(10)).allowed,
            "a new window"
        );
    }
}
