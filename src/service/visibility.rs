//! Who sees a post (docs/visibility.md): the one check every read path goes through.
//!
//! - `public` and `unlisted`: everybody;
//! - `private` (followers only): the author, accepted followers of the author, the
//!   accounts it mentions;
//! - `direct`: the author and the accounts it mentions.
//!
//! Three forms of the same rule: [`may_see`] for one post, [`keep_visible`] for posts
//! already loaded (threads, batches by id), and [`visible_to!`] for the `WHERE` of lists,
//! so lists page correctly (filtered in SQL, not after loading). Anonymous viewers, and
//! batches of public posts, cost no query at all. Moderators see no more than anyone else.

use std::collections::HashSet;

use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::schema::{follows, mentions};
use crate::error::AppError;

pub const PUBLIC: &str = "public";
pub const UNLISTED: &str = "unlisted";
pub const PRIVATE: &str = "private";
pub const DIRECT: &str = "direct";

/// Public and unlisted posts: everybody may see them.
pub fn is_open(visibility: &str) -> bool {
    matches!(visibility, PUBLIC | UNLISTED)
}

/// What the check needs of a post.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    pub post_id: i64,
    pub author_id: i64,
    pub visibility: &'a str,
}

impl crate::db::models::Post {
    /// What [`may_see`] needs of this row.
    pub fn audience(&self) -> Audience<'_> {
        Audience {
            post_id: self.id,
            author_id: self.account_id,
            visibility: &self.visibility,
        }
    }
}

/// Whether `viewer` (`None`: anonymous) may see the post. At most one query (none for
/// public and unlisted posts, anonymous viewers, or the author).
pub fn may_see(
    conn: &mut DbConn,
    viewer: Option<i64>,
    post: Audience<'_>,
) -> Result<bool, AppError> {
    if is_open(post.visibility) {
        return Ok(true);
    }
    let Some(viewer) = viewer else {
        return Ok(false);
    };
    if viewer == post.author_id {
        return Ok(true);
    }
    let mentioned = diesel::select(diesel::dsl::exists(
        mentions::table
            .filter(mentions::account_id.eq(viewer))
            .filter(mentions::post_id.eq(post.post_id)),
    ))
    .get_result::<bool>(conn)?;
    if mentioned {
        return Ok(true);
    }
    if post.visibility != PRIVATE {
        return Ok(false);
    }
    Ok(follows_author(conn, viewer, post.author_id)?)
}

fn follows_author(conn: &mut DbConn, viewer: i64, author: i64) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        follows::table
            .filter(follows::follower_id.eq(viewer))
            .filter(follows::followed_id.eq(author))
            .filter(follows::state.eq("accepted")),
    ))
    .get_result::<bool>(conn)
}

/// [`may_see`] as an error: a post the viewer may not see does not exist (404).
pub fn ensure(conn: &mut DbConn, viewer: Option<i64>, post: Audience<'_>) -> Result<(), AppError> {
    if may_see(conn, viewer, post)? {
        Ok(())
    } else {
        Err(AppError::not_found())
    }
}

