//! `Announce` (a share, "boost") of a post we have, and its `Undo`: counted in the post's
//! `share_count` (`reblogs_count` in the client API).

use chrono::Utc;
use diesel::prelude::*;
use serde_json::Value;

use super::parse::id_of;
use super::{Ctx, post_by_ap_id};
use crate::db::models::Announce;
use crate::db::schema::{announces, posts};
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::service::lock_post;

/// Counts a share once per account and post. Shares of posts we do not have are ignored
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
    lock_post(conn, post.id)?;
    let exists = announces::table
        .filter(announces::account_id.eq(ctx.signer_id))
        .filter(announces::post_id.eq(post.id))
        .count()
        .get_result::<i64>(conn)?
        > 0;
    if !exists {
        diesel::insert_into(announces::table)
            .values(&Announce {
                id: ids::new_id(),
                ap_id: id,
                account_id: ctx.signer_id,
                post_id: post.id,
                created_at: Utc::now().naive_utc(),
            })
            .execute(conn)?;
        recount(conn, post.id)?;
    }
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
    recount(conn, post_id)?;
    Ok(true)
}

fn recount(conn: &mut DbConn, post_id: i64) -> Result<(), AppError> {
    let n: i64 = announces::table
        .filter(announces::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    diesel::update(posts::table.find(post_id))
        .set(posts::share_count.eq(n))
        .execute(conn)?;
    Ok(())
}
