//! Notifications: replies to your posts or to stories you follow, mentions, and votes and
//! reactions on your posts; with an unread count.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::views::AuthorView;
use super::{PAGE_SIZE, Page, Services};
use crate::db::models::{AccountBrief, Notification, Post};
use crate::db::schema::{accounts, notifications, posts};
use crate::db::{DbConn, ids};
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A reply to your post.
    Reply,
    /// A reply in a story you follow.
    FollowedReply,
    Mention,
    Vote,
    Reaction,
    /// A boost (`Announce`) of your post.
    Reblog,
    /// Someone followed your account.
    Follow,
    /// A poll you voted in or wrote has ended.
    Poll,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Reply => "reply",
            Kind::FollowedReply => "followed_reply",
            Kind::Mention => "mention",
            Kind::Vote => "vote",
            Kind::Reaction => "reaction",
            Kind::Reblog => "reblog",
            Kind::Follow => "follow",
            Kind::Poll => "poll",
        }
    }
}

/// Records a notification for `recipient` (never for someone's own act).
pub fn notify(
    conn: &mut DbConn,
    recipient: i64,
    kind: Kind,
    actor: i64,
    post_id: Option<i64>,
    detail: &str,
) -> Result<(), AppError> {
    if recipient == actor {
        return Ok(());
    }
    let now = Utc::now().naive_utc();
    let group_key =
        super::notification_groups::key_for_new(conn, recipient, kind, post_id, detail, now)?;
    diesel::insert_into(notifications::table)
        .values(&Notification {
            id: ids::new_id(),
            account_id: recipient,
            kind: kind.as_str().to_owned(),
            actor_id: actor,
            post_id,
            detail: detail.to_owned(),
            created_at: now,
            read_at: None,
            group_key,
        })
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    pub actor: AuthorView,
    /// Link to the post concerned, and what to call it.
    pub post_path: Option<String>,
    pub post_title: String,
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub unread: bool,
}

impl NotificationView {
    /// What happened, in words (the actor and post are shown beside it).
    pub fn summary(&self) -> String {
        match self.kind.as_str() {
            "reply" => "replied to your post".to_owned(),
            "followed_reply" => "replied in a story you follow".to_owned(),
            "mention" => "mentioned you".to_owned(),
            "vote" if self.detail == "down" => "voted your post down".to_owned(),
            "vote" => "voted your post up".to_owned(),
            "reaction" => format!("reacted {} to your post", self.detail),
            "reblog" => "boosted your post".to_owned(),
            "follow" => "followed you".to_owned(),
            "poll" if self.detail == "own" => "your poll has ended".to_owned(),
            "poll" => "a poll you voted in has ended".to_owned(),
            other => other.to_owned(),
        }
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }
}

pub async fn unread_count(svc: &Services, account_id: i64) -> Result<i64, AppError> {
    svc.db
        .run(move |conn| {
            Ok(notifications::table
                .filter(notifications::account_id.eq(account_id))
                .filter(notifications::read_at.is_null())
                .count()
                .get_result(conn)?)
        })
        .await
}

/// Newest first; the authors and posts of a page are loaded in two queries.
pub async fn list(
    svc: &Services,
    account_id: i64,
    before: Option<i64>,
) -> Result<Page<NotificationView>, AppError> {
    svc.db
        .run(move |conn| {
            let mut rows: Vec<Notification> = notifications::table
                .filter(notifications::account_id.eq(account_id))
                .filter(notifications::id.lt(before.unwrap_or(i64::MAX)))
                .order(notifications::id.desc())
                .limit(PAGE_SIZE + 1)
                .load(conn)?;
            let next_before = if rows.len() as i64 > PAGE_SIZE {
                rows.truncate(PAGE_SIZE as usize);
                rows.last().map(|n| n.id)
            } else {
                None
            };
            let actor_ids: Vec<i64> = rows.iter().map(|n| n.actor_id).collect();
            let post_ids: Vec<i64> = rows.iter().filter_map(|n| n.post_id).collect();
            let actors: HashMap<i64, AccountBrief> = accounts::table
                .filter(accounts::id.eq_any(&actor_ids))
                .select(AccountBrief::as_select())
                .load::<AccountBrief>(conn)?
                .into_iter()
                .map(|a| (a.id, a))
                .collect();
            let loaded: Vec<Post> = posts::table
                .filter(posts::id.eq_any(&post_ids))
                .load::<Post>(conn)?;
            // A notification about a post the account may not see is not shown.
            let posts: HashMap<i64, Post> =
                super::visibility::keep_visible(conn, Some(account_id), loaded, Post::audience)?
                    .into_iter()
                    .map(|p| (p.id, p))
                    .collect();
            let items = rows
                .into_iter()
                .filter_map(|n| {
                    let actor = actors.get(&n.actor_id)?.clone();
                    let post = match n.post_id {
                        Some(id) => Some(posts.get(&id)?),
                        None => None,
                    };
                    Some(NotificationView {
                        id: n.id,
                        kind: n.kind,
                        actor: actor.into(),
                        post_path: post.map(super::replies::post_path),
                        post_title: post.map(post_title).unwrap_or_default(),
                        detail: n.detail,
                        created_at: n.created_at,
                        unread: n.read_at.is_none(),
                    })
                })
                .collect();
            Ok(Page { items, next_before })
        })
        .await
}

/// A short name for a post: its headline, or the start of a reply.
fn post_title(p: &Post) -> String {
    if p.deleted_at.is_some() {
        return "(deleted)".to_owned();
    }
    match &p.headline {
        Some(h) => h.clone(),
        None => {
            let text: String = p.body.chars().take(80).collect();
            if p.body.chars().count() > 80 {
                format!("{text}…")
            } else {
                text
            }
        }
    }
}

pub async fn mark_all_read(svc: &Services, account_id: i64) -> Result<(), AppError> {
    svc.db
        .write(move |conn| {
            diesel::update(
                notifications::table
                    .filter(notifications::account_id.eq(account_id))
                    .filter(notifications::read_at.is_null()),
            )
            .set(notifications::read_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
            Ok(())
        })
        .await
}
