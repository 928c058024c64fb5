//! Direct conversations (issue #13, item 3): the threads holding direct posts an account
//! wrote or is mentioned in, newest message first, as the "Messages" page and
//! `/api/v1/conversations` show them.
//!
//! A conversation is keyed by its thread's root (a direct story, or the story a direct
//! reply belongs to). They are read from `posts` and `mentions` (the account's own direct
//! posts by the `(account_id, id)` index, those mentioning it by the
//! `mentions (account_id, post_id)` index); only what the account did with each is stored
//! (`conversation_marks`: read up to, removed up to a post id), so a new direct post in a
//! removed conversation brings it back, unread.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::Services;
use super::posts::{PostView, load_seen};
use super::relationships::{AccountView, load_accounts};
use super::timelines::{Paged, Range};
use super::visibility::DIRECT;
use crate::db::DbConn;
use crate::db::schema::{conversation_marks as marks, mentions, posts};
use crate::error::AppError;

/// The most direct posts read to find an account's conversations (newest first, each way).
const MAX_SCANNED: i64 = 10_000;

#[derive(Debug, Clone)]
pub struct ConversationView {
    /// The thread root's id.
    pub id: i64,
    pub unread: bool,
    /// The others in the conversation (the last message's author and the accounts it
    /// mentions, without the viewer).
    pub accounts: Vec<AccountView>,
    pub last: PostView,
}

impl ConversationView {
    /// The page of the last message.
    pub fn path(&self) -> String {
        if self.last.is_story() {
            format!("/stories/{}", self.last.id)
        } else {
            format!("/replies/{}", self.last.id)
        }
    }

    /// The headline of a conversation started by a direct story.
    pub fn headline(&self) -> Option<&str> {
        self.last.headline.as_deref()
    }

    pub fn last_ago(&self) -> String {
        crate::domain::time::ago_now(&self.last.created_at)
    }
}

/// One conversation as found: its root, its newest direct post, and whether that post is
/// unread (newer than the viewer's read mark, and not the viewer's own).
#[derive(Debug, Clone, Copy)]
struct Found {
    root: i64,
    last: i64,
    unread: bool,
}

/// The viewer's conversations not removed, newest message first.
fn find(conn: &mut DbConn, viewer: i64) -> Result<Vec<Found>, AppError> {
    let mine: Vec<(i64, Option<i64>)> = posts::table
        .filter(posts::account_id.eq(viewer))
        .filter(posts::visibility.eq(DIRECT))
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .order(posts::id.desc())
        .limit(MAX_SCANNED)
        .select((posts::id, posts::thread_root_id))
        .load(conn)?;
    let to_me: Vec<(i64, Option<i64>)> = mentions::table
        .inner_join(posts::table)
        .filter(mentions::account_id.eq(viewer))
        .filter(posts::visibility.eq(DIRECT))
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .order(mentions::post_id.desc())
        .limit(MAX_SCANNED)
        .select((posts::id, posts::thread_root_id))
        .load(conn)?;
    let my_ids: HashSet<i64> = mine.iter().map(|(id, _)| *id).collect();
    let mut last_of: HashMap<i64, i64> = HashMap::new();
    for (id, root) in mine.into_iter().chain(to_me) {
        let last = last_of.entry(root.unwrap_or(id)).or_insert(id);
        *last = (*last).max(id);
    }
    if last_of.is_empty() {
        return Ok(Vec::new());
    }
    let roots: Vec<i64> = last_of.keys().copied().collect();
    let stored: HashMap<i64, (i64, i64)> = marks::table
        .filter(marks::account_id.eq(viewer))
        .filter(marks::root_id.eq_any(&roots))
        .select((marks::root_id, marks::read_up_to, marks::removed_up_to))
        .load::<(i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(root, read, removed)| (root, (read, removed)))
        .collect();
    let mut found: Vec<Found> = last_of
        .into_iter()
        .filter_map(|(root, last)| {
            let (read, removed) = stored.get(&root).copied().unwrap_or((0, 0));
            let mine = my_ids.contains(&last);
            (last > removed).then_some(Found {
                root,
                last,
                unread: !mine && last > read,
            })
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.last));
    Ok(found)
}

/// The page of `found` (newest first) a [`Range`] asks for, keyed by the last message.
fn page(found: Vec<Found>, range: &Range) -> Vec<Found> {
    let upper = range.max_id.unwrap_or(i64::MAX);
    let limit = range.limit.max(1) as usize;
    match range.min_id {
        Some(min) => {
            let mut above: Vec<Found> = found
                .into_iter()
                .filter(|f| f.last > min && f.last < upper)
                .collect();
            // The `limit` just above `min_id`, newest first.
            let skip = above.len().saturating_sub(limit);
            above.drain(..skip);
            above
        }
        None => {
            let lower = range.since_id.unwrap_or(i64::MIN);
            found
                .into_iter()
                .filter(|f| f.last > lower && f.last < upper)
                .take(limit)
                .collect()
        }
    }
}

