//! Per-request context for pages: the logged-in account, the CSRF token, the theme.
//! A middleware builds it from cookies, and turns errors into full HTML pages.

use std::sync::Arc;

use askama::Template;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};

use super::pages::ErrorPage;
use crate::db::models::Account;
use crate::error::{AppError, ErrorKind};
use crate::service::{Services, crypto, sessions};

/// Whether the viewer may moderate.
pub fn is_moderator(user: &Account) -> bool {
    user.is_admin || user.is_moderator
}

pub const SESSION_COOKIE: &str = "tidings_session";
/// The CSRF cookie over plain http (local trials): browsers refuse `__Host-` cookies
/// without `Secure`.
pub const CSRF_COOKIE: &str = "tidings_csrf";
/// The CSRF cookie over https. The `__Host-` prefix makes browsers refuse it unless it was
/// set by this very host, `Secure`, for `/` and with no `Domain`: a sibling subdomain cannot
/// plant one.
pub const CSRF_COOKIE_HTTPS: &str = "__Host-tidings_csrf";

/// The name of the CSRF cookie for an instance served over https (`secure`) or not.
pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        CSRF_COOKIE_HTTPS
    } else {
        CSRF_COOKIE
    }
}
pub const THEME_COOKIE: &str = "tidings_theme";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    pub fn parse(s: &str) -> Option<Theme> {
        match s {
            "system" => Some(Theme::System),
            "light" => Some(Theme::Light),
            "dark" => Some(Theme::Dark),
            _ => None,
        }
    }

    /// The `data-theme` attribute, or none to follow the system preference.
    pub fn attr(&self) -> Option<&'static str> {
        match self {
            Theme::System => None,
            Theme::Light => Some("light"),
            Theme::Dark => Some("dark"),
        }
    }

    pub fn is_dark(&self) -> bool {
        *self == Theme::Dark
    }

    pub fn is_light(&self) -> bool {
        *self == Theme::Light
    }

    pub fn is_set(&self) -> bool {
        *self != Theme::System
    }
}

#[derive(Clone)]
pub struct Ctx {
    pub user: Option<Arc<Account>>,
    pub csrf: String,
    pub theme: Theme,
    /// Path and query of this request, for "return here" links.
    pub path: String,
    pub site_name: Arc<str>,
    pub asset_version: &'static str,
    pub session_token: Option<String>,
    /// Unread notifications of the logged-in account.
    pub unread: i64,
    secure: bool,
}

/// Changes when the stylesheet changes, so browsers may cache it for long.
pub const ASSET_VERSION: &str = env!("CARGO_PKG_VERSION");

impl Ctx {
    pub fn require_user(&self) -> Result<&Account, AppError> {
        self.user.as_deref().ok_or_else(AppError::unauthorized)
    }

    /// The form's hidden token must equal [`Ctx::csrf`]: for a logged-in visitor the token
    /// derived from the session ([`crypto::session_csrf_token`]), otherwise the CSRF
    /// cookie (double submit).
    pub fn check_csrf(&self, submitted: &str) -> Result<(), AppError> {
        if crypto::secure_eq(submitted, &self.csrf) {
            Ok(())
        } else {
            Err(AppError::new(ErrorKind::Csrf))
        }
    }

    /// A cookie with this instance's attributes: HttpOnly, SameSite=Lax, Secure on https.
    pub fn cookie(&self, name: &'static str, value: String, days: i64) -> Cookie<'static> {
        make_cookie(name, value, days, self.secure)
    }
}

fn make_cookie(name: &'static str, value: String, days: i64, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie_time(days))
        .build()
}

fn cookie_time(days: i64) -> time::Duration {
    time::Duration::days(days)
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Ctx, AppError> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::internal(anyhow::anyhow!("page context layer missing")))
    }
}

fn valid_token(v: &str) -> bool {
    v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Builds [`Ctx`] for every page request and renders error responses as HTML pages.
pub async fn layer(State(svc): State<Services>, mut req: Request, next: Next) -> Response {
    let jar = CookieJar::from_headers(req.headers());
    let secure = svc.config.secure_cookies();
    let csrf_cookie = csrf_cookie_name(secure);
    let (anonymous_csrf, new_csrf) = match jar.get(csrf_cookie).map(|c| c.value()) {
        Some(v) if valid_token(v) => (v.to_owned(), false),
        _ => (crypto::random_token(32), true),
    };
    let token = jar
        .get(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| valid_token(v));
    let mut stale_session = jar.get(SESSION_COOKIE).is_some() && token.is_none();
    let user = match &token {
        Some(t) => match sessions::lookup(&svc, t).await {
            Ok(Some(a)) => Some(Arc::new(a)),
            Ok(None) => {
                stale_session = true;
                None
            }
            Err(e) => {
                e.log();
                None
            }
        },
        None => None,
    };
    let unread = match &user {
        Some(u) => crate::service::notifications::unread_count(&svc, u.id)
            .await
            .unwrap_or_else(|e| {
                e.log();
                0
            }),
        None => 0,
    };
    // A logged-in visitor's forms carry a token bound to the session; a visitor without
    // one (logging in, joining) gets the cookie's.
    let csrf = match (&user, &token) {
        (Some(_), Some(t)) => crypto::session_csrf_token(t),
        _ => anonymous_csrf.clone(),
    };
    let theme = jar
        .get(THEME_COOKIE)
        .and_then(|c| Theme::parse(c.value()))
        .unwrap_or(Theme::System);
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    let ctx = Ctx {
        user,
        csrf: csrf.clone(),
        theme,
        path: path.clone(),
        site_name: match crate::service::instance::info(&svc).await {
            Ok(info) => info.name.as_str().into(),
            Err(e) => {
                e.log();
                "Tidings".into()
            }
        },
        asset_version: ASSET_VERSION,
        session_token: token,
        unread,
        secure,
    };
    req.extensions_mut().insert(ctx.clone());
    let mut res = next.run(req).await;
    if let Some(info) = res.extensions_mut().remove::<ErrorInfo>() {
        let retry_after = res.headers().get(header::RETRY_AFTER).cloned();
        res = error_page(&ctx, info, is_get, &path);
        if let Some(v) = retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    let headers = res.headers_mut();
    if new_csrf {
        append_cookie(
            headers,
            make_cookie(csrf_cookie, anonymous_csrf, 365, secure),
        );
    }
    if stale_session {
        append_cookie(
            headers,
            make_cookie(SESSION_COOKIE, String::new(), 0, secure),
        );
    }
    res
}

fn append_cookie(headers: &mut axum::http::HeaderMap, cookie: Cookie<'static>) {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        headers.append(header::SET_COOKIE, v);
    }
}

/// Left on a response by [`AppError`] so the page layer can render it with the layout.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub message: String,
}

fn error_page(ctx: &Ctx, info: ErrorInfo, is_get: bool, path: &str) -> Response {
    if info.status == StatusCode::UNAUTHORIZED && is_get {
        let target = format!(
            "/login?return_to={}",
            url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
        );
        return Redirect::to(&target).into_response();
    }
    let title = match info.status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::GONE => "Deleted",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::UNAUTHORIZED => "Login required",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let page = ErrorPage {
        ctx,
        title,
        message: &info.message,
    };
    match page.render() {
        Ok(html) => (info.status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "error page failed to render");
            (info.status, info.message).into_response()
        }
    }
}
