//! Account follows (local and remote accounts), relationship flags, and accounts as
//! client apps show them: profile data with follower, following and post counts.

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use super::notifications::{self, Kind};
use super::timelines::{Paged, Range, keyset};
use super::visibility::{PUBLIC, UNLISTED};
use crate::db::models::{Account, Follow};
use crate::db::schema::{accounts, follows, posts};
use crate::db::{DbConn, ids, is_unique_violation};
use crate::domain::text::render;
use crate::error::{AppError, ErrorKind};
use crate::federation::outbox;

/// The columns of an account that profiles need (no keys, no password hash).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: i64,
    username: String,
    domain: Option<String>,
    display_name: String,
    bio: String,
    ap_id: String,
    url: Option<String>,
    created_at: NaiveDateTime,
    suspended_at: Option<NaiveDateTime>,
}

/// An account with its counts, as the client API shows it.
#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: i64,
    pub username: String,
    /// `None` for local accounts.
    pub domain: Option<String>,
    pub display_name: String,
    /// The bio as typed.
    pub bio: String,
    /// Safe HTML of the bio.
    pub note_html: String,
    pub ap_id: String,
    /// The profile page.
    pub url: String,
    pub created_at: NaiveDateTime,
    pub suspended: bool,
    pub followers_count: i64,
    pub following_count: i64,
    /// Public and unlisted stories and replies that are not deleted or removed.
    pub statuses_count: i64,
    pub last_status_at: Option<NaiveDateTime>,
}

impl AccountView {
    /// `name` for local accounts, `name@domain` for remote ones (Mastodon's `acct`).
    pub fn acct(&self) -> String {
        match &self.domain {
            Some(d) => format!("{}@{}", self.username, d),
            None => self.username.clone(),
        }
    }

    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }
}

/// Accounts with their counts, in a fixed number of queries (four) whatever their number.
pub fn load_accounts(
    conn: &mut DbConn,
    ids: &[i64],
    base_url: &str,
) -> Result<HashMap<i64, AccountView>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<AccountRow> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .select(AccountRow::as_select())
        .load(conn)?;
    let followers: HashMap<i64, i64> = follows::table
        .filter(follows::followed_id.eq_any(ids))
        .filter(follows::state.eq("accepted"))
        .group_by(follows::followed_id)
        .select((follows::followed_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let following: HashMap<i64, i64> = follows::table
        .filter(follows::follower_id.eq_any(ids))
        .filter(follows::state.eq("accepted"))
        .group_by(follows::follower_id)
        .select((follows::follower_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect();
    let statuses: HashMap<i64, (i64, Option<NaiveDateTime>)> = posts::table
        .filter(posts::account_id.eq_any(ids))
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        // Shown to everybody: public and unlisted posts only.
        .filter(posts::visibility.eq_any([PUBLIC, UNLISTED]))
        .group_by(posts::account_id)
        .select((
            posts::account_id,
            diesel::dsl::count_star(),
            diesel::dsl::max(posts::created_at),
        ))
        .load::<(i64, i64, Option<NaiveDateTime>)>(conn)?
        .into_iter()
        .map(|(id, n, last)| (id, (n, last)))
        .collect();
    Ok(rows
        .into_iter()
        .map(|a| {
            let (statuses_count, last_status_at) =
                statuses.get(&a.id).copied().unwrap_or((0, None));
            let url = a
                .url
                .clone()
                .unwrap_or_else(|| format!("{base_url}/@{}", a.username));
            // A local bio is text (rendered here); a remote one is HTML from its server,
            // stored sanitised, and only sanitised again (rendering it would escape it a
            // second time: `&lt;p&gt;` in the API's `note`).
            let note_html = if a.domain.is_some() {
                crate::domain::html::sanitize(&a.bio)
            } else {
                render(&a.bio, base_url)
            };
            let view = AccountView {
                id: a.id,
                note_html,
                username: a.username,
                domain: a.domain,
                display_name: a.display_name,
                bio: a.bio,
                ap_id: a.ap_id,
                url,
                created_at: a.created_at,
                suspended: a.suspended_at.is_some(),
                followers_count: followers.get(&a.id).copied().unwrap_or(0),
                following_count: following.get(&a.id).copied().unwrap_or(0),
                statuses_count,
                last_status_at,
            };
            (view.id, view)
        })
        .collect())
}

/// Loads accounts in the order of `ids` (missing ones are left out).
pub fn load_accounts_ordered(
    conn: &mut DbConn,
    ids: &[i64],
    base_url: &str,
) -> Result<Vec<AccountView>, AppError> {
    let mut map = load_accounts(conn, ids, base_url)?;
    Ok(ids.iter().filter_map(|id| map.remove(id)).collect())
}

/// A page of accounts from keyset rows of (key, account id): the accounts in the rows'
/// order, suspended ones left out, paged by the rows' keys (favourited_by, reblogged_by,
/// followers and following).
pub fn accounts_page(
    conn: &mut DbConn,
    rows: Vec<(i64, i64)>,
    base_url: &str,
) -> Result<Paged<AccountView>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|(_, a)| *a).collect();
    let items = load_accounts_ordered(conn, &ids, base_url)?
        .into_iter()
        .filter(|a| !a.suspended)
        .collect();
    Ok(Paged {
        items,
        keys: rows.into_iter().map(|(k, _)| k).collect(),
    })
}

/// One account by id (suspended accounts too: the entity says so).
pub async fn account(svc: &Services, id: i64) -> Result<AccountView, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            load_accounts(conn, &[id], &base)?
                .remove(&id)
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// Accounts by id, in the order given.
pub async fn accounts(svc: &Services, ids: Vec<i64>) -> Result<Vec<AccountView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| load_accounts_ordered(conn, &ids, &base))
        .await
}

