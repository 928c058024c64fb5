//! Timelines for client apps: public (all, local or remote), by tag, by account, home
//! (people one follows, and oneself), favourites (up-votes) and bookmarks.
//!
//! All are keyset-paged on an id, Mastodon style: `max_id` (older than), `since_id` (newer
//! than, newest first) and `min_id` (the page just after it: loaded oldest first, then
//! turned around so every page is newest first).

use diesel::prelude::*;

use super::Services;
use super::boosts::{BoostRow, merge_page};
use super::posts::{PostView, load_seen};
use super::stories::find_tag_id;
use super::visibility::visible_to;
use crate::db::schema::{accounts, announces, bookmarks, post_tags, posts, tags, votes};
use crate::domain::text::normalize_tag;
use crate::error::AppError;

/// Which page of a list: Mastodon's `max_id`, `since_id`, `min_id` and `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

impl Range {
    pub const MAX_LIMIT: i64 = 40;

    /// The newest `limit` items.
    pub fn newest(limit: i64) -> Range {
        Range {
            max_id: None,
            since_id: None,
            min_id: None,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }
}

/// One page of a list, newest first, with the key each item was paged by (a post id for
/// most timelines, a vote, bookmark, follow or notification id for the others). `keys`
/// covers every row of the page, also rows left out afterwards, so the next page starts
/// where this one ended.
#[derive(Debug, Clone)]
pub struct Paged<T> {
    pub items: Vec<T>,
    pub keys: Vec<i64>,
}

impl<T> Paged<T> {
    pub fn empty() -> Paged<T> {
        Paged {
            items: Vec::new(),
            keys: Vec::new(),
        }
    }
}

/// Loads one page of a query keyed by the column `$key` according to a [`Range`], newest
/// first. The query must not be ordered or limited yet.
macro_rules! keyset {
    ($query:expr, $key:expr, $range:expr, $conn:expr) => {{
        let range: &$crate::service::timelines::Range = &$range;
        let upper = range.max_id.unwrap_or(i64::MAX);
        match range.min_id {
            Some(min) => {
                let mut rows: Vec<_> = $query
                    .filter($key.gt(min))
                    .filter($key.lt(upper))
                    .order($key.asc())
                    .limit(range.limit)
                    .load($conn)?;
                rows.reverse();
                rows
            }
            None => $query
                .filter($key.gt(range.since_id.unwrap_or(i64::MIN)))
                .filter($key.lt(upper))
                .order($key.desc())
                .limit(range.limit)
                .load($conn)?,
        }
    }};
}
pub(crate) use keyset;

/// Posts that lists may show: not deleted or removed, author not suspended.
#[diesel::dsl::auto_type]
fn listed() -> _ {
    posts::table
        .inner_join(accounts::table)
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .filter(accounts::suspended_at.is_null())
}

/// Boosts of posts that lists may show.
#[diesel::dsl::auto_type]
fn listed_boosts() -> _ {
    announces::table
        .inner_join(posts::table.inner_join(accounts::table))
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .filter(accounts::suspended_at.is_null())
}

/// The columns of a [`BoostRow`].
const BOOST_ROW: (
    announces::id,
    announces::post_id,
    announces::account_id,
    announces::created_at,
) = (
    announces::id,
    announces::post_id,
    announces::account_id,
    announces::created_at,
);

/// Which servers' posts a public timeline shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    All,
    Local,
    Remote,
}

impl Origin {
    /// From Mastodon's `local` and `remote` flags.
    pub fn from_flags(local: bool, remote: bool) -> Origin {
        match (local, remote) {
            (true, _) => Origin::Local,
            (false, true) => Origin::Remote,
            _ => Origin::All,
        }
    }

    fn locals(self) -> Vec<bool> {
        match self {
            Origin::All => vec![true, false],
            Origin::Local => vec![true],
            Origin::Remote => vec![false],
        }
    }
}

