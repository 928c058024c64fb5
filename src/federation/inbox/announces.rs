//! `Announce` (a share, "boost") of a post, and its `Undo`: stored as a boost (see
//! `service::boosts`): counted in the post's `share_count` (`reblogs_count` in the client
//! API), listed in `reblogged_by`, and notified to the post's author. A post we do not
//! have is fetched first, by its id, from its own server (never taken from the announcer:
//! an embedded copy is ignored), and stored like a delivered one.

use diesel::prelude::*;
use serde_json::Value;

use super::notes::{Resolved, fetch_note, with_parents};
use super::parse::id_of;
use super::{Ctx, FedError, Prepared, bad_request, post_by_ap_id};
use crate::db::DbConn;
use crate::db::schema::{announces, posts};
use crate::error::AppError;
use crate::service::{Services, boosts, lock_post};

/// Before the transaction: the announced post and its thread when we do not have it,
/// fetched from the post's server (the fetched document's id must be on the server that
/// served it, and its author there too). A post that cannot be had is refused (nothing
/// is stored), with the reason.
pub(super) async fn prepare(svc: &Services, activity: &Value) -> Result<Prepared, FedError> {
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
