//! `Announce` (a share, "boost") of a post we have, and its `Undo`: stored as a boost
//! (see `service::boosts`): counted in the post's `share_count` (`reblogs_count` in the
//! client API), listed in `reblogged_by`, and notified to the post's author.

use diesel::prelude::*;
use serde_json::Value;

use super::parse::id_of;
use super::{Ctx, post_by_ap_id};
use crate::db::DbConn;
use crate::db::schema::{announces, posts};
use crate::error::AppError;
use crate::service::{boosts, lock_post};

/// Stores a share once per account and post. Shares of posts we do not have are ignored
/// (not fetched).
pub(super) fn announce(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let id = id_of(activity.get("id")).unwrap_or_default();
    let object = id_of(activity.get("object"))
        .ok_or_else(|| AppError::bad_request("Announce without object"))?;
    let Some(post) = post_by_ap_id(conn, &object)? else {
        tracing::debug!(object, "Announce of an unknown object ignored");
        return Ok(());
    };
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Ok(());
    }
    let post = lock_post(conn, post.id)?;
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
