//! The inboxes (`POST /users/{name}/inbox`, `POST /inbox`): signature checks, the checks
//! every activity passes (actor = signer, ids on the actor's server), idempotency, and the
//! dispatch to the handlers beside this file, one file per group of activities. What
//! needs the network (missing parents of a reply) is fetched before the write
//! transaction; the effect of one activity and the record of its id are written in one
//! transaction. See docs/federation.md, "What Tidings accepts".

mod announces;
mod follows;
mod notes;
pub mod parse;
pub mod polls;
mod reports;
mod votes;
mod writer;

pub use notes::{FoundNote, resolve_note};
pub use writer::InboxWriter;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;
use url::Url;

use super::fetch::{self, RemoteActor, authority, upsert_actor};
use super::signatures::{
    DEFAULT_MAX_SKEW, SignatureError, SignatureScheme, key_id_to_actor, signature_key_id,
    verify_request, verify_request_rfc9421,
};
use super::signers::KeyFetch;
use super::{FedError, FedResult};
use crate::db::DbConn;
use crate::db::models::{Account, Post};
use crate::db::schema::{accounts, posts};
use crate::error::{AppError, ErrorKind};
use crate::service::stories::KnownTags;
use crate::service::{Services, accounts as local_accounts, domain_blocks};
use parse::id_of;

const DUPLICATE: &str = "duplicate activity";

/// The refusal of an activity whose id was seen before (nothing was written for it).
fn is_duplicate(e: &AppError) -> bool {
    matches!(&e.kind, ErrorKind::Conflict(m) if m == DUPLICATE)
}

fn unauthorized(msg: impl Into<String>) -> FedError {
    AppError::new(ErrorKind::InvalidToken(msg.into())).into()
}

fn bad_request(msg: impl Into<String>) -> FedError {
    AppError::bad_request(msg).into()
}

fn accepted() -> Response {
    StatusCode::ACCEPTED.into_response()
}

/// `POST /users/{name}/inbox`.
pub async fn user_inbox(
    State(svc): State<Services>,
    Path(name): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult {
    let answer = if local_accounts::find_local(&svc, &name).await?.is_none() {
        Err(AppError::not_found().into())
    } else {
        receive(&svc, &method, &uri, &headers, &body).await
    };
    counted(&svc, answer)
}

/// Counts the answer for `tidings_inbox_activities_total`.
fn counted(svc: &Services, answer: FedResult) -> FedResult {
    let status = match &answer {
        Ok(res) => res.status(),
        Err(super::FedError::App(e)) => e.status(),
        Err(super::FedError::Gone(_)) => StatusCode::GONE,
    };
    svc.metrics.inbox_answered(status);
    answer
}

/// `POST /inbox`: the shared inbox.
pub async fn shared_inbox(
    State(svc): State<Services>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult {
    let answer = receive(&svc, &method, &uri, &headers, &body).await;
    counted(&svc, answer)
}

fn verify(
    svc: &Services,
    scheme: SignatureScheme,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    pem: &str,
) -> Result<(), SignatureError> {
    let path_and_query = uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| uri.path().to_owned());
    let now = Utc::now();
    match scheme {
        SignatureScheme::Cavage => verify_request(
            method,
            &path_and_query,
            headers,
            body,
            pem,
            now,
            DEFAULT_MAX_SKEW,
        )
        .map(|_| ()),
        SignatureScheme::Rfc9421 => {
            let target = Url::parse(&format!("{}{path_and_query}", svc.base_url()))
                .map_err(|_| SignatureError::Malformed("request target".into()))?;
            verify_request_rfc9421(method, &target, headers, body, pem, now, DEFAULT_MAX_SKEW)
                .map(|_| ())
        }
    }
}

/// The answer when a signer's key cannot be had. It says nothing of what the remote
/// server answered (that is logged): the inbox is not a probe of other servers.
const NO_KEY: &str = "the signing key cannot be fetched";

/// Fetches the signer's actor and checks that it publishes `key_id`; `known` when the
/// actor is stored and its stored key did not verify the request. At most one fetch per
/// URL and per few minutes after a failure (or, for a known actor, after any fetch), and
/// at most [`HOST_KEY_FETCHES`](super::signers::HOST_KEY_FETCHES) per host and minute.
async fn fetch_signer(
    svc: &Services,
    key_id: &str,
    actor_url: &Url,
    known: bool,
) -> Result<(Account, String), FedError> {
    match svc
        .signers
        .may_fetch_key(actor_url.as_str(), &authority(actor_url), known)
    {
        KeyFetch::Allowed => {}
        KeyFetch::RecentlyFetched => {
            return Err(unauthorized(SignatureError::BadSignature.to_string()));
        }
        refused => {
            tracing::info!(key_id, ?refused, "signer's key not fetched");
            return Err(unauthorized(NO_KEY));
        }
    }
    let got = fetch_signer_now(svc, key_id, actor_url).await;
    svc.signers.key_fetched(actor_url.as_str(), got.is_ok());
    got.map_err(|e| {
        tracing::info!(key_id, error = %e, "signer's key cannot be had");
        unauthorized(NO_KEY)
    })
}

/// The fetched actor's account and the PEM of its key `key_id`.
async fn fetch_signer_now(
    svc: &Services,
    key_id: &str,
    actor_url: &Url,
) -> Result<(Account, String), String> {
    let (account, actor) = fetch::fetch_actor(svc, actor_url)
        .await
        .map_err(|e| e.to_string())?;
    let Some((_, owner, pem)) = actor.keys.iter().find(|(id, _, _)| id == key_id) else {
        return Err(format!("the actor {} does not publish the key", actor.id));
    };
    if owner != actor.id.as_str() {
        return Err(format!("the key is owned by {owner}, not {}", actor.id));
    }
    Ok((account, pem.clone()))
}

/// The request must be addressed to us: its `Host` (signed, for cavage) is our domain. A
/// signature made for a request to another server, replayed here, is refused.
fn check_host(svc: &Services, uri: &Uri, headers: &HeaderMap) -> Result<(), FedError> {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.as_str().to_owned()))
        .unwrap_or_default();
    if same_host(&host, &svc.config.domain, &svc.config.scheme) {
        Ok(())
    } else {
        Err(unauthorized(format!(
            "the request is signed for another server than {}",
            svc.config.domain
        )))
    }
}