/// Views for found conversations, in order; those whose last message the viewer may not
/// see (removed, author suspended) are left out.
fn assemble(
    conn: &mut DbConn,
    viewer: i64,
    found: &[Found],
    base: &str,
) -> Result<Vec<ConversationView>, AppError> {
    let last_ids: Vec<i64> = found.iter().map(|f| f.last).collect();
    let lasts: HashMap<i64, PostView> = load_seen(conn, &last_ids, Some(viewer), base)?
        .into_iter()
        .filter(PostView::visible)
        .map(|p| (p.id, p))
        .collect();
    let mut others: HashMap<i64, Vec<i64>> = HashMap::new();
    for (post_id, account_id) in mentions::table
        .filter(mentions::post_id.eq_any(&last_ids))
        .select((mentions::post_id, mentions::account_id))
        .load::<(i64, i64)>(conn)?
    {
        others.entry(post_id).or_default().push(account_id);
    }
    for p in lasts.values() {
        others.entry(p.id).or_default().insert(0, p.author.id);
    }
    let mut everyone: Vec<i64> = others.values().flatten().copied().collect();
    everyone.sort_unstable();
    everyone.dedup();
    let accounts = load_accounts(conn, &everyone, base)?;
    Ok(found
        .iter()
        .filter_map(|f| {
            let last = lasts.get(&f.last)?.clone();
            let mut seen = HashSet::from([viewer]);
            let accounts = others
                .get(&f.last)
                .into_iter()
                .flatten()
                .filter(|id| seen.insert(**id))
                .filter_map(|id| accounts.get(id).cloned())
                .collect();
            Some(ConversationView {
                id: f.root,
                unread: f.unread,
                accounts,
                last,
            })
        })
        .collect())
}

/// The viewer's conversations, newest message first, paged by the last message's id.
pub async fn list(
    svc: &Services,
    viewer: i64,
    range: Range,
) -> Result<Paged<ConversationView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let found = page(find(conn, viewer)?, &range);
            let keys = found.iter().map(|f| f.last).collect();
            let items = assemble(conn, viewer, &found, &base)?;
            Ok(Paged { items, keys })
        })
        .await
}

/// How many of the viewer's conversations are unread.
pub async fn unread_count(svc: &Services, viewer: i64) -> Result<usize, AppError> {
    svc.db
        .run(move |conn| Ok(find(conn, viewer)?.iter().filter(|f| f.unread).count()))
        .await
}

/// Sets the viewer's marks on a conversation (one not found, or removed, is 404).
fn mark(
    conn: &mut DbConn,
    viewer: i64,
    root: i64,
    remove: bool,
) -> Result<Option<Found>, AppError> {
    let Some(f) = find(conn, viewer)?.into_iter().find(|f| f.root == root) else {
        return Err(AppError::not_found());
    };
    let updated = if remove {
        diesel::update(marks::table.find((viewer, root)))
            .set((
                marks::read_up_to.eq(f.last),
                marks::removed_up_to.eq(f.last),
            ))
            .execute(conn)?
    } else {
        diesel::update(marks::table.find((viewer, root)))
            .set(marks::read_up_to.eq(f.last))
            .execute(conn)?
    };
    if updated == 0 {
        diesel::insert_into(marks::table)
            .values((
                marks::account_id.eq(viewer),
                marks::root_id.eq(root),
                marks::read_up_to.eq(f.last),
                marks::removed_up_to.eq(if remove { f.last } else { 0 }),
            ))
            .execute(conn)?;
    }
    Ok((!remove).then_some(Found { unread: false, ..f }))
}

/// Marks a conversation read and returns it.
pub async fn mark_read(
    svc: &Services,
    viewer: i64,
    root: i64,
) -> Result<ConversationView, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .write(move |conn| {
            let f = mark(conn, viewer, root, false)?.ok_or_else(AppError::not_found)?;
            assemble(conn, viewer, &[f], &base)?
                .pop()
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// Removes a conversation from the viewer's list (until a new direct post in it).
pub async fn remove(svc: &Services, viewer: i64, root: i64) -> Result<(), AppError> {
    svc.db
        .write(move |conn| mark(conn, viewer, root, true).map(|_| ()))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(last: i64) -> Found {
        Found {
            root: last,
            last,
            unread: true,
        }
    }

    #[test]
    fn pages_by_last_message() {
        let all = || vec![f(9), f(7), f(5), f(3), f(1)];
        let lasts = |v: Vec<Found>| v.iter().map(|f| f.last).collect::<Vec<_>>();
        let r = |max_id, since_id, min_id, limit| Range {
            max_id,
            since_id,
            min_id,
            limit,
        };
        assert_eq!(lasts(page(all(), &r(None, None, None, 2))), [9, 7]);
        assert_eq!(lasts(page(all(), &r(Some(7), None, None, 2))), [5, 3]);
        assert_eq!(lasts(page(all(), &r(None, Some(5), None, 9))), [9, 7]);
        assert_eq!(lasts(page(all(), &r(None, None, Some(1), 2))), [5, 3]);
    }
}
