//! Outgoing HTTP for federation: a client with timeouts, a body size limit, few redirects
//! and a guard against private addresses; signed GETs of remote actors (with the instance
//! actor's key), and storing those actors as `accounts` rows.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;
use url::Url;

use super::signatures::sign_request;
use super::store;
use crate::db::models::{Account, NewAccount};
use crate::db::schema::{account_keys, accounts};
use crate::db::{DbConn, ids, is_unique_violation};
use crate::domain::links::safe_profile_url;
use crate::error::{AppError, ErrorKind};
use crate::service::Services;

/// Largest document read from another server.
pub const MAX_FETCH_BYTES: usize = 1024 * 1024;
/// Connect + whole-request timeout.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 3;

const ACCEPT_AP: &str = "application/activity+json";

/// Why a remote document could not be had. Messages are safe to show to the peer.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refused address: {0}")]
    Refused(String),
    /// A server we do not federate with (see `service::domain_blocks`).
    #[error("this server does not federate with {0}")]
    Blocked(String),
    #[error("request failed: {0}")]
    Http(String),
    #[error("remote answered {0}")]
    Status(u16),
    #[error("response larger than {MAX_FETCH_BYTES} bytes")]
    TooLarge,
    #[error("invalid document: {0}")]
    Invalid(String),
    #[error("{0}")]
    Internal(String),
}

impl From<AppError> for FetchError {
    fn from(e: AppError) -> Self {
        e.log();
        FetchError::Internal("internal error".into())
    }
}

/// IPv4 ranges a federation request must not reach (IANA special-purpose registry and
/// RFC 6890 / 5735 / 5737 / 6598 / 2544 / 5771): (network, prefix length, what it is).
const SPECIAL_V4: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(0, 0, 0, 0), 8, "this network"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "private"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space (CGN)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "loopback"),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "private"),
    (Ipv4Addr::new(192, 0, 0, 0), 24, "IETF protocol assignments"),
    (
        Ipv4Addr::new(192, 0, 2, 0),
        24,
        "documentation (TEST-NET-1)",
    ),
    (
        Ipv4Addr::new(192, 88, 99, 0),
        24,
        "6to4 relay anycast (deprecated)",
    ),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "private"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "documentation (TEST-NET-2)",
    ),
    (
        Ipv4Addr::new(203, 0, 113, 0),
        24,
        "documentation (TEST-NET-3)",
    ),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "multicast"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "reserved, and broadcast"),
];

/// IPv6 ranges a federation request must not reach, whatever they carry.
const SPECIAL_V6: &[(Ipv6Addr, u8, &str)] = &[
    (
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 0),
        96,
        "unspecified, loopback, IPv4-compatible (deprecated)",
    ),
    (
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, 0, 0),
        48,
        "local-use NAT64",
    ),
    (
        Ipv6Addr::new(0x100, 0, 0, 0, 0, 0, 0, 0),
        64,
        "discard-only",
    ),
    (
        Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0),
        23,
        "IETF protocol assignments (Teredo, benchmarking, ORCHID)",
    ),
    (
        Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0),
        32,
        "documentation",
    ),
    (
        Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0),
        20,
        "documentation",
    ),
    (
        Ipv6Addr::new(0x5f00, 0, 0, 0, 0, 0, 0, 0),
        16,
        "segment routing (SRv6 SIDs)",
    ),
    (
        Ipv6Addr::new(0xfc00, 0, 0, 0, 0, 0, 0, 0),
        7,
        "unique local",
    ),
    (Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0), 10, "link-local"),
    (
        Ipv6Addr::new(0xfec0, 0, 0, 0, 0, 0, 0, 0),
        10,
        "site-local (deprecated)",
    ),
    (Ipv6Addr::new(0xff00, 0, 0, 0, 0, 0, 0, 0), 8, "multicast"),
];

fn in_v4(ip: Ipv4Addr, (net, len, _): &(Ipv4Addr, u8, &str)) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(*net) & mask
}

fn in_v6(ip: Ipv6Addr, (net, len, _): &(Ipv6Addr, u8, &str)) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(*len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(*net) & mask
}

