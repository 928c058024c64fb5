//! Follows: a remote `Follow` of a local account (stored, answered with an `Accept` through
//! the delivery queue), its `Undo`, and the `Accept` / `Reject` of a Follow one of our
//! accounts sent.

use chrono::Utc;
use diesel::prelude::*;
use serde_json::{Value, json};

use super::parse::id_of;
use super::{Ctx, local_target};
use crate::db::models::{Account, Follow};
use crate::db::schema::{accounts, follows};
use crate::db::{DbConn, ids};
use crate::error::{AppError, ErrorKind};
use crate::federation::delivery;
use crate::service::notifications::{self, Kind};

/// `Follow` of a local account: record the follow (once) and queue an `Accept`.
pub(super) fn follow(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let (base, follower_id) = (ctx.base.as_str(), ctx.signer_id);
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
pub(super) fn undo_follow(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let (base, follower_id) = (ctx.base.as_str(), ctx.signer_id);
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

/// `Accept` (`accepted`) or `Reject` of a Follow one of our accounts sent to the actor: the
/// object is the Follow's id or the Follow itself (actor: our account, object: the remote
/// actor). An Accept marks the follow accepted (so the actor's posts reach the home
/// timeline); a Reject removes it. A Follow we do not know is ignored.
pub(super) fn answer(
    conn: &mut DbConn,
    ctx: &Ctx,
    activity: &Value,
    accepted: bool,
) -> Result<(), AppError> {
    let object = activity.get("object");
    let follow_id = id_of(object).ok_or_else(|| AppError::bad_request("answer without object"))?;
    let mut row = follows::table
        .filter(follows::ap_id.eq(&follow_id))
        .filter(follows::followed_id.eq(ctx.signer_id))
        .select(follows::id)
        .first::<i64>(conn)
        .optional()?;
    if row.is_none()
        && let Some(Value::Object(inner)) = object
    {
        if id_of(inner.get("object")).is_some_and(|o| o != ctx.signer_ap_id) {
            return Err(AppError::new(ErrorKind::Denied(
                "the answered Follow is not addressed to the actor".into(),
            )));
        }
        if let Some(ours) = id_of(inner.get("actor"))
            && let Some(local) = local_target(conn, &ctx.base, &ours)?
        {
            row = follows::table
                .filter(follows::follower_id.eq(local.id))
                .filter(follows::followed_id.eq(ctx.signer_id))
                .select(follows::id)
                .first::<i64>(conn)
                .optional()?;
        }
    }
    let Some(row) = row else {
        tracing::debug!(follow_id, "answer to an unknown Follow ignored");
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
