//! WebFinger (RFC 7033) and host-meta (RFC 6415): how `@name@domain` becomes an actor id.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::protocol::{JRD_JSON, Jrd, JrdLink, LinkList, WEBFINGER_PROFILE_PAGE, XRD_XML};
use super::{FedResult, json_as, query_param, urls};
use crate::error::AppError;
use crate::service::{Services, accounts};

/// Whom a `resource` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    /// A local account by name (any casing).
    User(String),
    /// The instance actor.
    Instance,
    /// Someone on another domain.
    Foreign,
}

/// Reads a WebFinger `resource`: `acct:name@domain` (also without `acct:`, or with a
/// leading `@`), or the URL of an actor (`/users/name`, `/actor`) or profile (`/@name`).
/// `Err` for a resource that is none of these.
pub fn parse_resource(resource: &str, domain: &str) -> Result<Resource, &'static str> {
    let resource = resource.trim();
    if resource.starts_with("http://") || resource.starts_with("https://") {
        let url = url::Url::parse(resource).map_err(|_| "resource is not a valid URL")?;
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            (None, _) => return Err("resource is not a valid URL"),
        };
        if !host.eq_ignore_ascii_case(domain) {
            return Ok(Resource::Foreign);
        }
        let path = url.path().trim_end_matches('/');
        if path == "/actor" {
            return Ok(Resource::Instance);
        }
        let name = path
            .strip_prefix("/users/")
            .or_else(|| path.strip_prefix("/@"))
            .filter(|n| !n.is_empty() && !n.contains('/'))
            .ok_or("resource is not an account URL")?;
        return Ok(Resource::User(name.to_owned()));
    }
    let acct = resource
        .strip_prefix("acct:")
        .unwrap_or(resource)
        .trim_start_matches('@');
    let (name, host) = acct
        .rsplit_once('@')
        .ok_or("resource must be acct:name@domain")?;
    if name.is_empty() || host.is_empty() || name.contains([':', '/', '@']) {
        return Err("resource must be acct:name@domain");
    }
    if !host.eq_ignore_ascii_case(domain) {
        return Ok(Resource::Foreign);
    }
    if name.eq_ignore_ascii_case(domain) || name.eq_ignore_ascii_case("actor") {
        return Ok(Resource::Instance);
    }
    Ok(Resource::User(name.to_owned()))
}

fn link(rel: &str, kind: &str, href: String) -> JrdLink {
    JrdLink {
        rel: rel.into(),
        kind: Some(kind.into()),
        href: Some(href),
        template: None,
    }
}

/// `GET /.well-known/webfinger?resource=…`
pub async fn webfinger(State(svc): State<Services>, RawQuery(query): RawQuery) -> FedResult {
    let resource = query_param(query.as_deref(), "resource")
        .filter(|r| !r.trim().is_empty())
        .ok_or_else(|| AppError::bad_request("The resource parameter is missing."))?;
    let urls = urls(&svc);
    let jrd = match parse_resource(&resource, &urls.domain).map_err(AppError::bad_request)? {
        Resource::Foreign => return Err(AppError::not_found().into()),
        Resource::Instance => {
            let actor = urls.instance_actor();
            Jrd {
                subject: format!("acct:{0}@{0}", urls.domain),
                aliases: vec![actor.clone()],
                links: vec![
                    link(
                        WEBFINGER_PROFILE_PAGE,
                        "text/html",
                        format!("{}/", urls.base),
                    ),
                    link("self", "application/activity+json", actor),
                ],
            }
        }
        Resource::User(name) => {
            let account = accounts::find_local(&svc, &name)
                .await?
                .ok_or_else(AppError::not_found)?;
            let profile = account
                .url
                .clone()
                .unwrap_or_else(|| urls.profile(&account.username));
            Jrd {
                subject: format!("acct:{}@{}", account.username, urls.domain),
                aliases: vec![account.ap_id.clone(), profile.clone()],
                links: vec![
                    link(WEBFINGER_PROFILE_PAGE, "text/html", profile),
                    link("self", "application/activity+json", account.ap_id),
                ],
            }
        }
    };
    let mut res = json_as(StatusCode::OK, JRD_JSON, &jrd);
    res.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    Ok(res)
}

fn template(svc: &Services) -> String {
    format!("{}/.well-known/webfinger?resource={{uri}}", svc.base_url())
}

/// `GET /.well-known/host-meta`: where WebFinger is (XRD).
pub async fn host_meta(State(svc): State<Services>) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <XRD xmlns=\"http://docs.oasis-open.org/ns/xri/xrd-1.0\">\n  \
         <Link rel=\"lrdd\" template=\"{}\"/>\n</XRD>\n",
        crate::domain::text::escape(&template(&svc))
    );
    ([(header::CONTENT_TYPE, XRD_XML)], body).into_response()
}

/// `GET /.well-known/host-meta.json`: the same as JSON.
pub async fn host_meta_json(State(svc): State<Services>) -> Response {
    let body = LinkList {
        links: vec![JrdLink {
            rel: "lrdd".into(),
            kind: None,
            href: None,
            template: Some(template(&svc)),
        }],
    };
    json_as(StatusCode::OK, "application/json; charset=utf-8", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "tidings.test";

    #[test]
    fn acct_forms() {
        let alice = Ok(Resource::User("Alice".into()));
        assert_eq!(parse_resource("acct:Alice@tidings.test", D), alice);
        assert_eq!(parse_resource("Alice@TIDINGS.test", D), alice);
        assert_eq!(parse_resource("acct:@Alice@tidings.test", D), alice);
        assert_eq!(
            parse_resource("acct:bob@other.example", D),
            Ok(Resource::Foreign)
        );
        assert_eq!(
            parse_resource("acct:tidings.test@tidings.test", D),
            Ok(Resource::Instance)
        );
    }

    #[test]
    fn url_forms() {
        let alice = Ok(Resource::User("alice".into()));
        assert_eq!(parse_resource("https://tidings.test/users/alice", D), alice);
        assert_eq!(parse_resource("http://tidings.test/@alice", D), alice);
        assert_eq!(
            parse_resource("https://tidings.test/actor", D),
            Ok(Resource::Instance)
        );
        assert_eq!(
            parse_resource("https://other.example/users/alice", D),
            Ok(Resource::Foreign)
        );
        assert!(parse_resource("https://tidings.test/stories/1", D).is_err());
    }

    #[test]
    fn garbled() {
        for r in [
            "acct:",
            "alice",
            "acct:@tidings.test",
            "acct:alice@",
            "https://",
            "a/b@tidings.test",
        ] {
            assert!(parse_resource(r, D).is_err(), "{r}");
        }
    }
}