/// Whether the `Host` value `host` names `domain` (`host[:port]`), ignoring case and the
/// scheme's default port.
fn same_host(host: &str, domain: &str, scheme: &str) -> bool {
    let default_port = if scheme == "https" { ":443" } else { ":80" };
    let norm = |h: &str| {
        let h = h.trim().to_ascii_lowercase();
        match h.strip_suffix(default_port) {
            Some(bare) => bare.to_owned(),
            None => h,
        }
    };
    !host.is_empty() && norm(host) == norm(domain)
}

/// The account whose key signed the request (cavage or RFC 9421), for the inbox's POSTs
/// (`body`: the body, whose digest must be signed) and signed GETs of our objects (`None`).
/// The request must be addressed to us. Refetches a known actor once when its stored key
/// fails (keys rotate). A suspended actor is refused.
pub(crate) async fn signed_by(
    svc: &Services,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Option<&[u8]>,
) -> Result<Account, FedError> {
    let (scheme, key_id) = signature_key_id(headers).map_err(|e| unauthorized(e.to_string()))?;
    check_host(svc, uri, headers)?;
    let actor_url = key_id_to_actor(&key_id).map_err(|e| unauthorized(e.to_string()))?;
    refuse_blocked(svc, &actor_url).await?;
    let check = |pem: &str| verify(svc, scheme, method, uri, headers, body, pem);
    let generation = svc.signers.generation();
    let cached = svc
        .signers
        .get(&key_id)
        .filter(|(_, pem)| check(pem).is_ok());
    let (verified, stored) = match cached {
        Some(known) => (Some(known), true),
        None => match fetch::stored_signer(svc, &key_id, actor_url.as_str()).await? {
            Some((known, pem)) if check(&pem).is_ok() => (Some((known, pem)), true),
            Some(_) => (None, true),
            None => (None, false),
        },
    };
    let (signer, pem) = match verified {
        Some(known) => known,
        None => {
            let (fresh, pem) = fetch_signer(svc, &key_id, &actor_url, stored).await?;
            check(&pem).map_err(|e| unauthorized(e.to_string()))?;
            (fresh, pem)
        }
    };
    if signer.suspended_at.is_some() {
        return Err(AppError::new(ErrorKind::Denied("the actor is suspended".into())).into());
    }
    svc.signers.put(&key_id, &signer, &pem, generation);

    Ok(signer)
}

