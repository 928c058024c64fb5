//! The inboxes (`POST /users/{name}/inbox`, `POST /inbox`): signature checks, idempotency,
//! and the activities handled so far: `Follow` of a local account (answered with an
//! `Accept` through the delivery queue) and `Undo` of a `Follow`. Everything else is
//! accepted and ignored. See docs/federation.md, "Inbox".

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};
use url::Url;

use super::delivery;
use super::fetch::{self, authority};
use super::signatures::{
    DEFAULT_MAX_SKEW, SignatureError, SignatureScheme, key_id_to_actor, signature_key_id,
    verify_request, verify_request_rfc9421,
};
use super::{FedError, FedResult};
use crate::db::models::{Account, Follow};
use crate::db::schema::{accounts, follows, inbox_activities};
use crate::db::{DbConn, ids, is_unique_violation};
use crate::error::{AppError, ErrorKind};
use crate::service::notifications::{self, Kind};
use crate::service::{Services, accounts as local_accounts};

const DUPLICATE: &str = "duplicate activity";

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
    if local_accounts::find_local(&svc, &name).await?.is_none() {
        return Err(AppError::not_found().into());
    }
    receive(&svc, &method, &uri, &headers, &body).await
}

/// `POST /inbox`: the shared inbox.
pub async fn shared_inbox(
    State(svc): State<Services>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> FedResult {
    receive(&svc, &method, &uri, &headers, &body).await
}

/// The id of a property that is a string or an object with an `id`.
fn id_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    }
}

fn verify(
    svc: &Services,
    scheme: SignatureScheme,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
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
            Some(body),
            pem,
            now,
            DEFAULT_MAX_SKEW,
        )
        .map(|_| ()),
        SignatureScheme::Rfc9421 => {
            let target = Url::parse(&format!("{}{path_and_query}", svc.base_url()))
                .map_err(|_| SignatureError::Malformed("request target".into()))?;
            verify_request_rfc9421(
                method,
                &target,
                headers,
                Some(body),
                pem,
                now,
                DEFAULT_MAX_SKEW,
            )
            .map(|_| ())
        }
    }
}