async fn posts_page(
    svc: &Services,
    viewer: Option<i64>,
    f: impl FnOnce(&mut crate::db::DbConn) -> Result<Vec<i64>, AppError> + Send + 'static,
) -> Result<Paged<PostView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let ids = f(conn)?;
            let items = load_seen(conn, &ids, viewer, &base)?
                .into_iter()
                .filter(PostView::visible)
                .collect();
            Ok(Paged { items, keys: ids })
        })
        .await
}

/// Public stories and replies, newest first.
pub async fn public(
    svc: &Services,
    viewer: Option<i64>,
    origin: Origin,
    range: Range,
) -> Result<Paged<PostView>, AppError> {
    posts_page(svc, viewer, move |conn| {
        Ok(keyset!(
            listed()
                .filter(posts::visibility.eq("public"))
                .filter(posts::local.eq_any(origin.locals()))
                .select(posts::id),
            posts::id,
            range,
            conn
        ))
    })
    .await
}

/// Public stories and replies carrying a tag (matched case-insensitively), newest first.
/// An unknown tag gives an empty list.
pub async fn tag(
    svc: &Services,
    viewer: Option<i64>,
    tag: &str,
    origin: Origin,
    range: Range,
) -> Result<Paged<PostView>, AppError> {
    let key = normalize_tag(tag);
    posts_page(svc, viewer, move |conn| {
        let Some(tag_id) = find_tag_id(conn, &key)? else {
            return Ok(Vec::new());
        };
        // Driven by the (tag_id, post_id) primary key: no scan of posts.
        Ok(keyset!(
            post_tags::table
                .inner_join(posts::table.inner_join(accounts::table))
                .filter(post_tags::tag_id.eq(tag_id))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(accounts::suspended_at.is_null())
                .filter(posts::visibility.eq("public"))
                .filter(posts::local.eq_any(origin.locals()))
                .select(post_tags::post_id),
            post_tags::post_id,
            range,
            conn
        ))
    })
    .await
}

/// Options of an account's list of posts.
#[derive(Debug, Clone, Default)]
pub struct AccountPostsFilter {
    /// Stories only.
    pub exclude_replies: bool,
    /// Only posts carrying this tag (and then no boosts).
    pub tagged: Option<String>,
    /// Without boosts.
    pub exclude_reblogs: bool,
}

/// An account's stories and replies and (unless excluded, or filtered by tag) its boosts,
/// newest first. 404 for an unknown account.
pub async fn account(
    svc: &Services,
    viewer: Option<i64>,
    account_id: i64,
    filter: AccountPostsFilter,
    range: Range,
) -> Result<Paged<PostView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            accounts::table
                .find(account_id)
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let query = listed()
                .filter(posts::account_id.eq(account_id))
                .select(posts::id)
                .into_boxed();
            let mut query = visible_to!(query, viewer);
            if filter.exclude_replies {
                query = query.filter(posts::in_reply_to_id.is_null());
            }
            if let Some(tag) = &filter.tagged {
                let key = normalize_tag(tag);
                let Some(tag_id) = find_tag_id(conn, &key)? else {
                    return Ok(Paged::empty());
                };
                query = query.filter(
                    posts::id.eq_any(
                        post_tags::table
                            .filter(post_tags::tag_id.eq(tag_id))
                            .select(post_tags::post_id),
                    ),
                );
            }
            let post_ids: Vec<i64> = keyset!(query, posts::id, range, conn);
            let boosts: Vec<BoostRow> = if filter.exclude_reblogs || filter.tagged.is_some() {
                Vec::new()
            } else {
                let query = listed_boosts()
                    .filter(announces::account_id.eq(account_id))
                    .select(BOOST_ROW)
                    .into_boxed();
                keyset!(visible_to!(query, viewer), announces::id, range, conn)
            };
            merge_page(conn, post_ids, boosts, &range, viewer, &base)
        })
        .await
}