/// What the viewer and another account are to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relationship {
    pub id: i64,
    pub following: bool,
    pub followed_by: bool,
    /// A follow request waits for the other side (a remote account's `Accept`).
    pub requested: bool,
}

fn relationships_in(
    conn: &mut DbConn,
    viewer: i64,
    ids: &[i64],
) -> Result<Vec<Relationship>, AppError> {
    let outgoing: Vec<(i64, String)> = follows::table
        .filter(follows::follower_id.eq(viewer))
        .filter(follows::followed_id.eq_any(ids))
        .select((follows::followed_id, follows::state))
        .load(conn)?;
    let incoming: Vec<i64> = follows::table
        .filter(follows::followed_id.eq(viewer))
        .filter(follows::follower_id.eq_any(ids))
        .filter(follows::state.eq("accepted"))
        .select(follows::follower_id)
        .load(conn)?;
    Ok(ids
        .iter()
        .map(|&id| {
            let out = outgoing.iter().find(|(t, _)| *t == id).map(|(_, s)| s);
            Relationship {
                id,
                following: out.is_some_and(|s| s == "accepted"),
                requested: out.is_some_and(|s| s == "pending"),
                followed_by: incoming.contains(&id),
            }
        })
        .collect())
}

/// The viewer's relationship to each account, in the order given (two queries).
pub async fn relationships(
    svc: &Services,
    viewer: i64,
    ids: Vec<i64>,
) -> Result<Vec<Relationship>, AppError> {
    svc.db
        .run(move |conn| relationships_in(conn, viewer, &ids))
        .await
}

