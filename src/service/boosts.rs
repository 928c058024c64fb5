//! Boosts (reblogs; `Announce` on the wire): one per account and post, local and remote
//! alike, stored in `announces`. A boost counts in the post's `share_count`
//! (`reblogs_count`), notifies the post's author, shows in the booster's followers' home
//! timelines and on the booster's profile, and a local account's boost federates as
//! `Announce` (and `Undo(Announce)` when taken back).

use std::collections::HashMap;

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::notifications::{self, Kind};
use super::posts::{PostView, load_posts, load_visible};
use super::relationships::{AccountView, accounts_page, load_accounts};
use super::timelines::{Paged, Range, keyset};
use super::{Services, lock_post};
use crate::db::models::{Account, Announce, Post};
use crate::db::schema::{announces, posts};
use crate::db::{DbConn, ids};
use crate::error::AppError;
use crate::federation::outbox;

/// A boost as lists show it: the boost's own id (its status id in the client API), its
/// ActivityPub id, who boosted and when.
#[derive(Debug, Clone)]
pub struct BoostView {
    pub id: i64,
    pub ap_id: String,
    pub by: AccountView,
    pub created_at: NaiveDateTime,
}

/// Whether `booster` may boost a post, as on Mastodon: anyone may boost a public or
/// unlisted post; a followers-only post only its author (a self-boost, which reaches the
/// author's followers, who can see the post already); a direct post nobody. The same rule
/// holds for local boosts and for incoming `Announce`s.
pub(crate) fn check_boostable(post: &Post, booster: i64) -> Result<(), AppError> {
    match post.visibility.as_str() {
        "public" | "unlisted" => Ok(()),
        "private" if post.account_id == booster => Ok(()),
        "private" => Err(AppError::field(
            "visibility",
            "Followers-only posts can be boosted only by their author",
        )),
        _ => Err(AppError::field(
            "visibility",
            "Direct posts cannot be boosted",
        )),
    }
}

/// Counts a post's boosts into `share_count`.
pub(crate) fn recount(conn: &mut DbConn, post_id: i64) -> Result<(), AppError> {
    let n: i64 = announces::table
        .filter(announces::post_id.eq(post_id))
        .count()
        .get_result(conn)?;
    diesel::update(posts::table.find(post_id))
        .set(posts::share_count.eq(n))
        .execute(conn)?;
    Ok(())
}

/// Stores a boost inside a write transaction (the post row already locked): counts it
/// and notifies the post's author. Returns the row, or the existing one when the account
/// boosted the post before (and then changes nothing).
pub(crate) fn add_boost(
    conn: &mut DbConn,
    account_id: i64,
    post: &Post,
    ap_id: impl FnOnce(i64) -> String,
) -> Result<(Announce, bool), AppError> {
    if let Some(existing) = announces::table
        .filter(announces::account_id.eq(account_id))
        .filter(announces::post_id.eq(post.id))
        .select(Announce::as_select())
        .first::<Announce>(conn)
        .optional()?
    {
        return Ok((existing, false));
    }
    let id = ids::new_id();
    let row = Announce {
        id,
        ap_id: ap_id(id),
        account_id,
        post_id: post.id,
        created_at: Utc::now().naive_utc(),
    };
    diesel::insert_into(announces::table)
        .values(&row)
        .execute(conn)?;
    recount(conn, post.id)?;
    notifications::notify(
        conn,
        post.account_id,
        Kind::Reblog,
        account_id,
        Some(post.id),
        "",
    )?;
    Ok((row, true))
}

/// Boosts a post; boosting it again returns the existing boost. 404 for a post that does
/// not exist (or that the booster cannot see). Returns the post wrapped in the boost.
pub async fn boost(svc: &Services, account: &Account, post_id: i64) -> Result<PostView, AppError> {
    let account_id = account.id;
    let base = svc.base_url().to_owned();
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            load_visible(conn, post_id, Some(account_id), &base)?;
            let post = lock_post(conn, post_id)?;
            check_boostable(&post, account_id)?;
            let ap_base = format!("{base}/boosts");
            let (row, added) = add_boost(conn, account_id, &post, |id| format!("{ap_base}/{id}"))?;
            if added {
                outbox::announced(conn, &urls, &row)?;
            }
            let mut view = load_visible(conn, post_id, Some(account_id), &base)?;
            let by = load_accounts(conn, &[account_id], &base)?
                .remove(&account_id)
                .ok_or_else(AppError::not_found)?;
            view.boost = Some(BoostView {
                id: row.id,
                ap_id: row.ap_id,
                by,
                created_at: row.created_at,
            });
            Ok(view)
        })
        .await
}

