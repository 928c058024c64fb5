//! Notifications as client apps list them: with the acting account and the post in full,
//! filtered by kind, keyset-paged, dismissable one by one or all at once.
//!
//! Down-votes notify on the web page only: client apps have no kind of notification for them.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use super::posts::{PostView, load_seen};
use super::relationships::{AccountView, load_accounts};
use super::timelines::{Paged, Range, keyset};
use crate::db::DbConn;
use crate::db::models::Notification;
use crate::db::schema::notifications;
use crate::error::AppError;

/// Every kind stored (see `notifications::Kind`).
pub const ALL_KINDS: &[&str] = &[
    "reply",
    "followed_reply",
    "mention",
    "vote",
    "reaction",
    "reblog",
    "follow",
    "poll",
];

#[derive(Debug, Clone)]
pub struct NotificationEntry {
    pub id: i64,
    /// Our kind: reply, followed_reply, mention, vote (up-votes only here), reaction, follow.
    pub kind: String,
    /// The emoji of a reaction; "up" for a vote.
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub read: bool,
    /// The group it belongs to (`service::notification_groups`).
    pub group_key: String,
    pub actor: AccountView,
    /// The post concerned (the reply itself for replies and mentions).
    pub post: Option<PostView>,
}

/// The group key of a notification shown on its own.
pub fn ungrouped_key(id: i64) -> String {
    format!("ungrouped-{id}")
}

/// Builds entries, leaving out those whose actor is suspended or whose post is gone.
pub(crate) fn assemble(
    conn: &mut DbConn,
    rows: Vec<Notification>,
    viewer: i64,
    base: &str,
) -> Result<Vec<NotificationEntry>, AppError> {
    let actor_ids: Vec<i64> = rows.iter().map(|n| n.actor_id).collect();
    let actors = load_accounts(conn, &actor_ids, base)?;
    let post_ids: Vec<i64> = rows.iter().filter_map(|n| n.post_id).collect();
    let posts: std::collections::HashMap<i64, PostView> =
        load_seen(conn, &post_ids, Some(viewer), base)?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    Ok(rows
        .into_iter()
        .filter_map(|n| {
            let actor = actors.get(&n.actor_id).filter(|a| !a.suspended)?.clone();
            let post = match n.post_id {
                Some(id) => Some(posts.get(&id).filter(|p| p.visible())?.clone()),
                None => None,
            };
            Some(NotificationEntry {
                id: n.id,
                kind: n.kind,
                detail: n.detail,
                created_at: n.created_at,
                read: n.read_at.is_some(),
                group_key: n.group_key.unwrap_or_else(|| ungrouped_key(n.id)),
                actor,
                post,
            })
        })
        .collect())
}

/// The account's notifications of the given kinds (from [`ALL_KINDS`]), newest first.
pub async fn list(
    svc: &Services,
    account_id: i64,
    kinds: Vec<String>,
    range: Range,
) -> Result<Paged<NotificationEntry>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let rows: Vec<Notification> = keyset!(
                notifications::table
                    .filter(notifications::account_id.eq(account_id))
                    .filter(notifications::kind.eq_any(&kinds))
                    .filter(
                        notifications::kind
                            .ne("vote")
                            .or(notifications::detail.ne("down")),
                    )
                    .select(Notification::as_select()),
                notifications::id,
                range,
                conn
            );
            let keys = rows.iter().map(|n| n.id).collect();
            let items = assemble(conn, rows, account_id, &base)?;
            Ok(Paged { items, keys })
        })
        .await
}

/// One of the account's notifications.
pub async fn get(svc: &Services, account_id: i64, id: i64) -> Result<NotificationEntry, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let row = notifications::table
                .find(id)
                .filter(notifications::account_id.eq(account_id))
                // Down-votes are not shown to apps, as in the list.
                .filter(
                    notifications::kind
                        .ne("vote")
                        .or(notifications::detail.ne("down")),
                )
                .first::<Notification>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            assemble(conn, vec![row], account_id, &base)?
                .pop()
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// Deletes one of the account's notifications (404 if it is not theirs).
pub async fn dismiss(svc: &Services, account_id: i64, id: i64) -> Result<(), AppError> {
    svc.db
        .write(move |conn| {
            let n = diesel::delete(
                notifications::table
                    .filter(notifications::id.eq(id))
                    .filter(notifications::account_id.eq(account_id)),
            )
            .execute(conn)?;
            if n == 0 {
                return Err(AppError::not_found());
            }
            Ok(())
        })
        .await
}

/// Deletes all the account's notifications.
pub async fn clear(svc: &Services, account_id: i64) -> Result<(), AppError> {
    svc.db
        .write(move |conn| {
            diesel::delete(notifications::table.filter(notifications::account_id.eq(account_id)))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// Marks the account's notifications up to `last_read_id` as read (the web page's unread
/// count follows the app's notifications marker).
pub async fn mark_read_up_to(
    svc: &Services,
    account_id: i64,
    last_read_id: i64,
) -> Result<(), AppError> {
    svc.db
        .write(move |conn| {
            diesel::update(
                notifications::table
                    .filter(notifications::account_id.eq(account_id))
                    .filter(notifications::id.le(last_read_id))
                    .filter(notifications::read_at.is_null()),
            )
            .set(notifications::read_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
            Ok(())
        })
        .await
}
