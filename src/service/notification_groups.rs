//! Grouped notifications, as Mastodon 4.3 serves them (`/api/v2/notifications`): the
//! favourites and boosts of one post, and follows, that arrive within
//! [`MAX_GROUP_SPAN_HOURS`] of their group's start share a `group_key`; every other
//! notification is a group of its own (`ungrouped-ID`). A page holds up to `limit` groups,
//! each shown by its most recent notification in the page, with its count and the latest
//! accounts behind it.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use super::Services;
use super::notification_feed::{NotificationEntry, assemble, ungrouped_key};
use super::notifications::Kind;
use super::relationships::{AccountView, load_accounts};
use super::timelines::Range;
use crate::db::DbConn;
use crate::db::models::Notification;
use crate::db::schema::notifications;
use crate::error::AppError;

/// A group spans at most this many hours from its first notification (as Mastodon).
pub const MAX_GROUP_SPAN_HOURS: i64 = 12;

/// How many accounts a group names (`sample_account_ids`, as Mastodon).
pub const SAMPLE_ACCOUNTS: i64 = 8;

/// Our kinds that may be grouped by default: favourites (up-votes), boosts, follows.
pub const GROUPABLE_KINDS: &[&str] = &["vote", "reblog", "follow"];

/// Rows read at a time while walking notifications into groups.
const BATCH: i64 = 200;

/// The group a new notification joins: the recipient's latest group of the same kind and
/// post, when it started less than [`MAX_GROUP_SPAN_HOURS`] ago; otherwise a new one.
/// `None` for kinds that are not grouped (down-votes and reactions included).
pub fn key_for_new(
    conn: &mut DbConn,
    recipient: i64,
    kind: Kind,
    post_id: Option<i64>,
    detail: &str,
    now: NaiveDateTime,
) -> Result<Option<String>, AppError> {
    let prefix = match (kind, post_id) {
        (Kind::Vote, Some(p)) if detail == "up" => format!("favourite-{p}"),
        (Kind::Reblog, Some(p)) => format!("reblog-{p}"),
        (Kind::Follow, _) => "follow".to_owned(),
        _ => return Ok(None),
    };
    let hour = now.and_utc().timestamp().div_euclid(3600);
    let mut q = notifications::table
        .filter(notifications::account_id.eq(recipient))
        .filter(notifications::kind.eq(kind.as_str()))
        .filter(notifications::group_key.is_not_null())
        .into_boxed();
    if let Some(p) = post_id {
        q = q.filter(notifications::post_id.eq(p));
    }
    let previous: Option<Option<String>> = q
        .order(notifications::id.desc())
        .select(notifications::group_key)
        .first(conn)
        .optional()?;
    let start = previous
        .flatten()
        .filter(|k| k.starts_with(&format!("{prefix}-")))
        .and_then(|k| k.rsplit('-').next().and_then(|h| h.parse::<i64>().ok()))
        .filter(|start| hour < start + MAX_GROUP_SPAN_HOURS);
    Ok(Some(format!("{prefix}-{}", start.unwrap_or(hour))))
}

/// Which notifications a listing covers.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Our kinds (from `notification_feed::ALL_KINDS`).
    pub kinds: Vec<String>,
    /// Our kinds that are grouped; the others are shown one by one.
    pub grouped: Vec<String>,
    /// Only notifications caused by this account.
    pub actor: Option<i64>,
}