/// Takes a boost back (queuing its `Undo`); taking back a boost that is not there
/// changes nothing. Returns the post (404 when it does not exist).
pub async fn unboost(
    svc: &Services,
    account: &Account,
    post_id: i64,
) -> Result<PostView, AppError> {
    let account_id = account.id;
    let base = svc.base_url().to_owned();
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            load_visible(conn, post_id, Some(account_id), &base)?;
            lock_post(conn, post_id)?;
            if let Some(row) = announces::table
                .filter(announces::account_id.eq(account_id))
                .filter(announces::post_id.eq(post_id))
                .select(Announce::as_select())
                .first::<Announce>(conn)
                .optional()?
            {
                outbox::unannouncing(conn, &urls, &row)?;
                diesel::delete(announces::table.find(row.id)).execute(conn)?;
                recount(conn, post_id)?;
            }
            load_visible(conn, post_id, Some(account_id), &base)
        })
        .await
}

/// The accounts that boosted a post, most recent boost first; paged by the boost's id.
pub async fn boosted_by(
    svc: &Services,
    post_id: i64,
    viewer: Option<i64>,
    range: Range,
) -> Result<Paged<AccountView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            load_visible(conn, post_id, viewer, &base)?;
            let rows: Vec<(i64, i64)> = keyset!(
                announces::table
                    .filter(announces::post_id.eq(post_id))
                    .select((announces::id, announces::account_id)),
                announces::id,
                range,
                conn
            );
            accounts_page(conn, rows, &base)
        })
        .await
}

/// A boost row as timelines page it: (boost id, post id, booster, when).
pub(crate) type BoostRow = (i64, i64, i64, NaiveDateTime);

/// Merges one page of posts (keyed by their ids) with one page of boosts (keyed by the
/// boost's id) into one page, newest first, of at most `range.limit` entries, and loads
/// them in a fixed number of queries. Both keys come from the same id generator, so they
/// order in time together.
pub(crate) fn merge_page(
    conn: &mut DbConn,
    post_ids: Vec<i64>,
    boosts: Vec<BoostRow>,
    range: &Range,
    viewer: Option<i64>,
    base: &str,
) -> Result<Paged<PostView>, AppError> {
    // (key, post id, boost)
    let mut entries: Vec<(i64, i64, Option<BoostRow>)> = post_ids
        .into_iter()
        .map(|id| (id, id, None))
        .chain(boosts.into_iter().map(|b| (b.0, b.1, Some(b))))
        .collect();
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    if range.min_id.is_some() {
        // The page just after `min_id`: the oldest entries of both lists.
        let n = entries.len();
        let skip = n.saturating_sub(range.limit as usize);
        entries.drain(..skip);
    } else {
        entries.truncate(range.limit as usize);
    }
    let mut post_ids: Vec<i64> = entries.iter().map(|e| e.1).collect();
    post_ids.sort_unstable();
    post_ids.dedup();
    let views: HashMap<i64, PostView> = load_posts(conn, &post_ids, viewer, base)?
        .into_iter()
        .filter(PostView::visible)
        .map(|v| (v.id, v))
        .collect();
    let mut boosters: Vec<i64> = entries.iter().filter_map(|e| e.2.map(|b| b.2)).collect();
    boosters.sort_unstable();
    boosters.dedup();
    let boosters = load_accounts(conn, &boosters, base)?;
    let ap_ids: HashMap<i64, String> = {
        let boost_ids: Vec<i64> = entries.iter().filter_map(|e| e.2.map(|b| b.0)).collect();
        if boost_ids.is_empty() {
            HashMap::new()
        } else {
            announces::table
                .filter(announces::id.eq_any(&boost_ids))
                .select((announces::id, announces::ap_id))
                .load::<(i64, String)>(conn)?
                .into_iter()
                .collect()
        }
    };
    let keys = entries.iter().map(|e| e.0).collect();
    let items = entries
        .into_iter()
        .filter_map(|(_, post_id, boost)| {
            let mut view = views.get(&post_id)?.clone();
            if let Some((id, _, by, created_at)) = boost {
                let by = boosters.get(&by).filter(|a| !a.suspended)?.clone();
                view.boost = Some(BoostView {
                    id,
                    ap_id: ap_ids.get(&id).cloned().unwrap_or_default(),
                    by,
                    created_at,
                });
            }
            Some(view)
        })
        .collect();
    Ok(Paged { items, keys })
}