/// The IPv4 addresses an IPv6 address leads to: IPv4-mapped `::ffff:a.b.c.d`, IPv4-
/// translated (SIIT) `::ffff:0:a.b.c.d`, IPv4-compatible `::a.b.c.d`, NAT64
/// `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::/48`, and Teredo `2001:0:SSSS:SSSS::/64`
/// (the server, and the client in the last 32 bits, inverted).
fn embedded_v4(v6: Ipv6Addr) -> Vec<Ipv4Addr> {
    let s = v6.segments();
    let low = Ipv4Addr::from(u128::from(v6) as u32);
    let pair = |a: u16, b: u16| Ipv4Addr::from((u32::from(a) << 16) | u32::from(b));
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0)
        || (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0)
        || (s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0; 4])
    {
        vec![low]
    } else if s[0] == 0x2002 {
        vec![pair(s[1], s[2])]
    } else if s[0] == 0x2001 && s[1] == 0 {
        vec![pair(s[2], s[3]), Ipv4Addr::from(!u32::from(low))]
    } else {
        Vec::new()
    }
}

/// True for addresses a public server must never be made to reach: loopback, private,
/// link-local, unique and site local, unspecified, multicast, broadcast, documentation,
/// benchmarking, shared and other special-purpose ranges ([`SPECIAL_V4`], [`SPECIAL_V6`]),
/// and IPv6 forms that carry such an IPv4 address (mapped, translated, NAT64, 6to4,
/// Teredo).
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => SPECIAL_V4.iter().any(|r| in_v4(v4, r)),
        IpAddr::V6(v6) => {
            SPECIAL_V6.iter().any(|r| in_v6(v6, r))
                || embedded_v4(v6)
                    .into_iter()
                    .any(|v4| is_private(IpAddr::V4(v4)))
        }
    }
}

/// A DNS resolver that drops private addresses (unless allowed), so neither a host name
/// nor a redirect can point the client at the inside network.
struct GuardedResolver {
    allow_private: bool,
    /// `--resolve` overrides: host → address.
    fixed: Arc<Vec<(String, IpAddr)>>,
}

/// Whether a `--resolve` host (`name` or `*.suffix`) covers `host`.
fn resolve_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => host.ends_with(suffix),
        _ => pattern == host,
    }
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private;
        let host = name.as_str().to_ascii_lowercase();
        let fixed: Vec<SocketAddr> = self
            .fixed
            .iter()
            .filter(|(h, _)| resolve_matches(h, &host))
            .map(|(_, ip)| SocketAddr::new(*ip, 0))
            .collect();
        Box::pin(async move {
            let found: Vec<SocketAddr> = if fixed.is_empty() {
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect()
            } else {
                fixed
            };
            let addrs: Vec<SocketAddr> = found
                .into_iter()
                .filter(|a| allow || !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host}: no public address").into());
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// Checks a URL before a request: http(s) only, and no private IP literal unless allowed.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), FetchError> {
    if url.scheme() != "https" && url.scheme() != "http" {
        return Err(FetchError::Refused(format!("scheme {}", url.scheme())));
    }
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        Some(url::Host::Domain(d)) => {
            if !allow_private && (d == "localhost" || d.ends_with(".localhost")) {
                return Err(FetchError::Refused(d.to_owned()));
            }
            return Ok(());
        }
        None => return Err(FetchError::Refused("no host".into())),
    };
    if !allow_private && is_private(ip) {
        return Err(FetchError::Refused(ip.to_string()));
    }
    Ok(())
}

/// The HTTP client federation uses for fetches and deliveries.
pub fn client(allow_private: bool, fixed: Vec<(String, IpAddr)>) -> reqwest::Client {
    client_with_roots(allow_private, fixed, Vec::new())
}

/// [`client`], also trusting `extra_roots` besides the usual web roots.
pub fn client_with_roots(
    allow_private: bool,
    fixed: Vec<(String, IpAddr)>,
    extra_roots: Vec<reqwest::Certificate>,
) -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error("too many redirects")
        } else if let Err(e) = check_url(attempt.url(), allow_private) {
            attempt.error(e.to_string())
        } else {
            attempt.follow()
        }
    });
    let mut builder = reqwest::Client::builder();
    for root in extra_roots {
        builder = builder.add_root_certificate(root);
    }
    builder
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(FETCH_TIMEOUT)
        .redirect(policy)
        .dns_resolver(Arc::new(GuardedResolver {
            allow_private,
            fixed: Arc::new(fixed),
        }))
        .user_agent(concat!("tidings/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the HTTP client builds")
}