/// Refuses (403) a signer on a server we do not federate with (suspended, or not on the
/// allow-list), before its key is fetched or anything is stored.
async fn refuse_blocked(svc: &Services, actor_url: &Url) -> Result<(), FedError> {
    let rules = domain_blocks::rules(svc).await?;
    let host = authority(actor_url);
    if let Some(why) = rules.refusal(&host) {
        tracing::info!(domain = %host, reason = why, "refused: a server we do not federate with");
        return Err(AppError::new(ErrorKind::Denied(format!(
            "this server does not federate with {host}"
        )))
        .into());
    }
    Ok(())
}

/// Checks the signature and the activity, then applies it. Answers 202.
async fn receive(
    svc: &Services,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> FedResult {
    let activity: Value =
        serde_json::from_slice(body).map_err(|e| bad_request(format!("malformed JSON: {e}")))?;
    if !activity.is_object() {
        return Err(bad_request("an activity must be a JSON object"));
    }

    let signer = signed_by(svc, method, uri, headers, Some(body)).await?;

    // The signer must be the actor, and the activity must come from the actor's server.
    let actor =
        id_of(activity.get("actor")).ok_or_else(|| bad_request("activity without actor"))?;
    if actor != signer.ap_id {
        return Err(AppError::new(ErrorKind::Denied(format!(
            "the signer {} is not the activity's actor {actor}",
            signer.ap_id
        )))
        .into());
    }
    let id = id_of(activity.get("id")).ok_or_else(|| bad_request("activity without id"))?;
    let id_url = Url::parse(&id).map_err(|_| bad_request("the activity id is not a URL"))?;
    let actor_host = Url::parse(&actor)
        .map(|u| authority(&u))
        .unwrap_or_default();
    if authority(&id_url) != actor_host {
        return Err(bad_request("the activity id is not on the actor's server"));
    }
    let kind = activity
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    check_object_origin(&kind, &activity, &actor_host)?;
    if kind == "Flag"
        && domain_blocks::rules(svc)
            .await?
            .rejects_reports(&actor_host)
    {
        tracing::info!(domain = %actor_host, "refused: a report from a server whose reports are rejected");
        return Err(AppError::new(ErrorKind::Denied(format!(
            "reports from {actor_host} are not accepted"
        )))
        .into());
    }

    // What needs the network, before the write transaction.
    let prepared = match kind.as_str() {
        "Create" => notes::prepare_create(svc, &signer, &activity).await?,
        "Update" => notes::prepare_update(&signer, &activity)?,
        "Announce" => announces::prepare(svc, &activity).await?,
        _ => Prepared::Nothing,
    };

    let ctx = Ctx {
        base: svc.base_url().to_owned(),
        signer_id: signer.id,
        signer_ap_id: signer.ap_id.clone(),
    };
    let job = writer::Job {
        id,
        kind,
        activity,
        prepared,
        ctx,
    };
    let forget = matches!(job.kind.as_str(), "Update" | "Delete");
    let done = svc.inbox.apply(&svc.db, job).await;
    if forget {
        // It may have changed its key or deleted itself.
        svc.signers.forget(&signer.ap_id);
    }
    match done {
        Ok(()) => Ok(accepted()),
        Err(e) if is_duplicate(&e) => {
            tracing::debug!("duplicate activity ignored");
            Ok(accepted())
        }
        Err(e) => Err(e.into()),
    }
}

/// How often the record of received activity ids is pruned.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(60 * 60);

/// Records deleted at most per statement (bounds how long the write lock is held).
const PRUNE_BATCH: i64 = 1_000;

/// Deletes the records of activities received longer ago than `--inbox-retention-days`;
/// returns how many went. A delivery seen again within the retention is still ignored as
/// a duplicate; after it, its signature (12 hours at most) has long expired.
pub async fn prune_seen_activities(svc: &Services) -> Result<usize, AppError> {
    use crate::db::schema::inbox_activities as seen;
    let cutoff = Utc::now().naive_utc() - svc.config.inbox_retention;
    let mut total = 0;
    loop {
        let n = svc
            .db
            .write(move |conn| {
                let old: Vec<String> = seen::table
                    .select(seen::ap_id)
                    .filter(seen::received_at.lt(cutoff))
                    .limit(PRUNE_BATCH)
                    .load(conn)?;
                Ok(diesel::delete(seen::table.filter(seen::ap_id.eq_any(old))).execute(conn)?)
            })
            .await?;
        total += n;
        if (n as i64) < PRUNE_BATCH {
            return Ok(total);
        }
    }
}

/// Prunes at start and every [`PRUNE_EVERY`] (see [`prune_seen_activities`]).
pub fn start_pruning(svc: Services) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(PRUNE_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match prune_seen_activities(&svc).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, "old inbox activity ids pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning inbox activity ids failed"),
            }
        }
    })
}