/// The viewer's own posts and those of the accounts they follow, and the boosts of
/// either, newest first (a boost by when it was made, keyed by the boost's id).
pub async fn home(svc: &Services, viewer: i64, range: Range) -> Result<Paged<PostView>, AppError> {
    use crate::db::schema::follows;
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let followed = || {
                follows::table
                    .filter(follows::follower_id.eq(viewer))
                    .filter(follows::state.eq("accepted"))
                    .select(follows::followed_id)
            };
            let query = listed()
                .filter(
                    posts::account_id
                        .eq_any(followed())
                        .or(posts::account_id.eq(viewer)),
                )
                .select(posts::id)
                .into_boxed();
            let post_ids: Vec<i64> =
                keyset!(visible_to!(query, Some(viewer)), posts::id, range, conn);
            // Driven by the (account_id, id) index of announces.
            let query = listed_boosts()
                .filter(
                    announces::account_id
                        .eq_any(followed())
                        .or(announces::account_id.eq(viewer)),
                )
                .select(BOOST_ROW)
                .into_boxed();
            let boosts: Vec<BoostRow> =
                keyset!(visible_to!(query, Some(viewer)), announces::id, range, conn);
            merge_page(conn, post_ids, boosts, &range, Some(viewer), &base)
        })
        .await
}

/// Posts the viewer up-voted, most recent vote first; paged by the vote's id.
pub async fn favourites(
    svc: &Services,
    viewer: i64,
    range: Range,
) -> Result<Paged<PostView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let query = votes::table
                .inner_join(posts::table.inner_join(accounts::table))
                .filter(votes::account_id.eq(viewer))
                .filter(votes::value.eq(1))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(accounts::suspended_at.is_null())
                .select((votes::id, votes::post_id))
                .into_boxed();
            let rows: Vec<(i64, i64)> =
                keyset!(visible_to!(query, Some(viewer)), votes::id, range, conn);
            paged_by_key(conn, rows, viewer, &base)
        })
        .await
}

/// Posts the viewer bookmarked, most recent bookmark first; paged by the bookmark's id.
pub async fn bookmarks(
    svc: &Services,
    viewer: i64,
    range: Range,
) -> Result<Paged<PostView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let query = bookmarks::table
                .inner_join(posts::table.inner_join(accounts::table))
                .filter(bookmarks::account_id.eq(viewer))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(accounts::suspended_at.is_null())
                .select((bookmarks::id, bookmarks::post_id))
                .into_boxed();
            let rows: Vec<(i64, i64)> =
                keyset!(visible_to!(query, Some(viewer)), bookmarks::id, range, conn);
            paged_by_key(conn, rows, viewer, &base)
        })
        .await
}

fn paged_by_key(
    conn: &mut crate::db::DbConn,
    rows: Vec<(i64, i64)>,
    viewer: i64,
    base: &str,
) -> Result<Paged<PostView>, AppError> {
    let post_ids: Vec<i64> = rows.iter().map(|(_, p)| *p).collect();
    let items = load_seen(conn, &post_ids, Some(viewer), base)?
        .into_iter()
        .filter(PostView::visible)
        .collect();
    Ok(Paged {
        items,
        keys: rows.into_iter().map(|(k, _)| k).collect(),
    })
}

/// Tags whose name starts with `prefix` (a leading `#` is ignored), as first spelled,
/// alphabetically; at most `limit`.
pub async fn find_tags(svc: &Services, prefix: &str, limit: i64) -> Result<Vec<String>, AppError> {
    let key = normalize_tag(prefix.trim());
    if !crate::domain::text::is_valid_tag(&key) {
        return Ok(Vec::new());
    }
    svc.db
        .run(move |conn| {
            // Tag names are letters, digits and `_`; only `_` is a LIKE wildcard.
            let pattern = format!("{}%", key.replace('_', "\\_"));
            Ok(tags::table
                .filter(tags::name_lower.like(pattern).escape('\\'))
                .order(tags::name_lower.asc())
                .limit(limit)
                .select(tags::name)
                .load(conn)?)
        })
        .await
}
