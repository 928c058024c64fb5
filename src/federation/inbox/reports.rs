//! `Flag`: a report from another server about our accounts or posts, filed in the
//! moderation queue with the actor (a person or an instance actor) as the reporter.

use std::collections::HashSet;

use diesel::prelude::*;
use serde_json::Value;

use super::parse::{id_of, ids_of};
use super::{Ctx, local_target, post_by_ap_id};
use crate::db::schema::reports;
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::service::reports::{MAX_REASON, ReportTarget, insert_report};

/// The most distinct objects of one `Flag` that are looked at; the rest are left out
/// (logged). Mastodon's Flags name an account and the posts picked in its report form.
pub const MAX_FLAG_OBJECTS: usize = 100;

/// One report per reported post (or, when no post is named, per account), with the
/// Flag's `content` (Mastodon) or `summary` (Lemmy) as the reason. A Flag naming nothing
/// of ours is ignored. An object named twice counts once, and a report this actor already
/// has open about the same target is updated rather than made again (see
/// [`insert_report`]).
pub(super) fn flag(conn: &mut DbConn, ctx: &Ctx, activity: &Value) -> Result<(), AppError> {
    let flag_id = id_of(activity.get("id")).unwrap_or_default();
    let mut objects = ids_of(activity.get("object"));
    let mut seen = HashSet::new();
    objects.retain(|o| seen.insert(o.clone()));
    if objects.len() > MAX_FLAG_OBJECTS {
        tracing::info!(
            flag_id,
            objects = objects.len(),
            kept = MAX_FLAG_OBJECTS,
            "Flag names more objects than are looked at; the rest are left out"
        );
        objects.truncate(MAX_FLAG_OBJECTS);
    }
    let mut accounts = Vec::new();
    let mut posts = Vec::new();
    for object in objects {
        if let Some(account) = local_target(conn, &ctx.base, &object)? {
            if !accounts.contains(&account.id) {
                accounts.push(account.id);
            }
        } else if let Some(post) = post_by_ap_id(conn, &object)?
            && post.local
            && post.deleted_at.is_none()
            && post.removed_at.is_none()
            && !posts.contains(&post.id)
        {
            posts.push(post.id);
        }
    }
    let targets: Vec<ReportTarget> = if posts.is_empty() {
        accounts.into_iter().map(ReportTarget::Account).collect()
    } else {
        posts.into_iter().map(ReportTarget::Post).collect()
    };
    if targets.is_empty() {
        tracing::debug!(flag_id, "Flag of nothing of ours ignored");
        return Ok(());
    }
    let reason = ["content", "summary"]
        .iter()
        .find_map(|k| activity.get(*k).and_then(Value::as_str))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .unwrap_or("(no reason given)");
    let reason: String = reason.chars().take(MAX_REASON).collect();
    for (n, target) in targets.into_iter().enumerate() {
        let ap_id = if n == 0 {
            flag_id.clone()
        } else {
            format!("{flag_id}#{n}")
        };
        let known = reports::table
            .filter(reports::ap_id.eq(&ap_id))
            .count()
            .get_result::<i64>(conn)?
            > 0;
        if !known {
            insert_report(
                conn,
                ids::new_id(),
                ap_id,
                Some(ctx.signer_id),
                target,
                reason.clone(),
            )?;
        }
    }
    Ok(())
}
