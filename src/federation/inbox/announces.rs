//! `Announce` (a share, "boost") of a post, and its `Undo`: stored as a boost (see
//! `service::boosts`): counted in the post's `share_count` (`reblogs_count` in the client
//! API), listed in `reblogged_by`, and notified to the post's author. A post we do not
//! have is fetched first, by its id, from its own server (never taken from the announcer:
//! an embedded copy is ignored), and stored like a delivered one.
//!
//! A group (FEP-1b12: Lemmy, Mbin, PieFed communities) announces the activities of its
//! members: `Create`, `Update`, `Delete` of posts and comments, `Like`/`Dislike` and their
//! `Undo`. An announced activity is handled as if its own actor had sent it, once it is
//! confirmed at its origin (the Announce proves only that the group passed it on): the
//! object of a `Create`/`Update` is fetched by its id from its author's server, the object
//! of a `Delete` must be gone there, and a vote (or its `Undo`) is fetched by its own id
//! from the voter's server. A new top-level post is also stored as the group's boost, so
//! it reaches the group's followers' home timelines and the group's page here.

use diesel::prelude::*;
use serde_json::Value;

use super::notes::{Resolved, fetch_note, with_parents};
use super::parse::{host_of, id_of, type_of};
use super::{Ctx, FedError, Prepared, bad_request, post_by_ap_id};
use crate::db::DbConn;
use crate::db::schema::{announces, posts};
use crate::error::AppError;
use crate::error::ErrorKind;
use crate::federation::fetch::{self, FetchError};
use crate::service::{Services, boosts, lock_post};

/// Before the transaction: the announced post and its thread when we do not have it,
/// fetched from the post's server (the fetched document's id must be on the server that
/// served it, and its author there too). A post that cannot be had is refused (nothing
/// is stored), with the reason.
pub(super) async fn prepare(svc: &Services, activity: &Value) -> Result<Prepared, FedError> {
    let inner = activity.get("object").filter(|o| o.is_object());
    let kind = inner.and_then(type_of).filter(|k| ANNOUNCED.contains(k));
    if let (Some(inner), Some(kind)) = (inner, kind) {
        let kind = kind.to_owned();
        return Ok(Prepared::Announced(Box::new(
            prepare_announced(svc, inner, kind).await?,
        )));
    }
    let object =
        id_of(activity.get("object")).ok_or_else(|| bad_request("Announce without object"))?;
    let key = object.clone();
    let have = svc
        .db
        .run(move |conn| Ok(post_by_ap_id(conn, &key)?.is_some()))
        .await?;
    // Ours, or one we have: nothing to fetch (an unknown one of ours is not fetched from
    // ourselves; it is ignored in the transaction).
    let ours = super::parse::host_of(&object) == super::parse::host_of(svc.base_url());
    if have || ours {
        return Ok(Prepared::Nothing);
    }
    let note = fetch_note(svc, &object).await.map_err(|e| {
        tracing::info!(object, error = %e, "announced post cannot be had: Announce refused");
        bad_request(format!(
            "the announced object cannot be had from its server: {e}"
        ))
    })?;
    Ok(Prepared::Notes(with_parents(svc, note).await?))
}

/// Stores a share once per account and post; `fetched`: the announced post and its thread
/// as fetched before the transaction (stored first). Who may boost what follows
/// [`boosts::check_boostable`] (a followers-only post only its author, a direct post
/// nobody): other shares are refused.
pub(super) fn announce(
    conn: &mut DbConn,
    ctx: &Ctx,
    activity: &Value,
    fetched: &[Resolved],
    known: &crate::service::stories::KnownTags,
) -> Result<(), AppError> {
    let id = id_of(activity.get("id")).unwrap_or_default();
    let object = match fetched.last() {
        Some(r) => {
            super::notes::create(conn, ctx, fetched, known)?;
            r.note.id.clone()
        }
        None => id_of(activity.get("object"))
            .ok_or_else(|| AppError::bad_request("Announce without object"))?,
    };
    let Some(post) = post_by_ap_id(conn, &object)? else {
        tracing::info!(object, "announced post not stored: Announce ignored");
        return Ok(());
    };
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Ok(());
    }
    let post = lock_post(conn, post.id)?;
    boosts::check_boostable(&post, ctx.signer_id)?;
    boosts::add_boost(conn, ctx.signer_id, &post, |_| id)?;
    Ok(())
}

/// `Undo` of a share by its activity id. Returns whether one went.
pub(super) fn undo(conn: &mut DbConn, ctx: &Ctx, ap_id: &str) -> Result<bool, AppError> {
    let Some(post_id) = announces::table
        .filter(announces::ap_id.eq(ap_id))
        .filter(announces::account_id.eq(ctx.signer_id))
        .select(announces::post_id)
        .first::<i64>(conn)
        .optional()?
    else {
        return Ok(false);
    };
    // The post row is locked so concurrent shares of it queue up (a deleted post keeps
    // its count as it was).
    diesel::update(posts::table.find(post_id))
        .set(posts::id.eq(posts::id))
        .execute(conn)?;
    diesel::delete(
        announces::table
            .filter(announces::ap_id.eq(ap_id))
            .filter(announces::account_id.eq(ctx.signer_id)),
    )
    .execute(conn)?;
    boosts::recount(conn, post_id)?;
    Ok(true)
}

