//! Finding remote accounts: a handle (`@user@host[:port]` or `user@host`) by WebFinger,
//! or an actor URL directly; the actor is fetched (signed by the instance actor) and
//! stored as a remote account.
//!
//! WebFinger is asked over the instance's own scheme (`https` in production, `http` when
//! the instance runs with `--scheme http`, as the tests do).

use axum::http::{HeaderValue, header};
use diesel::prelude::*;
use url::Url;

use super::fetch::{self, FetchError, check_url, read_limited};
use super::inbox::{FoundNote, resolve_note};
use super::protocol::Jrd;
use crate::db::models::Account;
use crate::db::schema::accounts;
use crate::service::Services;

/// Media types of an ActivityPub actor in a WebFinger `self` link.
const AP_TYPES: [&str; 2] = ["application/activity+json", "application/ld+json"];

/// A handle `user@host`: `@` in front is optional; the host may carry a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub user: String,
    /// Lowercased, with the port when there is one.
    pub host: String,
}

impl Handle {
    pub fn parse(s: &str) -> Option<Handle> {
        let s = s.trim();
        let s = s.strip_prefix("acct:").unwrap_or(s);
        let s = s.strip_prefix('@').unwrap_or(s);
        let (user, host) = s.split_once('@')?;
        let user_ok = !user.is_empty()
            && user
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'));
        let host_ok = !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':'))
            && !host.starts_with(['.', '-', ':'])
            && Url::parse(&format!("http://{host}/")).is_ok();
        (user_ok && host_ok).then(|| Handle {
            user: user.to_owned(),
            host: host.to_ascii_lowercase(),
        })
    }

    pub fn acct(&self) -> String {
        format!("{}@{}", self.user, self.host)
    }
}

/// A remote account already stored under this handle.
pub async fn stored(svc: &Services, handle: &Handle) -> Result<Option<Account>, FetchError> {
    let (user, host) = (handle.user.to_lowercase(), handle.host.clone());
    Ok(svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq(user))
                .filter(accounts::domain.eq(host))
                .first::<Account>(conn)
                .optional()?)
        })
        .await?)
}

/// The actor id WebFinger gives for a handle.
pub async fn webfinger(svc: &Services, handle: &Handle) -> Result<Url, FetchError> {
    let mut url = Url::parse(&format!(
        "{}://{}/.well-known/webfinger",
        svc.config.scheme, handle.host
    ))
    .map_err(|e| FetchError::Invalid(format!("host: {e}")))?;
    url.query_pairs_mut()
        .append_pair("resource", &format!("acct:{}", handle.acct()));
    check_url(&url, svc.config.allow_private_addresses)?;
    fetch::check_federates(svc, &url).await?;
    let res = svc
        .http
        .get(url)
        .header(
            header::ACCEPT,
            HeaderValue::from_static("application/jrd+json, application/json"),
        )
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if !res.status().is_success() {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    let body = read_limited(res).await?;
    let jrd: Jrd = serde_json::from_slice(&body).map_err(|e| FetchError::Invalid(e.to_string()))?;
    let href = jrd
        .links
        .iter()
        .find(|l| {
            l.rel == "self"
                && l.kind.as_deref().is_some_and(|k| {
                    let k = k.to_ascii_lowercase();
                    AP_TYPES.iter().any(|t| k.starts_with(t))
                })
        })
        .and_then(|l| l.href.clone())
        .ok_or_else(|| FetchError::Invalid("no ActivityPub self link".into()))?;
    Url::parse(&href).map_err(|_| FetchError::Invalid("self link is not a URL".into()))
}

/// One of our own accounts by name (`None` when there is none, or it is suspended).
async fn local_account(svc: &Services, name: &str) -> Result<Option<Account>, FetchError> {
    let name = name.to_lowercase();
    Ok(svc
        .db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq(name))
                .filter(accounts::domain.is_null())
                .filter(accounts::suspended_at.is_null())
                .first::<Account>(conn)
                .optional()?)
        })
        .await?)
}