/// [`ensure`] for a post known by id (acts on posts: votes, reactions, bookmarks, replies,
/// reports); an unknown post is not found either.
pub fn ensure_id(conn: &mut DbConn, viewer: Option<i64>, post_id: i64) -> Result<(), AppError> {
    use crate::db::schema::posts;
    let (author_id, visibility) = posts::table
        .find(post_id)
        .select((posts::account_id, posts::visibility))
        .first::<(i64, String)>(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    ensure(
        conn,
        viewer,
        Audience {
            post_id,
            author_id,
            visibility: &visibility,
        },
    )
}

/// Keeps the items the viewer may see, in order. At most two queries, and none when every
/// item is public or unlisted (or the viewer is anonymous).
pub fn keep_visible<T>(
    conn: &mut DbConn,
    viewer: Option<i64>,
    items: Vec<T>,
    audience: impl Fn(&T) -> Audience<'_>,
) -> Result<Vec<T>, AppError> {
    let closed: Vec<Audience<'_>> = items
        .iter()
        .map(&audience)
        .filter(|a| !is_open(a.visibility))
        .collect();
    if closed.is_empty() {
        return Ok(items);
    }
    let Some(viewer) = viewer else {
        return Ok(items
            .into_iter()
            .filter(|i| is_open(audience(i).visibility))
            .collect());
    };
    let others: Vec<&Audience<'_>> = closed.iter().filter(|a| a.author_id != viewer).collect();
    let post_ids: Vec<i64> = others.iter().map(|a| a.post_id).collect();
    let mentioned: HashSet<i64> = if post_ids.is_empty() {
        HashSet::new()
    } else {
        mentions::table
            .filter(mentions::account_id.eq(viewer))
            .filter(mentions::post_id.eq_any(&post_ids))
            .select(mentions::post_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    let mut authors: Vec<i64> = others
        .iter()
        .filter(|a| a.visibility == PRIVATE && !mentioned.contains(&a.post_id))
        .map(|a| a.author_id)
        .collect();
    authors.sort_unstable();
    authors.dedup();
    let followed: HashSet<i64> = if authors.is_empty() {
        HashSet::new()
    } else {
        follows::table
            .filter(follows::follower_id.eq(viewer))
            .filter(follows::followed_id.eq_any(&authors))
            .filter(follows::state.eq("accepted"))
            .select(follows::followed_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    drop(closed);
    Ok(items
        .into_iter()
        .filter(|i| {
            let a = audience(i);
            is_open(a.visibility)
                || a.author_id == viewer
                || mentioned.contains(&a.post_id)
                || (a.visibility == PRIVATE && followed.contains(&a.author_id))
        })
        .collect())
}

/// Narrows a boxed query over `posts` (possibly joined) to the posts `$viewer`
/// (`Option<i64>`) may see, in SQL. Anonymous: `visibility IN ('public', 'unlisted')`,
/// no subquery. Signed in: that, or written by the viewer, or private by an account the
/// viewer follows (accepted), or mentioning the viewer; the two subqueries are
/// uncorrelated and driven by the `follows (follower_id, …)` and
/// `mentions (account_id, post_id)` indexes, evaluated once per query.
macro_rules! visible_to {
    ($query:expr, $viewer:expr) => {{
        use $crate::db::schema::{follows as vis_f, mentions as vis_m, posts as vis_p};
        use $crate::service::visibility::{PRIVATE, PUBLIC, UNLISTED};
        let open = vis_p::visibility
            .eq(PUBLIC)
            .or(vis_p::visibility.eq(UNLISTED));
        match $viewer {
            None => $query.filter(open),
            Some(viewer) => {
                let viewer: i64 = viewer;
                $query.filter(
                    open.or(vis_p::account_id.eq(viewer))
                        .or(vis_p::visibility.eq(PRIVATE).and(
                            vis_p::account_id.eq_any(
                                vis_f::table
                                    .filter(vis_f::follower_id.eq(viewer))
                                    .filter(vis_f::state.eq("accepted"))
                                    .select(vis_f::followed_id),
                            ),
                        ))
                        .or(vis_p::id.eq_any(
                            vis_m::table
                                .filter(vis_m::account_id.eq(viewer))
                                .select(vis_m::post_id),
                        )),
                )
            }
        }
    }};
}
pub(crate) use visible_to;

/// Whether a remote server, asking with a request signed by `signer`, may have the post
/// (ActivityPub fetches of our objects): when the signer may see it, or — as Mastodon
/// decides for fetches signed by another actor of the same server, such as its instance
/// actor — when an account on the signer's server may: for `private`, an accepted follower
/// of the author or a mentioned account there; for `direct`, a mentioned account there.
pub fn server_may_see(
    conn: &mut DbConn,
    signer_id: i64,
    signer_domain: Option<&str>,
    post: Audience<'_>,
) -> Result<bool, AppError> {
    use crate::db::schema::accounts;
    if may_see(conn, Some(signer_id), post)? {
        return Ok(true);
    }
    let Some(domain) = signer_domain else {
        return Ok(false);
    };
    let mentioned_there = diesel::select(diesel::dsl::exists(
        mentions::table
            .inner_join(accounts::table.on(accounts::id.eq(mentions::account_id)))
            .filter(mentions::post_id.eq(post.post_id))
            .filter(accounts::domain.eq(domain)),
    ))
    .get_result::<bool>(conn)?;
    if mentioned_there || post.visibility != PRIVATE {
        return Ok(mentioned_there);
    }
    Ok(diesel::select(diesel::dsl::exists(
        follows::table
            .inner_join(accounts::table.on(accounts::id.eq(follows::follower_id)))
            .filter(follows::followed_id.eq(post.author_id))
            .filter(follows::state.eq("accepted"))
            .filter(accounts::domain.eq(domain)),
    ))
    .get_result::<bool>(conn)?)
}