/// Reads a body, refusing more than `MAX_FETCH_BYTES`.
pub async fn read_limited(mut res: reqwest::Response) -> Result<Vec<u8>, FetchError> {
    if res
        .content_length()
        .is_some_and(|n| n > MAX_FETCH_BYTES as u64)
    {
        return Err(FetchError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?
    {
        if body.len() + chunk.len() > MAX_FETCH_BYTES {
            return Err(FetchError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The instance actor's key id.
pub fn instance_key_id(svc: &Services) -> String {
    format!("{}/actor#main-key", svc.base_url())
}

/// GETs an ActivityStreams document, signed with the instance actor's key, and accepts it
/// only when its `id` is on the server that finally answered (after redirects): a server
/// speaks for its own objects only, so an open redirect on one server cannot make another
/// server's document pass for one of its own (issue #12). Callers still compare the `id`
/// with what they asked for.
pub async fn fetch_json(svc: &Services, url: &Url) -> Result<Value, FetchError> {
    let (doc, final_url) = fetch_json_unchecked(svc, url).await?;
    check_served_by(&doc, &final_url)?;
    Ok(doc)
}

/// The document's `id` must be on the host (and port) of `served_by`, the URL that answered.
pub fn check_served_by(doc: &Value, served_by: &Url) -> Result<(), FetchError> {
    let id =
        str_field(doc, "id").ok_or_else(|| FetchError::Invalid("document without id".into()))?;
    let id = Url::parse(&id).map_err(|_| FetchError::Invalid("document id is not a URL".into()))?;
    if authority(&id) != authority(served_by) {
        return Err(FetchError::Invalid(format!(
            "document id {id} is not on {}, the server that served it",
            authority(served_by)
        )));
    }
    Ok(())
}

/// GETs a document (signed) and returns it with the final URL after redirects.
async fn fetch_json_unchecked(svc: &Services, url: &Url) -> Result<(Value, Url), FetchError> {
    let allow = svc.config.allow_private_addresses;
    check_url(url, allow)?;
    check_federates(svc, url).await?;
    let key = store::instance_key(svc).await?;
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static(ACCEPT_AP));
    sign_request(
        &Method::GET,
        url,
        &mut headers,
        None,
        &instance_key_id(svc),
        &key.private_key_pem,
        Utc::now(),
    )
    .map_err(|e| FetchError::Internal(e.to_string()))?;
    let res = svc
        .http
        .get(url.clone())
        .headers(headers)
        .send()
        .await
        .map_err(|e| FetchError::Http(e.to_string()))?;
    if !res.status().is_success() {
        return Err(FetchError::Status(res.status().as_u16()));
    }
    let final_url = res.url().clone();
    check_federates(svc, &final_url).await?;
    let body = read_limited(res).await?;
    let doc = serde_json::from_slice(&body).map_err(|e| FetchError::Invalid(e.to_string()))?;
    Ok((doc, final_url))
}

/// Refuses a URL on a server we do not federate with (suspended, or not on the allow-list):
/// nothing is fetched from it.
pub async fn check_federates(svc: &Services, url: &Url) -> Result<(), FetchError> {
    let rules = crate::service::domain_blocks::rules(svc).await?;
    if rules.refuses_url(url) {
        tracing::debug!(%url, "not fetched: a server we do not federate with");
        return Err(FetchError::Blocked(authority(url)));
    }
    Ok(())
}

/// `host[:port]` of a URL: what "the same server" means when comparing ids.
pub fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => String::new(),
    }
}

/// The fields of a remote actor we keep.
#[derive(Debug, Clone)]
pub struct RemoteActor {
    pub id: Url,
    pub username: String,
    pub display_name: String,
    pub bio_html: String,
    pub url: Option<String>,
    pub inbox: String,
    pub shared_inbox: Option<String>,
    pub followers: Option<String>,
    /// (key id, owner, PEM) of each key the document publishes.
    pub keys: Vec<(String, String, String)>,
}

fn str_field(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

/// Longest remote user name kept (Mastodon allows up to 2048; real ones are short).
pub const MAX_REMOTE_USERNAME: usize = 100;
/// Display names of remote actors are cut to this many characters (Mastodon: 30 for its
/// own accounts, remote ones cut at 2048).
pub const MAX_REMOTE_DISPLAY_NAME: usize = 100;

/// Whether `name` is a user name we show as `@name@server`: letters, digits and `_`, with
/// `.` and `-` allowed inside (Mastodon's rule for remote accounts), at most
/// [`MAX_REMOTE_USERNAME`] long. Anything else (`xss"><script>`, spaces, `@`, `/`) would
/// be a handle that is not what it seems.
pub fn is_remote_username(name: &str) -> bool {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    !name.is_empty()
        && name.len() <= MAX_REMOTE_USERNAME
        && name.starts_with(word)
        && name.ends_with(word)
        && name.chars().all(|c| word(c) || c == '.' || c == '-')
}

/// A remote display name: trimmed, cut to [`MAX_REMOTE_DISPLAY_NAME`] characters.
fn display_name(raw: &str) -> String {
    raw.trim().chars().take(MAX_REMOTE_DISPLAY_NAME).collect()
}

/// The last path segment of an actor id, when it can serve as a user name
/// (`https://host/users/emily` → `emily`).
fn username_from_id(id: &Url) -> Option<String> {
    let last = id.path_segments()?.rev().find(|s| !s.is_empty())?;
    is_remote_username(last).then(|| last.to_owned())
}

/// Keys of one actor kept at most (`publicKey` may be an array).
pub const MAX_KEYS: usize = 10;

/// Reads an actor document fetched from `fetched_from`: its id must be on the same host.
pub fn parse_actor(doc: &Value, fetched_from: &Url) -> Result<RemoteActor, FetchError> {
    let invalid = |m: &str| FetchError::Invalid(m.to_owned());
    let id = str_field(doc, "id").ok_or_else(|| invalid("actor without id"))?;
    let id = Url::parse(&id).map_err(|_| invalid("actor id is not a URL"))?;
    if authority(&id) != authority(fetched_from) {
        return Err(invalid("actor id is on another host than its document"));
    }
    // `preferredUsername` is optional in ActivityPub (actors without a WebFinger account
    // leave it out); then the last segment of the id names the account. One that breaks
    // the user name rule is not cleaned (`bob"><x` made into `bob` could pose as another
    // account of that server) but set aside like a missing one: the id names the account,
    // or the actor is refused. (Instance actors named after a domain with a port, as
    // ours on test networks, have an id that names them.)
    let username = str_field(doc, "preferredUsername")
        .filter(|name| is_remote_username(name))
        .or_else(|| username_from_id(&id))
        .ok_or_else(|| invalid("actor without a valid preferredUsername"))?;
    let inbox = str_field(doc, "inbox").ok_or_else(|| invalid("actor without inbox"))?;
    Url::parse(&inbox).map_err(|_| invalid("inbox is not a URL"))?;
    let shared_inbox = doc
        .get("endpoints")
        .and_then(|e| str_field(e, "sharedInbox"))
        .filter(|u| Url::parse(u).is_ok());
    let keys = match doc.get("publicKey") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
    .into_iter()
    .filter_map(|k| {
        Some((
            str_field(k, "id")?,
            str_field(k, "owner").unwrap_or_else(|| id.to_string()),
            str_field(k, "publicKeyPem")?,
        ))
    })
    .take(MAX_KEYS)
    .collect();
    Ok(RemoteActor {
        username,
        display_name: display_name(&str_field(doc, "name").unwrap_or_default()),
        bio_html: ammonia::clean(&str_field(doc, "summary").unwrap_or_default()),
        url: str_field(doc, "url").map(|u| safe_profile_url(Some(&u), id.as_str())),
        inbox,
        shared_inbox,
        followers: str_field(doc, "followers"),
        keys,
        id,
    })
}

/// Fetches an actor and stores (or refreshes) it as a remote account.
pub async fn fetch_actor(
    svc: &Services,
    actor_url: &Url,
) -> Result<(Account, RemoteActor), FetchError> {
    let mut url = actor_url.clone();
    url.set_fragment(None);
    if authority(&url) == svc.config.domain {
        return Err(FetchError::Refused("our own domain".into()));
    }
    let doc = fetch_json(svc, &url).await?;
    let actor = parse_actor(&doc, &url)?;
    let account = store_actor(svc, &actor).await?;
    Ok((account, actor))
}

/// Inserts or updates the account row of a remote actor (matched by `ap_id`).
/// Two requests that fetched the same new actor at once both insert it; on PostgreSQL
/// the second insert fails on the unique `ap_id`, so it is tried once more, as an update.
pub async fn store_actor(svc: &Services, actor: &RemoteActor) -> Result<Account, FetchError> {
    let a = actor.clone();
    let first = svc.db.write(move |conn| upsert_actor(conn, &a)).await;
    let account = match first {
        Err(e) if matches!(&e.kind, ErrorKind::Conflict(m) if m == STORED_CONCURRENTLY) => {
            let a = actor.clone();
            svc.db.write(move |conn| upsert_actor(conn, &a)).await?
        }
        other => other?,
    };
    Ok(account)
}

const STORED_CONCURRENTLY: &str = "the actor was stored by another request";

/// Inserts or updates the account row of a remote actor (matched by `ap_id`) inside a
/// write transaction; the body of [`store_actor`], shared with the inbox (`Update` of an
/// actor).
pub(crate) fn upsert_actor(conn: &mut DbConn, a: &RemoteActor) -> Result<Account, AppError> {
    let pem = a.keys.first().map(|k| k.2.clone()).unwrap_or_default();
    let ap_id = a.id.to_string();
    let domain = authority(&a.id);
    let now = Utc::now().naive_utc();
    let lower = a.username.to_lowercase();
    let existing = accounts::table
        .filter(accounts::ap_id.eq(&ap_id))
        .first::<Account>(conn)
        .optional()?;
    let id = match existing {
        Some(acc) if acc.is_local() => {
            return Err(AppError::bad_request("a local account"));
        }
        Some(acc) => {
            diesel::update(accounts::table.find(acc.id))
                .set((
                    accounts::username.eq(&a.username),
                    accounts::username_lower.eq(&lower),
                    accounts::display_name.eq(&a.display_name),
                    accounts::bio.eq(&a.bio_html),
                    accounts::url.eq(&a.url),
                    accounts::inbox_url.eq(&a.inbox),
                    accounts::shared_inbox_url.eq(&a.shared_inbox),
                    accounts::followers_url.eq(&a.followers),
                    accounts::public_key_pem.eq(&pem),
                    accounts::last_fetched_at.eq(now),
                    accounts::updated_at.eq(now),
                ))
                .execute(conn)?;
            acc.id
        }
        None => {
            let id = ids::new_id();
            diesel::insert_into(accounts::table)
                .values(&NewAccount {
                    id,
                    username: &a.username,
                    username_lower: &lower,
                    domain: Some(&domain),
                    display_name: &a.display_name,
                    bio: &a.bio_html,
                    ap_id: &ap_id,
                    url: a.url.as_deref(),
                    inbox_url: Some(&a.inbox),
                    shared_inbox_url: a.shared_inbox.as_deref(),
                    followers_url: a.followers.as_deref(),
                    public_key_pem: &pem,
                    private_key_pem: None,
                    password_hash: None,
                    is_admin: false,
                    created_at: now,
                    updated_at: now,
                })
                .execute(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        AppError::conflict(STORED_CONCURRENTLY)
                    } else {
                        AppError::from(e)
                    }
                })?;
            diesel::update(accounts::table.find(id))
                .set(accounts::last_fetched_at.eq(now))
                .execute(conn)?;
            id
        }
    };
    store_keys(conn, id, a)?;
    Ok(accounts::table.find(id).first::<Account>(conn)?)
}

/// Replaces the stored keys of account `id` by the keys `a` publishes and owns.
fn store_keys(conn: &mut DbConn, id: i64, a: &RemoteActor) -> Result<(), AppError> {
    diesel::delete(account_keys::table.filter(account_keys::account_id.eq(id))).execute(conn)?;
    let mut seen = std::collections::HashSet::new();
    for (key_id, owner, pem) in &a.keys {
        if owner != a.id.as_str() || !seen.insert(key_id.as_str()) {
            continue;
        }
        diesel::insert_into(account_keys::table)
            .values((
                account_keys::account_id.eq(id),
                account_keys::key_id.eq(key_id),
                account_keys::public_key_pem.eq(pem),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A stored remote signer by the key that signed: the account that published `key_id`
/// with that key's PEM; else (accounts stored before their keys were) the account whose
/// id is `actor_url`, with its first key.
pub async fn stored_signer(
    svc: &Services,
    key_id: &str,
    actor_url: &str,
) -> Result<Option<(Account, String)>, AppError> {
    let (key_id, actor_url) = (key_id.to_owned(), actor_url.to_owned());
    svc.db
        .run(move |conn| {
            let by_key = account_keys::table
                .inner_join(accounts::table)
                .filter(account_keys::key_id.eq(&key_id))
                .filter(accounts::domain.is_not_null())
                .select((Account::as_select(), account_keys::public_key_pem))
                .first::<(Account, String)>(conn)
                .optional()?;
            if by_key.is_some() {
                return Ok(by_key);
            }
            Ok(accounts::table
                .filter(accounts::ap_id.eq(actor_url))
                .filter(accounts::domain.is_not_null())
                .first::<Account>(conn)
                .optional()?
                .map(|a| {
                    let pem = a.public_key_pem.clone();
                    (a, pem)
                }))
        })
        .await
}

/// A stored remote account by its actor id.
pub async fn stored_actor(svc: &Services, ap_id: &str) -> Result<Option<Account>, AppError> {
    let ap_id = ap_id.to_owned();
    svc.db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::ap_id.eq(ap_id))
                .filter(accounts::domain.is_not_null())
                .first::<Account>(conn)
                .optional()?)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_patterns_match_names_and_subdomains() {
        assert!(resolve_matches("alpha.test", "alpha.test"));
        assert!(!resolve_matches("alpha.test", "beta.test"));
        assert!(resolve_matches("*.fanout.test", "s17.fanout.test"));
        assert!(!resolve_matches("*.fanout.test", "fanout.test"));
        assert!(!resolve_matches("*.fanout.test", "s1.fanout.test.evil"));
    }

    /// (address, refused?, why) — the ranges of issue #12's defect 6 and the neighbours
    /// that must stay reachable.
    const ADDRESS_VECTORS: &[(&str, bool, &str)] = &[
        ("127.0.0.1", true, "loopback"),
        ("127.255.255.254", true, "loopback"),
        ("10.1.2.3", true, "private"),
        ("172.16.0.1", true, "private"),
        ("172.31.255.255", true, "private"),
        ("172.32.0.1", false, "just past 172.16/12"),
        ("192.168.0.1", true, "private"),
        ("169.254.169.254", true, "link-local (cloud metadata)"),
        ("0.0.0.0", true, "this network"),
        ("0.1.2.3", true, "this network"),
        ("100.64.0.1", true, "shared (CGN)"),
        ("100.127.255.255", true, "shared (CGN)"),
        ("100.128.0.1", false, "just past 100.64/10"),
        ("192.0.0.8", true, "IETF protocol assignments"),
        ("192.0.2.1", true, "TEST-NET-1"),
        ("192.88.99.1", true, "6to4 relay anycast"),
        ("198.18.0.1", true, "benchmarking"),
        ("198.19.255.255", true, "benchmarking"),
        ("198.20.0.1", false, "just past 198.18/15"),
        ("198.51.100.7", true, "TEST-NET-2"),
        ("203.0.113.7", true, "TEST-NET-3"),
        ("224.0.0.1", true, "multicast"),
        ("239.255.255.250", true, "multicast (SSDP)"),
        ("233.252.0.1", true, "multicast test net"),
        ("240.0.0.1", true, "reserved"),
        ("255.255.255.255", true, "broadcast"),
        ("1.1.1.1", false, "public"),
        ("8.8.8.8", false, "public"),
        ("93.184.216.34", false, "public"),
        ("223.255.255.255", false, "public, below multicast"),
        ("::", true, "unspecified"),
        ("::1", true, "loopback"),
        ("::127.0.0.1", true, "IPv4-compatible loopback"),
        ("::8.8.8.8", true, "IPv4-compatible (deprecated)"),
        ("::ffff:127.0.0.1", true, "IPv4-mapped loopback"),
        ("::ffff:7f00:1", true, "IPv4-mapped loopback, hex"),
        ("::ffff:169.254.169.254", true, "IPv4-mapped metadata"),
        ("::ffff:198.18.0.1", true, "IPv4-mapped benchmarking"),
        ("::ffff:8.8.8.8", false, "IPv4-mapped public"),
        (
            "::ffff:0:127.0.0.1",
            true,
            "IPv4-translated (SIIT) loopback",
        ),
        ("64:ff9b::127.0.0.1", true, "NAT64 of loopback"),
        ("64:ff9b::a00:1", true, "NAT64 of 10.0.0.1"),
        ("64:ff9b::169.254.169.254", true, "NAT64 of metadata"),
        (
            "64:ff9b::8.8.8.8",
            false,
            "NAT64 of a public address (DNS64 networks)",
        ),
        ("64:ff9b:1::8.8.8.8", true, "local-use NAT64"),
        ("64:ff9b:1:ffff::1", true, "local-use NAT64"),
        ("2002:7f00:1::1", true, "6to4 of 127.0.0.1"),
        ("2002:c0a8:101::1", true, "6to4 of 192.168.1.1"),
        ("2002:a9fe:a9fe::", true, "6to4 of metadata"),
        ("2002:808:808::1", false, "6to4 of a public address"),
        (
            "2001:0:4136:e378:8000:63bf:80ff:fffe",
            true,
            "Teredo, client 127.0.0.1",
        ),
        ("2001:0:c000:201::1", true, "Teredo"),
        ("2001:2::1", true, "benchmarking"),
        ("2001:10::1", true, "ORCHID"),
        ("2001:db8::1", true, "documentation"),
        ("3fff::1", true, "documentation"),
        ("100::1", true, "discard-only"),
        ("5f00::1", true, "SRv6"),
        ("fc00::1", true, "unique local"),
        ("fd00:ec2::254", true, "unique local (cloud metadata)"),
        ("fe80::1", true, "link-local"),
        ("febf::1", true, "link-local"),
        ("fec0::1", true, "site-local"),
        ("feff::1", true, "site-local"),
        ("ff02::1", true, "multicast"),
        ("ff0e::1", true, "multicast, global scope"),
        ("2606:4700::1111", false, "public"),
        ("2a00:1450:4001::200e", false, "public"),
        ("2001:4860:4860::8888", false, "public, outside 2001::/23"),
        ("2003::1", false, "public, past 6to4"),
    ];

    #[test]
    fn private_addresses() {
        for (ip, refused, why) in ADDRESS_VECTORS {
            let addr: IpAddr = ip.parse().unwrap();
            assert_eq!(is_private(addr), *refused, "{ip} ({why})");
            let url = Url::parse(&match addr {
                IpAddr::V4(_) => format!("http://{ip}/"),
                IpAddr::V6(_) => format!("http://[{ip}]/"),
            })
            .unwrap();
            assert_eq!(check_url(&url, false).is_err(), *refused, "{url} ({why})");
        }
        let u = Url::parse("http://127.0.0.1:8080/users/a").unwrap();
        assert!(check_url(&u, false).is_err());
        assert!(check_url(&u, true).is_ok());
        assert!(check_url(&Url::parse("http://localhost/").unwrap(), false).is_err());
        assert!(check_url(&Url::parse("ftp://example.com/").unwrap(), true).is_err());
        assert!(check_url(&Url::parse("https://example.com/").unwrap(), false).is_ok());
    }

    #[test]
    fn actor_ids_must_be_on_the_fetched_host() {
        let doc = serde_json::json!({
            "id": "https://a.example/users/x", "type": "Person",
            "preferredUsername": "x", "inbox": "https://a.example/users/x/inbox",
            "summary": "<p>hi<script>alert(1)</script></p>",
            "publicKey": {"id": "https://a.example/users/x#main-key",
                          "owner": "https://a.example/users/x", "publicKeyPem": "PEM"}
        });
        let a = parse_actor(&doc, &Url::parse("https://a.example/users/x").unwrap()).unwrap();
        assert_eq!(a.bio_html, "<p>hi</p>");
        assert_eq!(a.keys.len(), 1);
        assert!(parse_actor(&doc, &Url::parse("https://b.example/users/x").unwrap()).is_err());
    }

    #[test]
    fn actor_urls_are_web_links_on_the_actor_server() {
        let id = Url::parse("https://a.example/users/x").unwrap();
        let mut doc = serde_json::json!({
            "id": id.as_str(), "type": "Person", "preferredUsername": "x",
            "inbox": "https://a.example/users/x/inbox",
        });
        assert_eq!(parse_actor(&doc, &id).unwrap().url, None);
        for (url, shown) in [
            ("https://a.example/@x", "https://a.example/@x"),
            ("javascript:alert(document.cookie)", id.as_str()),
            ("data:text/html,<script>alert(1)</script>", id.as_str()),
            ("https://evil.example/@x", id.as_str()),
        ] {
            doc["url"] = url.into();
            assert_eq!(
                parse_actor(&doc, &id).unwrap().url.as_deref(),
                Some(shown),
                "{url}"
            );
        }
    }

    #[test]
    fn remote_user_names_follow_mastodon_rule_and_names_are_capped() {
        let id = Url::parse("https://a.example/users/x").unwrap();
        let mut doc = serde_json::json!({
            "id": id.as_str(), "type": "Person", "inbox": "https://a.example/inbox",
        });
        for ok in [
            "x",
            "Bob_2",
            "first.last",
            "a-b",
            "a..b",
            "_",
            &"a".repeat(100),
        ] {
            doc["preferredUsername"] = ok.into();
            assert_eq!(parse_actor(&doc, &id).unwrap().username, ok);
        }
        for bad in [
            "xss\"><script>alert(1)</script>",
            "bob\"",
            "a b",
            "bob@evil.example",
            "a/b",
            ".bob",
            "bob.",
            "-bob",
            "b\u{f6}b",
            "bob\u{202e}",
            &"a".repeat(101),
        ] {
            doc["preferredUsername"] = bad.into();
            // Set aside: the id names the account, or the actor is refused.
            assert_eq!(parse_actor(&doc, &id).unwrap().username, "x", "{bad:?}");
            let odd = Url::parse("https://a.example/users/%22%3E%3Cx").unwrap();
            let mut other = doc.clone();
            other["id"] = odd.as_str().into();
            assert!(parse_actor(&other, &odd).is_err(), "{bad:?}");
        }
        doc["preferredUsername"] = "x".into();
        doc["name"] = "\u{e9}".repeat(5000).into();
        let name = parse_actor(&doc, &id).unwrap().display_name;
        assert_eq!(name.chars().count(), MAX_REMOTE_DISPLAY_NAME);
        doc["name"] = "  Emily \u{1f600} ".into();
        assert_eq!(
            parse_actor(&doc, &id).unwrap().display_name,
            "Emily \u{1f600}"
        );
    }

    #[test]
    fn actors_without_preferred_username_are_named_by_their_id() {
        let url = Url::parse("https://a.example/emily").unwrap();
        let mut doc = serde_json::json!({
            "id": "https://a.example/emily", "type": "Person",
            "inbox": "https://a.example/emily/inbox"
        });
        assert_eq!(parse_actor(&doc, &url).unwrap().username, "emily");
        doc["preferredUsername"] = "Em".into();
        assert_eq!(parse_actor(&doc, &url).unwrap().username, "Em");
        let odd = Url::parse("https://a.example/actors/%3Cb%3E").unwrap();
        let doc = serde_json::json!({
            "id": odd.as_str(), "type": "Person", "inbox": "https://a.example/inbox"
        });
        assert!(parse_actor(&doc, &odd).is_err());
    }
}