/// Fetches the signer's actor and checks that it publishes `key_id`.
async fn fetch_signer(svc: &Services, key_id: &str, actor_url: &Url) -> Result<Account, FedError> {
    let (account, actor) = fetch::fetch_actor(svc, actor_url)
        .await
        .map_err(|e| unauthorized(format!("cannot fetch the key {key_id}: {e}")))?;
    let Some((_, owner, _)) = actor.keys.iter().find(|(id, _, _)| id == key_id) else {
        return Err(unauthorized(format!(
            "the actor {} does not publish the key {key_id}",
            actor.id
        )));
    };
    if owner != actor.id.as_str() {
        return Err(unauthorized(format!(
            "the key {key_id} is owned by {owner}, not {}",
            actor.id
        )));
    }
    Ok(account)
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

    // Who signed, and is the signature good? Refetch a known actor once when it fails:
    // keys rotate.
    let (scheme, key_id) = signature_key_id(headers).map_err(|e| unauthorized(e.to_string()))?;
    let actor_url = key_id_to_actor(&key_id).map_err(|e| unauthorized(e.to_string()))?;
    let signer = match fetch::stored_actor(svc, actor_url.as_str()).await? {
        Some(known) => {
            match verify(
                svc,
                scheme,
                method,
                uri,
                headers,
                body,
                &known.public_key_pem,
            ) {
                Ok(()) => known,
                Err(_) => {
                    let fresh = fetch_signer(svc, &key_id, &actor_url).await?;
                    verify(
                        svc,
                        scheme,
                        method,
                        uri,
                        headers,
                        body,
                        &fresh.public_key_pem,
                    )
                    .map_err(|e| unauthorized(e.to_string()))?;
                    fresh
                }
            }
        }
        None => {
            let fresh = fetch_signer(svc, &key_id, &actor_url).await?;
            verify(
                svc,
                scheme,
                method,
                uri,
                headers,
                body,
                &fresh.public_key_pem,
            )
            .map_err(|e| unauthorized(e.to_string()))?;
            fresh
        }
    };
    if signer.suspended_at.is_some() {
        return Err(AppError::new(ErrorKind::Denied("the actor is suspended".into())).into());
    }

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

    let base = svc.base_url().to_owned();
    let signer_id = signer.id;
    let done = svc
        .db
        .write(move |conn| {
            let seen = inbox_activities::table
                .find(&id)
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if seen {
                return Err(AppError::conflict(DUPLICATE));
            }
            match diesel::insert_into(inbox_activities::table)
                .values((
                    inbox_activities::ap_id.eq(&id),
                    inbox_activities::received_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)
            {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Err(AppError::conflict(DUPLICATE)),
                Err(e) => return Err(AppError::internal(e)),
            }
            apply(conn, &base, signer_id, &kind, &activity)
        })
        .await;
    match done {
        Ok(()) => Ok(accepted()),
        Err(e) if matches!(&e.kind, ErrorKind::Conflict(m) if m == DUPLICATE) => {
            tracing::debug!("duplicate activity ignored");
            Ok(accepted())
        }
        Err(e) => Err(e.into()),
    }
}

/// The local account an actor id names (`{base}/users/{name}`), when it exists and is not
/// suspended.
fn local_target(conn: &mut DbConn, base: &str, object: &str) -> Result<Option<Account>, AppError> {
    let Some(name) = object
        .strip_prefix(base)
        .and_then(|p| p.strip_prefix("/users/"))
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

/// Applies one verified activity, inside the write transaction that records its id.
fn apply(
    conn: &mut DbConn,
    base: &str,
    signer_id: i64,
    kind: &str,
    activity: &Value,
) -> Result<(), AppError> {
    match kind {
        "Follow" => follow(conn, base, signer_id, activity),
        "Accept" | "Reject" => answer_to_our_follow(conn, signer_id, kind == "Accept", activity),
        "Undo" => {
            let object = activity.get("object");
            let inner_kind = object
                .and_then(|o| o.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("");
            match (object, inner_kind) {
                (Some(Value::String(_)), _) | (Some(_), "Follow") => {
                    undo_follow(conn, base, signer_id, activity)
                }
                _ => {
                    tracing::debug!(kind = inner_kind, "Undo of an unsupported type ignored");
                    Ok(())
                }
            }
        }
        other => {
            tracing::debug!(kind = other, "activity type not handled, ignored");
            Ok(())
        }
    }
}

/// `Follow` of a local account: record the follow (once) and queue an `Accept`.
fn follow(
    conn: &mut DbConn,
    base: &str,
    follower_id: i64,
    activity: &Value,
) -> Result<(), AppError> {
    let Some(object) = id_of(activity.get("object")) else {
        return Err(AppError::bad_request("Follow without object"));
    };
    let Some(target) = local_target(conn, base, &object)? else {
        tracing::debug!(object, "Follow of an unknown account ignored");
        return Ok(());
    };
    let follower = accounts::table.find(follower_id).first::<Account>(conn)?;
    let follow_id = id_of(activity.get("id")).unwrap_or_default();
    let existing = follows::table
        .filter(follows::follower_id.eq(follower_id))
        .filter(follows::followed_id.eq(target.id))
        .select(follows::id)
        .first::<i64>(conn)
        .optional()?;
    match existing {
        Some(row) => {
            // A repeated Follow (the Accept may have been lost): keep one row, accept again.
            diesel::update(follows::table.find(row))
                .set((follows::ap_id.eq(&follow_id), follows::state.eq("accepted")))
                .execute(conn)?;
        }
        None => {
            diesel::insert_into(follows::table)
                .values(&Follow {
                    id: ids::new_id(),
                    ap_id: follow_id,
                    follower_id,
                    followed_id: target.id,
                    state: "accepted".into(),
                    created_at: Utc::now().naive_utc(),
                })
                .execute(conn)?;
            notifications::notify(conn, target.id, Kind::Follow, follower_id, None, "")?;
        }
    }
    let Some(inbox) = follower.inbox_url.clone() else {
        return Ok(());
    };
    let actor = format!("{base}/users/{}", target.username);
    let accept = json!({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": format!("{actor}#accepts/follows/{}", ids::new_id()),
        "type": "Accept",
        "actor": actor,
        "object": activity,
    });
    delivery::enqueue(
        conn,
        &inbox,
        &accept,
        &format!("{actor}#main-key"),
        Some(target.id),
    )
}

/// `Undo` of a `Follow`: the follow goes, whichever way the Follow is referenced.
fn undo_follow(
    conn: &mut DbConn,
    base: &str,
    follower_id: i64,
    activity: &Value,
) -> Result<(), AppError> {
    let object = activity.get("object");
    let follow_id = id_of(object);
    if let Some(Value::Object(inner)) = object {
        let signer = accounts::table
            .find(follower_id)
            .select(accounts::ap_id)
            .first::<String>(conn)?;
        if id_of(inner.get("actor")).is_some_and(|a| a != signer) {
            return Err(AppError::new(ErrorKind::Denied(
                "the undone Follow is not the actor's".into(),
            )));
        }
        if let Some(target) = id_of(inner.get("object"))
            && let Some(target) = local_target(conn, base, &target)?
        {
            diesel::delete(
                follows::table
                    .filter(follows::follower_id.eq(follower_id))
                    .filter(follows::followed_id.eq(target.id)),
            )
            .execute(conn)?;
        }
    }
    if let Some(follow_id) = follow_id {
        diesel::delete(
            follows::table
                .filter(follows::follower_id.eq(follower_id))
                .filter(follows::ap_id.eq(follow_id)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// `Accept` or `Reject` of a `Follow` one of our accounts sent: the follow (found by the
/// Follow's id, or by its actor and object when the peer did not echo the id) becomes
/// accepted, or goes. Only the followed account may answer.
fn answer_to_our_follow(
    conn: &mut DbConn,
    signer_id: i64,
    accepted: bool,
    activity: &Value,
) -> Result<(), AppError> {
    let object = activity.get("object");
    let mut row: Option<i64> = None;
    if let Some(id) = id_of(object) {
        row = follows::table
            .filter(follows::ap_id.eq(id))
            .filter(follows::followed_id.eq(signer_id))
            .select(follows::id)
            .first::<i64>(conn)
            .optional()?;
    }
    if row.is_none()
        && let Some(Value::Object(inner)) = object
        && let Some(follower) = id_of(inner.get("actor"))
    {
        let follower_id = accounts::table
            .filter(accounts::ap_id.eq(follower))
            .filter(accounts::domain.is_null())
            .select(accounts::id)
            .first::<i64>(conn)
            .optional()?;
        if let Some(follower_id) = follower_id {
            row = follows::table
                .filter(follows::follower_id.eq(follower_id))
                .filter(follows::followed_id.eq(signer_id))
                .select(follows::id)
                .first::<i64>(conn)
                .optional()?;
        }
    }
    let Some(row) = row else {
        tracing::debug!("Accept/Reject of an unknown Follow ignored");
        return Ok(());
    };
    if accepted {
        diesel::update(follows::table.find(row))
            .set(follows::state.eq("accepted"))
            .execute(conn)?;
    } else {
        diesel::delete(follows::table.find(row)).execute(conn)?;
    }
    Ok(())
}