/// Who sent a verified activity, and where we are.
pub(crate) struct Ctx {
    /// `scheme://domain` of this instance.
    pub base: String,
    /// The account row of the verified actor.
    pub signer_id: i64,
    pub signer_ap_id: String,
}

/// What was fetched or parsed for an activity before its transaction.
pub(crate) enum Prepared {
    Nothing,
    /// `Create`: the notes to store, parents first (fetched ancestors, then the object).
    /// A reply whose thread cannot be had comes with its topmost note `unresolved`.
    Notes(Vec<notes::Resolved>),
    /// `Update` of a note.
    Edit(Box<notes::Resolved>),
    /// `Update` of the actor itself.
    Actor(Box<RemoteActor>),
    /// `Create` of votes on our polls.
    PollVotes(Vec<polls::IncomingVote>),
    /// An activity a group announced, confirmed at its origin.
    Announced(Box<announces::Announced>),
}

impl Prepared {
    /// The hashtags of the notes to store or edit.
    fn hashtags(&self) -> impl Iterator<Item = &str> {
        let prepared = match self {
            Prepared::Announced(a) => &a.prepared,
            other => other,
        };
        let notes: &[notes::Resolved] = match prepared {
            Prepared::Notes(chain) => chain,
            Prepared::Edit(note) => std::slice::from_ref(note),
            _ => &[],
        };
        notes
            .iter()
            .flat_map(|r| r.note.hashtags.iter().map(String::as_str))
    }
}

/// The object of a `Create`, `Update` or `Delete` is the actor's own: its id must be on the
/// actor's server. (Other activities name objects of ours, or, for `Announce`, anyone's.)
fn check_object_origin(kind: &str, activity: &Value, actor_host: &str) -> Result<(), FedError> {
    if !matches!(kind, "Create" | "Update" | "Delete") {
        return Ok(());
    }
    // One object, or (GoToSocial's poll votes) an array of them: each must be the actor's.
    let objects = parse::many(activity.get("object"));
    if objects.is_empty() {
        return Err(bad_request(format!("{kind} without object")));
    }
    for object in objects {
        let object = id_of(Some(object))
            .ok_or_else(|| bad_request(format!("{kind} of an object without id")))?;
        if parse::host_of(&object) != actor_host {
            return Err(bad_request(format!(
                "the object {object} is not on the actor's server"
            )));
        }
    }
    Ok(())
}

/// Ids of `Undo`: the undone activity must be the actor's own.
fn undone_activity(ctx: &Ctx, activity: &Value) -> Result<(String, Option<String>), AppError> {
    let object = activity.get("object");
    let inner_id = id_of(object).ok_or_else(|| AppError::bad_request("Undo without object"))?;
    let mut inner_kind = None;
    if let Some(Value::Object(inner)) = object {
        if id_of(inner.get("actor")).is_some_and(|a| a != ctx.signer_ap_id) {
            return Err(AppError::new(ErrorKind::Denied(
                "the undone activity is not the actor's".into(),
            )));
        }
        inner_kind = inner.get("type").and_then(Value::as_str).map(str::to_owned);
    }
    if parse::host_of(&inner_id) != parse::host_of(&ctx.signer_ap_id) {
        return Err(AppError::bad_request(
            "the undone activity is not on the actor's server",
        ));
    }
    Ok((inner_id, inner_kind))
}