/// Follows an account. A local account: accepted at once, and notified. A remote account:
/// the follow waits (`requested`) until its server answers the `Follow` sent to it with an
/// `Accept`. Following twice is following once (a pending request is sent again).
pub async fn follow(
    svc: &Services,
    follower: &Account,
    target_id: i64,
) -> Result<Relationship, AppError> {
    let follower_id = follower.id;
    if follower_id == target_id {
        return Err(AppError::field("id", "You cannot follow yourself."));
    }
    let base = svc.base_url().to_owned();
    let urls = crate::federation::urls(svc);
    let done = svc
        .db
        .write(move |conn| {
            let target = accounts::table
                .find(target_id)
                .select((accounts::domain, accounts::suspended_at))
                .first::<(Option<String>, Option<NaiveDateTime>)>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            if target.1.is_some() {
                return Err(AppError::not_found());
            }
            let remote = target.0.is_some();
            let existing = follows::table
                .filter(follows::follower_id.eq(follower_id))
                .filter(follows::followed_id.eq(target_id))
                .first::<Follow>(conn)
                .optional()?;
            if let Some(f) = existing.as_ref().filter(|f| f.state == "pending") {
                // The Accept may have been lost: ask again.
                outbox::follow_requested(conn, &urls, f)?;
            } else if existing.is_none() {
                let id = ids::new_id();
                let follow = Follow {
                    id,
                    ap_id: format!("{base}/follows/{id}"),
                    follower_id,
                    followed_id: target_id,
                    state: if remote { "pending" } else { "accepted" }.into(),
                    created_at: Utc::now().naive_utc(),
                };
                let inserted = diesel::insert_into(follows::table)
                    .values(&follow)
                    .execute(conn);
                match inserted {
                    Ok(_) if remote => outbox::follow_requested(conn, &urls, &follow)?,
                    Ok(_) => {
                        notifications::notify(
                            conn,
                            target_id,
                            Kind::Follow,
                            follower_id,
                            None,
                            "",
                        )?;
                    }
                    // A concurrent request followed first: roll back (PostgreSQL allows
                    // nothing more in this transaction); following twice is following once.
                    Err(e) if is_unique_violation(&e) => {
                        return Err(AppError::conflict(ALREADY_FOLLOWING));
                    }
                    Err(e) => return Err(AppError::internal(e)),
                }
            }
            Ok(())
        })
        .await;
    match done {
        Ok(()) => {}
        Err(e) if matches!(&e.kind, ErrorKind::Conflict(m) if m == ALREADY_FOLLOWING) => {}
        Err(e) => return Err(e),
    }
    Ok(relationships(svc, follower_id, vec![target_id])
        .await?
        .remove(0))
}

const ALREADY_FOLLOWING: &str = "already following";

/// Stops following (or withdraws a request); unfollowing someone not followed changes nothing.
pub async fn unfollow(
    svc: &Services,
    follower: &Account,
    target_id: i64,
) -> Result<Relationship, AppError> {
    let follower_id = follower.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            accounts::table
                .find(target_id)
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let existing = follows::table
                .filter(follows::follower_id.eq(follower_id))
                .filter(follows::followed_id.eq(target_id))
                .first::<Follow>(conn)
                .optional()?;
            if let Some(f) = &existing {
                outbox::follow_undone(conn, &urls, f)?;
            }
            diesel::delete(
                follows::table
                    .filter(follows::follower_id.eq(follower_id))
                    .filter(follows::followed_id.eq(target_id)),
            )
            .execute(conn)?;
            Ok(relationships_in(conn, follower_id, &[target_id])?.remove(0))
        })
        .await
}

/// Who follows an account, most recent follow first; paged by the follow's id.
pub async fn followers(
    svc: &Services,
    account_id: i64,
    range: Range,
) -> Result<Paged<AccountView>, AppError> {
    follow_list(svc, account_id, range, true).await
}

/// Whom an account follows, most recent follow first; paged by the follow's id.
pub async fn following(
    svc: &Services,
    account_id: i64,
    range: Range,
) -> Result<Paged<AccountView>, AppError> {
    follow_list(svc, account_id, range, false).await
}

async fn follow_list(
    svc: &Services,
    account_id: i64,
    range: Range,
    followers: bool,
) -> Result<Paged<AccountView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            accounts::table
                .find(account_id)
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let rows: Vec<(i64, i64)> = if followers {
                keyset!(
                    follows::table
                        .filter(follows::followed_id.eq(account_id))
                        .filter(follows::state.eq("accepted"))
                        .select((follows::id, follows::follower_id)),
                    follows::id,
                    range,
                    conn
                )
            } else {
                keyset!(
                    follows::table
                        .filter(follows::follower_id.eq(account_id))
                        .filter(follows::state.eq("accepted"))
                        .select((follows::id, follows::followed_id)),
                    follows::id,
                    range,
                    conn
                )
            };
            accounts_page(conn, rows, &base)
        })
        .await
}

/// An account by `name`, `@name`, `name@our.domain` or `name@remote.domain`.
pub async fn lookup(svc: &Services, acct: &str) -> Result<AccountView, AppError> {
    let found = super::reports::account_by_handle(svc, acct)
        .await?
        .ok_or_else(AppError::not_found)?;
    account(svc, found.id).await
}