impl Filter {
    /// The key a notification is grouped under here.
    fn key_of(&self, n: &Notification) -> String {
        match &n.group_key {
            Some(k) if self.grouped.iter().any(|g| g == &n.kind) => k.clone(),
            _ => ungrouped_key(n.id),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub key: String,
    /// The group's most recent notification (within the page, when paging).
    pub latest: NotificationEntry,
    pub count: i64,
    /// The latest accounts behind the group, newest first.
    pub sample_account_ids: Vec<i64>,
    /// When paging: the oldest and newest ids of the group within the page, and the time
    /// of the newest.
    pub page: Option<(i64, i64, NaiveDateTime)>,
}

#[derive(Debug, Clone, Default)]
pub struct GroupedPage {
    pub groups: Vec<Group>,
    /// Every account the groups name.
    pub accounts: Vec<AccountView>,
    /// The ids the page spans (oldest, newest), for the `Link` header.
    pub span: Option<(i64, i64)>,
}

/// The newest notification of each of `range.limit` groups, newest first (oldest first
/// from `min_id`, then turned round).
fn walk(
    conn: &mut DbConn,
    account_id: i64,
    filter: &Filter,
    range: &Range,
) -> Result<Vec<Notification>, AppError> {
    let limit = usize::try_from(range.limit).unwrap_or(1);
    let ascending = range.min_id.is_some();
    let mut lower = range.min_id.or(range.since_id).unwrap_or(i64::MIN);
    let mut upper = range.max_id.unwrap_or(i64::MAX);
    let mut seen = HashSet::new();
    let mut picked = Vec::new();
    'pages: loop {
        let mut q = notifications::table
            .filter(notifications::account_id.eq(account_id))
            .filter(notifications::kind.eq_any(filter.kinds.clone()))
            .filter(
                notifications::kind
                    .ne("vote")
                    .or(notifications::detail.ne("down")),
            )
            .filter(notifications::id.gt(lower))
            .filter(notifications::id.lt(upper))
            .select(Notification::as_select())
            .limit(BATCH)
            .into_boxed();
        if let Some(actor) = filter.actor {
            q = q.filter(notifications::actor_id.eq(actor));
        }
        q = if ascending {
            q.order(notifications::id.asc())
        } else {
            q.order(notifications::id.desc())
        };
        let rows: Vec<Notification> = q.load(conn)?;
        let full = rows.len() as i64 == BATCH;
        for row in rows {
            if ascending {
                lower = row.id;
            } else {
                upper = row.id;
            }
            if seen.insert(filter.key_of(&row)) {
                picked.push(row);
                if picked.len() == limit {
                    break 'pages;
                }
            }
        }
        if !full {
            break;
        }
    }
    if ascending {
        picked.reverse();
    }
    Ok(picked)
}

/// A group's latest notifications (up to [`SAMPLE_ACCOUNTS`]) up to `upto`, its count up
/// to `upto`, and its oldest id from `from`.
fn group_rows(
    conn: &mut DbConn,
    account_id: i64,
    key: &str,
    from: Option<i64>,
    upto: i64,
) -> Result<(Vec<Notification>, i64, Option<i64>), AppError> {
    let of_group = || {
        notifications::table
            .filter(notifications::account_id.eq(account_id))
            .filter(notifications::group_key.eq(key.to_owned()))
            .filter(notifications::id.le(upto))
    };
    let latest: Vec<Notification> = of_group()
        .order(notifications::id.desc())
        .limit(SAMPLE_ACCOUNTS)
        .select(Notification::as_select())
        .load(conn)?;
    let count: i64 = of_group().select(count_star()).first(conn)?;
    let oldest: Option<i64> = match from {
        Some(from) => of_group()
            .filter(notifications::id.ge(from))
            .select(min(notifications::id))
            .first(conn)?,
        None => None,
    };
    Ok((latest, count, oldest))
}

/// Builds groups for their representative notifications, `span` being the page's.
fn build(
    conn: &mut DbConn,
    account_id: i64,
    filter: &Filter,
    picked: Vec<Notification>,
    span: Option<(i64, i64)>,
    base: &str,
) -> Result<GroupedPage, AppError> {
    let upto = span.map_or(i64::MAX, |(_, newest)| newest);
    let from = span.map(|(oldest, _)| oldest);
    let mut partial = Vec::new();
    for row in picked {
        let key = filter.key_of(&row);
        if key.starts_with("ungrouped-") {
            let page = span.map(|_| (row.id, row.id, row.created_at));
            partial.push((key, row.clone(), 1, vec![row.actor_id], page));
            continue;
        }
        let (latest, count, oldest) = group_rows(conn, account_id, &key, from, upto)?;
        let Some(newest) = latest.first().cloned() else {
            continue;
        };
        let mut samples = Vec::new();
        for n in &latest {
            if !samples.contains(&n.actor_id) {
                samples.push(n.actor_id);
            }
        }
        let page = span.map(|_| (oldest.unwrap_or(newest.id), newest.id, newest.created_at));
        partial.push((key, newest, count, samples, page));
    }
    let latest_rows: Vec<Notification> = partial.iter().map(|p| p.1.clone()).collect();
    let entries: HashMap<i64, NotificationEntry> = assemble(conn, latest_rows, account_id, base)?
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    let all_ids: Vec<i64> = partial.iter().flat_map(|p| p.3.iter().copied()).collect();
    let accounts = load_accounts(conn, &all_ids, base)?;
    let mut groups = Vec::new();
    let mut named: Vec<AccountView> = Vec::new();
    for (key, row, count, samples, page) in partial {
        // Left out, as in the v1 list: a suspended actor or a post that is gone.
        let Some(latest) = entries.get(&row.id).cloned() else {
            continue;
        };
        let samples: Vec<i64> = samples
            .into_iter()
            .filter(|id| accounts.get(id).is_some_and(|a| !a.suspended))
            .collect();
        for id in &samples {
            if !named.iter().any(|a| a.id == *id) {
                named.push(accounts[id].clone());
            }
        }
        groups.push(Group {
            key,
            latest,
            count,
            sample_account_ids: samples,
            page,
        });
    }
    Ok(GroupedPage {
        groups,
        accounts: named,
        span,
    })
}

/// A page of the account's notification groups, newest first.
pub async fn list(
    svc: &Services,
    account_id: i64,
    filter: Filter,
    range: Range,
) -> Result<GroupedPage, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let picked = walk(conn, account_id, &filter, &range)?;
            let span = match (picked.last(), picked.first()) {
                (Some(oldest), Some(newest)) => Some((oldest.id, newest.id)),
                _ => None,
            };
            build(conn, account_id, &filter, picked, span, &base)
        })
        .await
}

