//! Rate limits, Mastodon-style: a fixed window per client address, answered with 429 and the
//! `X-RateLimit-*` headers. Counters live in this process's memory: they are safe to lose
//! (a restart forgives everyone) and, with several processes, each counts its own share.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use ipnet::IpNet;

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
    /// Reverse proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`).
    trusted_proxies: Arc<[IpNet]>,
}

/// The outcome of one request: whether it may go on, and what the headers say.
pub struct Verdict {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    pub reset_in: Duration,
}

impl Limiter {
    pub fn new(trusted_proxies: &[IpNet]) -> Limiter {
        Limiter {
            windows: Arc::default(),
            trusted_proxies: trusted_proxies.into(),
        }
    }

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

/// The client's address, as found by [`client_ip`]; put on every request for the handlers
/// and logs that want it.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

/// The client's address: the peer's, unless the peer is one of the trusted reverse proxies;
/// then `X-Forwarded-For` is read from the right (each proxy appends the address it got the
/// request from), skipping trusted proxies, and the first other address is the client.
/// Entries a client wrote itself sit further left and are never reached unless every proxy
/// on the way is trusted. With no trusted proxies the header is ignored.
pub fn client_ip(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = forwarded_for
        .iter()
        .rev()
        .flat_map(|line| line.rsplit(','))
        .map(str::trim);
    for hop in hops {
        // Anything unreadable ends the walk: the last proxy believed is the client.
        let Ok(ip) = hop.parse::<IpAddr>() else {
            break;
        };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

fn request_client_ip(req: &Request, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req
        .extensions()
        .get::<ConnectInfo<crate::app::PeerAddr>>()
        .map(|c| c.0.0.ip())?;
    let forwarded: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if trusted.is_empty() && !forwarded.is_empty() && peer.is_loopback() {
        static WARNED: AtomicBool = AtomicBool::new(false);
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                %peer,
                "X-Forwarded-For ignored: no --trusted-proxies set (behind a reverse proxy on \
                 this machine, set --trusted-proxies 127.0.0.1,::1)"
            );
        }
    }
    Some(client_ip(peer, &forwarded, trusted))
}

/// The key a client address is counted under: an IPv4 address itself, an IPv6 address by
/// its /64. One IPv6 subscriber usually gets a whole /64 (and often more), so counting each
/// address apart would give one client 2^64 fresh limits.
pub fn rate_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
    }
}

/// Which quota a request falls under, if any: sign-in and registration endpoints get the
/// small one, other API calls the large one; both per client address.
fn classify(req: &Request) -> Option<(u8, Quota)> {
    let path = req.uri().path();
    let post = req.method() == Method::POST;
    if post
        && matches!(
            path,
            "/oauth/token" | "/api/v1/apps" | "/login" | "/join" | "/api/v1/accounts"
        )
    {
        return Some((0, AUTH));
    }
    if path.starts_with("/api/") {
        return Some((1, API));
    }
    None
}

pub async fn layer(State(limiter): State<Limiter>, mut req: Request, next: Next) -> Response {
    let client = request_client_ip(&req, &limiter.trusted_proxies);
    if let Some(ip) = client {
        req.extensions_mut().insert(ClientIp(ip));
    }
    let Some((bucket, quota)) = classify(&req) else {
        return next.run(req).await;
    };
    // Counted per client address: keying on the Authorization header would let a client
    // escape the limit by sending a new made-up token each time.
    let key = client.map(rate_key).unwrap_or_else(|| "unknown".into());
    let v = limiter.check(bucket, &key, quota, Instant::now());
    let mut res = if v.allowed {
        next.run(req).await
    } else {
        tracing::info!(bucket, client = %key, "rate limited");
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

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let loopback: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        let xff = ["203.0.113.9"];
        // No trusted proxies (the default): even a loopback peer's header is ignored.
        assert_eq!(client_ip(ip("127.0.0.1"), &xff, &[]), ip("127.0.0.1"));
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(ip("198.51.100.4"), &xff, &loopback),
            ip("198.51.100.4")
        );
        // A trusted proxy's is believed.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &xff, &loopback),
            ip("203.0.113.9")
        );
        // A client cannot slip an address in front of what the proxy appended.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["10.9.9.9, 203.0.113.9"], &loopback),
            ip("203.0.113.9")
        );
        // Several trusted hops are skipped, right to left, over several header lines.
        let two: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["6.6.6.6, 203.0.113.9", "10.0.0.2"], &two),
            ip("203.0.113.9")
        );
        // Garbage stops the walk at the last proxy.
        assert_eq!(
            client_ip(ip("127.0.0.1"), &["not an address"], &loopback),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv6_clients_share_a_limit_per_64() {
        let ip = |s: &str| -> IpAddr { s.parse().unwrap() };
        let a = rate_key(ip("2001:db8:1:2::1"));
        let b = rate_key(ip("2001:db8:1:2:ffff:ffff:ffff:fffe"));
        let other = rate_key(ip("2001:db8:1:3::1"));
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(a, b);
        assert_ne!(a, other);
        assert_eq!(rate_key(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(rate_key(ip("192.0.2.7")), "192.0.2.7");

        let l = Limiter::default();
        let t0 = Instant::now();
        for _ in 0..AUTH.limit {
            assert!(l.check(0, &a, AUTH, t0).allowed);
        }
        assert!(
            !l.check(0, &b, AUTH, t0).allowed,
            "another address of the same /64 is over the limit too"
        );
        assert!(l.check(0, &other, AUTH, t0).allowed);
    }
}