/// Activity types a group announces that are handled as their actor's own.
const ANNOUNCED: [&str; 6] = ["Create", "Update", "Delete", "Like", "Dislike", "Undo"];

/// An announced activity, confirmed at its origin: applied as its actor's (`ctx`).
pub(crate) struct Announced {
    pub ctx: Ctx,
    pub kind: String,
    /// The activity as confirmed (for votes and their `Undo`: as its actor's server
    /// serves it).
    pub activity: Value,
    pub prepared: Prepared,
}

fn denied(msg: impl Into<String>) -> FedError {
    AppError::new(ErrorKind::Denied(msg.into())).into()
}

/// Reads and confirms an announced activity (see the module's docs). Refused with the
/// reason when it cannot be confirmed; nothing is stored then.
async fn prepare_announced(
    svc: &Services,
    inner: &Value,
    kind: String,
) -> Result<Announced, FedError> {
    let actor =
        id_of(inner.get("actor")).ok_or_else(|| bad_request("announced activity without actor"))?;
    let inner_id =
        id_of(inner.get("id")).ok_or_else(|| bad_request("announced activity without id"))?;
    if host_of(&inner_id) != host_of(&actor) || host_of(&actor).is_empty() {
        return Err(bad_request(
            "the announced activity's id is not on its actor's server",
        ));
    }
    let object = id_of(inner.get("object"))
        .ok_or_else(|| bad_request("announced activity without object"))?;
    let author = match fetch::stored_actor(svc, &actor).await? {
        Some(a) => a,
        None => {
            let url = url::Url::parse(&actor).map_err(|_| bad_request("actor is not a URL"))?;
            fetch::fetch_actor(svc, &url)
                .await
                .map_err(|e| bad_request(format!("the announced activity's actor: {e}")))?
                .0
        }
    };
    if author.suspended_at.is_some() {
        return Err(denied("the announced activity's actor is suspended"));
    }
    let refused = |e: String| {
        tracing::info!(activity = inner_id, error = %e, "announced activity not confirmed at its origin");
        bad_request(format!(
            "the announced {kind} cannot be confirmed at its origin: {e}"
        ))
    };
    let (activity, prepared) = match kind.as_str() {
        "Create" | "Update" => {
            let note = fetch_note(svc, &object).await.map_err(refused)?;
            if note.note.attributed_to != actor {
                return Err(denied(format!(
                    "the announced object is attributed to {}, not to the activity's actor",
                    note.note.attributed_to
                )));
            }
            let prepared = if kind == "Create" {
                Prepared::Notes(with_parents(svc, note).await?)
            } else {
                Prepared::Edit(Box::new(note))
            };
            (inner.clone(), prepared)
        }
        "Delete" => {
            let url = url::Url::parse(&object).map_err(|_| bad_request("object is not a URL"))?;
            match fetch::fetch_json(svc, &url).await {
                Err(FetchError::Status(404 | 410)) => {}
                Ok(doc) if type_of(&doc) == Some("Tombstone") => {}
                Ok(_) => return Err(refused("the object is still there".into())),
                Err(e) => return Err(refused(e.to_string())),
            }
            (inner.clone(), Prepared::Nothing)
        }
        // A vote or its Undo: as the voter's server serves it.
        _ => {
            let url =
                url::Url::parse(&inner_id).map_err(|_| bad_request("activity id is not a URL"))?;
            let doc = fetch::fetch_json(svc, &url)
                .await
                .map_err(|e| refused(e.to_string()))?;
            if type_of(&doc) != Some(kind.as_str())
                || id_of(doc.get("actor")).as_deref() != Some(actor.as_str())
                || id_of(doc.get("object")).as_deref() != Some(object.as_str())
            {
                return Err(refused(
                    "its origin serves another activity under its id".into(),
                ));
            }
            (doc, Prepared::Nothing)
        }
    };
    Ok(Announced {
        ctx: Ctx {
            base: svc.base_url().to_owned(),
            signer_id: author.id,
            signer_ap_id: actor,
        },
        kind,
        activity,
        prepared,
    })
}

/// Applies an announced activity as its actor's; a new top-level post is also stored as
/// the announcing group's boost (its followers' home timelines, its page here).
pub(super) fn announced(
    conn: &mut DbConn,
    ctx: &Ctx,
    activity: &Value,
    a: &Announced,
    known: &crate::service::stories::KnownTags,
) -> Result<(), AppError> {
    super::apply(conn, &a.ctx, &a.kind, &a.activity, &a.prepared, known)?;
    let Prepared::Notes(chain) = &a.prepared else {
        return Ok(());
    };
    let Some(top) = chain.last().filter(|r| r.note.in_reply_to.is_none()) else {
        return Ok(());
    };
    let Some(post) = post_by_ap_id(conn, &top.note.id)? else {
        return Ok(());
    };
    if post.deleted_at.is_some()
        || post.removed_at.is_some()
        || !matches!(post.visibility.as_str(), "public" | "unlisted")
    {
        return Ok(());
    }
    let id = id_of(activity.get("id")).unwrap_or_default();
    let post = lock_post(conn, post.id)?;
    boosts::add_boost(conn, ctx.signer_id, &post, |_| id)?;
    Ok(())
}