/// The local account an actor id names (`{base}/users/{name}`), when it exists and is not
/// suspended.
pub(crate) fn local_target(
    conn: &mut DbConn,
    base: &str,
    object: &str,
) -> Result<Option<Account>, AppError> {
    let Some(name) = object
        .strip_prefix(base)
        .and_then(|p| p.strip_prefix("/users/").or_else(|| p.strip_prefix("/@")))
        .filter(|n| !n.is_empty() && !n.contains('/'))
    else {
        return Ok(None);
    };
    Ok(accounts::table
        .filter(accounts::username_lower.eq(name.to_ascii_lowercase()))
        .filter(accounts::domain.is_null())
        .filter(accounts::suspended_at.is_null())
        .first::<Account>(conn)
        .optional()?)
}

/// A stored post (ours or a remote one) by its ActivityPub id, deleted ones included.
pub(crate) fn post_by_ap_id(conn: &mut DbConn, ap_id: &str) -> Result<Option<Post>, AppError> {
    Ok(crate::native!(conn, |c| posts::table
        .filter(posts::ap_id.eq(ap_id))
        .select(Post::as_select())
        .first::<Post>(c)
        .optional())?)
}

/// Applies one verified activity, inside the write transaction that records its id.
/// `known`: tags known to exist (read for the whole batch at once).
fn apply(
    conn: &mut DbConn,
    ctx: &Ctx,
    kind: &str,
    activity: &Value,
    prepared: &Prepared,
    known: &KnownTags,
) -> Result<(), AppError> {
    match (kind, prepared) {
        ("Create", Prepared::Notes(chain)) => notes::create(conn, ctx, chain, known),
        ("Create", Prepared::PollVotes(votes)) => polls::apply_votes(conn, ctx, votes),
        ("Update", Prepared::Edit(note)) => notes::update(conn, ctx, note, known),
        ("Update", Prepared::Actor(actor)) => {
            upsert_actor(conn, actor)?;
            Ok(())
        }
        ("Delete", _) => notes::delete(conn, ctx, activity),
        ("Follow", _) => follows::follow(conn, ctx, activity),
        ("Accept", _) => follows::answer(conn, ctx, activity, true),
        ("Reject", _) => follows::answer(conn, ctx, activity, false),
        ("Like" | "Dislike" | "EmojiReact", _) => votes::react(conn, ctx, activity),
        ("Announce", Prepared::Announced(a)) => announces::announced(conn, ctx, activity, a, known),
        ("Announce", Prepared::Notes(fetched)) => {
            announces::announce(conn, ctx, activity, fetched, known)
        }
        ("Announce", _) => announces::announce(conn, ctx, activity, &[], known),
        ("Flag", _) => reports::flag(conn, ctx, activity),
        ("Undo", _) => {
            let (inner_id, inner_kind) = undone_activity(ctx, activity)?;
            match inner_kind.as_deref() {
                Some("Follow") => follows::undo_follow(conn, ctx, activity),
                Some("Like" | "Dislike" | "EmojiReact") => {
                    votes::undo(conn, ctx, &inner_id).map(|_| ())
                }
                Some("Announce") => announces::undo(conn, ctx, &inner_id).map(|_| ()),
                Some(other) => {
                    tracing::debug!(kind = other, "Undo of an unsupported type ignored");
                    Ok(())
                }
                // Only the id: whatever of the actor's carries it goes.
                None => {
                    if !votes::undo(conn, ctx, &inner_id)?
                        && !announces::undo(conn, ctx, &inner_id)?
                    {
                        follows::undo_follow(conn, ctx, activity)?;
                    }
                    Ok(())
                }
            }
        }
        (other, _) => {
            tracing::debug!(kind = other, "activity type not handled, ignored");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::same_host;

    #[test]
    fn hosts_compare_without_case_or_default_port() {
        assert!(same_host("Social.Example", "social.example", "https"));
        assert!(same_host("social.example:443", "social.example", "https"));
        assert!(same_host("localhost:8080", "localhost:8080", "http"));
        assert!(same_host("tidings.test:80", "tidings.test", "http"));
        assert!(!same_host("social.example:80", "social.example", "https"));
        assert!(!same_host("other.example", "social.example", "https"));
        assert!(!same_host("social.example.evil", "social.example", "https"));
        assert!(!same_host("localhost:8081", "localhost:8080", "http"));
        assert!(!same_host("", "social.example", "https"));
    }
}
