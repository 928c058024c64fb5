//! Cross-origin requests (CORS) as Mastodon answers them, so that apps running in a browser
//! on another origin (hosted Elk, Phanpy) can call the client API: `*` on `/api/*`,
//! `/oauth/token`, `/oauth/revoke`, `/.well-known/*` and `/nodeinfo/*`, preflights answered
//! with the methods and headers the app asks for (`Authorization` included). HTML pages and
//! their form posts (`/oauth/authorize`, `/login`, …) never carry CORS headers: the browser
//! keeps other sites from reading or driving them.
//!
//! No credentials are allowed: API calls carry a bearer token, never our session cookie.

use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{HeaderName, Method};
use axum::response::Response;
use futures_util::future::BoxFuture;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

/// Headers an app may read from an API answer (pagination and rate limits).
const EXPOSED: [&str; 5] = [
    "link",
    "x-ratelimit-reset",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-request-id",
];

/// How long a browser may keep a preflight's answer (as Mastodon's rack-cors: two hours).
const MAX_AGE: Duration = Duration::from_secs(7200);

/// The CORS policy for a path, or `None` where there is none (HTML pages, form posts,
/// ActivityPub endpoints).
fn policy_for(path: &str) -> Option<&'static CorsLayer> {
    static API: std::sync::LazyLock<CorsLayer> = std::sync::LazyLock::new(|| {
        policy(&[
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
    });
    static TOKEN: std::sync::LazyLock<CorsLayer> =
        std::sync::LazyLock::new(|| policy(&[Method::POST, Method::OPTIONS]));
    static DISCOVERY: std::sync::LazyLock<CorsLayer> =
        std::sync::LazyLock::new(|| policy(&[Method::GET, Method::HEAD, Method::OPTIONS]));
    if path.starts_with("/api/") {
        Some(&API)
    } else if path == "/oauth/token" || path == "/oauth/revoke" {
        Some(&TOKEN)
    } else if path.starts_with("/.well-known/") || path.starts_with("/nodeinfo/") {
        Some(&DISCOVERY)
    } else {
        None
    }
}

fn policy(methods: &[Method]) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods(methods.to_vec())
        // `*` would not cover `Authorization`; echoing what the preflight asks for does.
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(EXPOSED.map(HeaderName::from_static))
        .max_age(MAX_AGE)
}

/// The layer that applies [`policy_for`] to each request.
#[derive(Debug, Clone, Copy, Default)]
pub struct CorsOnPaths;

impl<S> Layer<S> for CorsOnPaths {
    type Service = CorsOnPathsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CorsOnPathsService { inner }
    }
}

#[derive(Debug, Clone)]
pub struct CorsOnPathsService<S> {
    inner: S,
}

impl<S> Service<Request> for CorsOnPathsService<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was made ready serves this request (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        match policy_for(req.uri().path()) {
            Some(policy) => Box::pin(policy.layer(inner).oneshot(req)),
            None => Box::pin(ServiceExt::oneshot(inner, req)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::policy_for;

    #[test]
    fn only_the_listed_paths_have_a_policy() {
        for path in [
            "/api/v1/instance",
            "/api/v2/search",
            "/oauth/token",
            "/oauth/revoke",
            "/.well-known/webfinger",
            "/nodeinfo/2.0",
        ] {
            assert!(policy_for(path).is_some(), "{path}");
        }
        for path in [
            "/",
            "/oauth/authorize",
            "/oauth/authorize/",
            "/login",
            "/@bob",
            "/users/bob",
            "/users/bob/inbox",
            "/inbox",
            "/apix",
            "/oauth/tokens",
        ] {
            assert!(policy_for(path).is_none(), "{path}");
        }
    }
}