/// The notifications of one group of the account (404 when it has none).
fn group_members(
    conn: &mut DbConn,
    account_id: i64,
    key: &str,
) -> Result<Vec<Notification>, AppError> {
    let q = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(
            notifications::kind
                .ne("vote")
                .or(notifications::detail.ne("down")),
        )
        .select(Notification::as_select())
        .order(notifications::id.desc())
        .into_boxed();
    let rows: Vec<Notification> = match key.strip_prefix("ungrouped-") {
        Some(id) => match id.parse::<i64>() {
            Ok(id) => q.filter(notifications::id.eq(id)).load(conn)?,
            Err(_) => Vec::new(),
        },
        None => q
            .filter(notifications::group_key.eq(key.to_owned()))
            .load(conn)?,
    };
    if rows.is_empty() {
        return Err(AppError::not_found());
    }
    Ok(rows)
}

/// One group, whole (no page): its most recent notification, count and latest accounts.
pub async fn get(svc: &Services, account_id: i64, key: String) -> Result<GroupedPage, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let rows = group_members(conn, account_id, &key)?;
            let filter = Filter {
                kinds: Vec::new(),
                grouped: GROUPABLE_KINDS.iter().map(|k| (*k).to_owned()).collect(),
                actor: None,
            };
            let page = build(
                conn,
                account_id,
                &filter,
                vec![rows[0].clone()],
                None,
                &base,
            )?;
            if page.groups.is_empty() {
                return Err(AppError::not_found());
            }
            Ok(page)
        })
        .await
}

/// Every account behind one group, newest first.
pub async fn accounts(
    svc: &Services,
    account_id: i64,
    key: String,
) -> Result<Vec<AccountView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let rows = group_members(conn, account_id, &key)?;
            let mut ids: Vec<i64> = Vec::new();
            for n in &rows {
                if !ids.contains(&n.actor_id) {
                    ids.push(n.actor_id);
                }
            }
            let mut found = load_accounts(conn, &ids, &base)?;
            Ok(ids
                .iter()
                .filter_map(|id| found.remove(id))
                .filter(|a| !a.suspended)
                .collect())
        })
        .await
}

/// Deletes every notification of one group of the account (404 when it has none).
pub async fn dismiss(svc: &Services, account_id: i64, key: String) -> Result<(), AppError> {
    svc.db
        .write(move |conn| {
            let ids: Vec<i64> = group_members(conn, account_id, &key)?
                .iter()
                .map(|n| n.id)
                .collect();
            diesel::delete(notifications::table.filter(notifications::id.eq_any(ids)))
                .execute(conn)?;
            Ok(())
        })
        .await
}

/// Unread notifications (not yet read up to by the notifications marker) of the filter's
/// kinds, counted one by one or, with `by_group`, by group; at most `cap`.
pub async fn unread_count(
    svc: &Services,
    account_id: i64,
    filter: Filter,
    by_group: bool,
    cap: i64,
) -> Result<i64, AppError> {
    svc.db
        .run(move |conn| {
            // Groups may hold many notifications: read further than the cap for them.
            let read = if by_group {
                cap.saturating_mul(10)
            } else {
                cap
            };
            let mut q = notifications::table
                .filter(notifications::account_id.eq(account_id))
                .filter(notifications::kind.eq_any(filter.kinds.clone()))
                .filter(
                    notifications::kind
                        .ne("vote")
                        .or(notifications::detail.ne("down")),
                )
                .filter(notifications::read_at.is_null())
                .select(Notification::as_select())
                .order(notifications::id.desc())
                .limit(read)
                .into_boxed();
            if let Some(actor) = filter.actor {
                q = q.filter(notifications::actor_id.eq(actor));
            }
            let rows: Vec<Notification> = q.load(conn)?;
            let n = if by_group {
                rows.iter()
                    .map(|r| filter.key_of(r))
                    .collect::<HashSet<_>>()
                    .len() as i64
            } else {
                rows.len() as i64
            };
            Ok(n.min(cap))
        })
        .await
}