/// The account of a handle: ours (`name@our.domain[:port]`), stored, or found by WebFinger
/// and fetched.
pub async fn resolve_handle(
    svc: &Services,
    handle: &Handle,
) -> Result<Option<Account>, FetchError> {
    if handle.host.eq_ignore_ascii_case(&svc.config.domain) {
        return local_account(svc, &handle.user).await;
    }
    refuse_blocked(svc, &handle.host).await?;
    if let Some(known) = stored(svc, handle).await? {
        return Ok(Some(known));
    }
    let actor = webfinger(svc, handle).await?;
    let (account, _) = fetch::fetch_actor(svc, &actor).await?;
    Ok(Some(account))
}

/// The account of an actor URL: ours (its actor id `/users/name` or profile `/@name`),
/// stored, or fetched.
pub async fn resolve_url(svc: &Services, url: &Url) -> Result<Option<Account>, FetchError> {
    if fetch::authority(url).eq_ignore_ascii_case(&svc.config.domain) {
        let path = url.path().trim_end_matches('/');
        let name = path
            .strip_prefix("/users/")
            .or_else(|| path.strip_prefix("/@"))
            .filter(|n| !n.is_empty() && !n.contains('/'));
        return match name {
            Some(name) => local_account(svc, name).await,
            None => Ok(None),
        };
    }
    refuse_blocked(svc, &fetch::authority(url)).await?;
    if let Some(known) = fetch::stored_actor(svc, url.as_str()).await? {
        return Ok(Some(known));
    }
    let (account, _) = fetch::fetch_actor(svc, url).await?;
    Ok(Some(account))
}

/// No lookups of servers we do not federate with, not even of accounts stored before.
async fn refuse_blocked(svc: &Services, host: &str) -> Result<(), FetchError> {
    if crate::service::domain_blocks::rules(svc)
        .await?
        .refused(host)
    {
        return Err(FetchError::Blocked(host.to_owned()));
    }
    Ok(())
}

/// A search box's text when it is an http(s) URL.
fn web_url(q: &str) -> Option<Url> {
    Url::parse(q.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// What a search box holds, resolved to a post when it is the URL of one (ours, stored,
/// or fetched from its server with its thread); `None` for anything else or when the
/// lookup fails (logged).
pub async fn resolve_post_query(svc: &Services, q: &str) -> Option<FoundNote> {
    let url = web_url(q)?;
    match resolve_note(svc, url.as_str()).await {
        Ok(found) => Some(found),
        Err(e) => {
            tracing::info!(query = q.trim(), error = %e, "no post at this URL");
            None
        }
    }
}

/// What a search box holds, resolved to a remote account when it is a handle or an
/// http(s) URL of an actor; `None` for anything else or when the lookup fails (logged).
pub async fn resolve_query(svc: &Services, q: &str) -> Option<Account> {
    let q = q.trim();
    let found = if let Some(handle) = Handle::parse(q) {
        resolve_handle(svc, &handle).await
    } else if let Some(url) = web_url(q) {
        resolve_url(svc, &url).await
    } else {
        return None;
    };
    match found {
        Ok(a) => a.filter(|a| a.suspended_at.is_none()),
        Err(e) => {
            tracing::info!(query = q, error = %e, "could not resolve");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles() {
        let h = Handle::parse("@Alice@Example.COM").unwrap();
        assert_eq!((h.user.as_str(), h.host.as_str()), ("Alice", "example.com"));
        let h = Handle::parse("bob@127.0.0.1:8080").unwrap();
        assert_eq!(h.host, "127.0.0.1:8080");
        assert_eq!(h.acct(), "bob@127.0.0.1:8080");
        assert!(Handle::parse("acct:carol@social.example").is_some());
        for bad in [
            "alice",
            "@alice",
            "a@",
            "@b",
            "a b@c.d",
            "a@c/d",
            "a@-x.y",
            "https://x.y/@a",
        ] {
            assert!(Handle::parse(bad).is_none(), "{bad}");
        }
    }
}
