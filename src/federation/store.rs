//! The reads federation needs that the other services do not offer: instance statistics,
//! the posts of an outbox, reply ids, follow lists as actor ids, and the instance actor's
//! key pair (made on first use). Posts themselves are loaded with `service::posts`.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use diesel::prelude::*;

use crate::db::is_unique_violation;
use crate::db::schema::{accounts, follows, instance_keys, posts, sessions};
use crate::error::AppError;
use crate::service::posts::{PostView, load_posts};
use crate::service::{Services, crypto};

/// Items in one page of a collection.
pub const COLLECTION_PAGE: i64 = 20;

/// Visibilities whose posts anyone may fetch.
const FETCHABLE: [&str; 2] = ["public", "unlisted"];

/// Local account statistics for NodeInfo.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    pub users: i64,
    pub active_month: i64,
    pub active_halfyear: i64,
    pub local_posts: i64,
}

/// Counts for NodeInfo. An account is active in a period when it posted or logged in
/// (a session was made) during it; suspended accounts are not counted.
pub async fn stats(svc: &Services) -> Result<Stats, AppError> {
    svc.db
        .run(|conn| {
            let users = accounts::table
                .filter(accounts::domain.is_null())
                .filter(accounts::suspended_at.is_null())
                .count()
                .get_result(conn)?;
            let now = Utc::now().naive_utc();
            let mut active = |days: i64| -> Result<i64, AppError> {
                let since = now - Duration::days(days);
                Ok(accounts::table
                    .filter(accounts::domain.is_null())
                    .filter(accounts::suspended_at.is_null())
                    .filter(
                        accounts::id
                            .eq_any(
                                posts::table
                                    .filter(posts::local.eq(true))
                                    .filter(posts::created_at.ge(since))
                                    .select(posts::account_id),
                            )
                            .or(accounts::id.eq_any(
                                sessions::table
                                    .filter(sessions::created_at.ge(since))
                                    .select(sessions::account_id),
                            )),
                    )
                    .count()
                    .get_result(conn)?)
            };
            let active_month = active(30)?;
            let active_halfyear = active(180)?;
            let local_posts = posts::table
                .filter(posts::local.eq(true))
                .filter(posts::deleted_at.is_null())
                .count()
                .get_result(conn)?;
            Ok(Stats {
                users,
                active_month,
                active_halfyear,
                local_posts,
            })
        })
        .await
}

/// One post as federation shows it, with its parent's id for replies. `None` when there is
/// no such local post.
pub struct Fetched {
    pub post: PostView,
    pub parent_ap_id: Option<String>,
}

/// A local post by id, deleted ones included (the caller answers those with a Tombstone).
pub async fn local_post(svc: &Services, id: i64) -> Result<Option<Fetched>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let Some(post) = load_posts(conn, &[id], None, &base)?.pop() else {
                return Ok(None);
            };
            if !post.local {
                return Ok(None);
            }
            let parents = ap_ids(conn, post.in_reply_to_id.into_iter().collect())?;
            let parent_ap_id = post.in_reply_to_id.and_then(|p| parents.get(&p).cloned());
            Ok(Some(Fetched { post, parent_ap_id }))
        })
        .await
}

fn ap_ids(conn: &mut crate::db::DbConn, ids: Vec<i64>) -> Result<HashMap<i64, String>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(posts::table
        .filter(posts::id.eq_any(ids))
        .select((posts::id, posts::ap_id))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// A page of items with the key for the next page.
pub struct KeyPage<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

fn key_page<T>(mut rows: Vec<(i64, T)>) -> KeyPage<T> {
    let more = rows.len() as i64 > COLLECTION_PAGE;
    rows.truncate(COLLECTION_PAGE as usize);
    let next = if more {
        rows.last().map(|(k, _)| *k)
    } else {
        None
    };
    KeyPage {
        items: rows.into_iter().map(|(_, t)| t).collect(),
        next,
    }
}

/// Number of an account's posts in its outbox (public and unlisted, not deleted or removed).
pub async fn outbox_count(svc: &Services, account_id: i64) -> Result<i64, AppError> {
    svc.db
        .run(move |conn| {
            Ok(posts::table
                .filter(posts::account_id.eq(account_id))
                .filter(posts::local.eq(true))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(posts::visibility.eq_any(FETCHABLE))
                .count()
                .get_result(conn)?)
        })
        .await
}

/// An outbox page: the account's posts older than `max_id`, newest first, each with its
/// parent's id.
pub async fn outbox_page(
    svc: &Services,
    account_id: i64,
    max_id: Option<i64>,
) -> Result<KeyPage<Fetched>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let ids: Vec<i64> = posts::table
                .filter(posts::account_id.eq(account_id))
                .filter(posts::local.eq(true))
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(posts::visibility.eq_any(FETCHABLE))
                .filter(posts::id.lt(max_id.unwrap_or(i64::MAX)))
                .order(posts::id.desc())
                .limit(COLLECTION_PAGE + 1)
                .select(posts::id)
                .load(conn)?;
            let views = load_posts(conn, &ids, None, &base)?;
            let parents = ap_ids(
                conn,
                views.iter().filter_map(|v| v.in_reply_to_id).collect(),
            )?;
            let rows = views
                .into_iter()
                .map(|post| {
                    let parent_ap_id = post.in_reply_to_id.and_then(|p| parents.get(&p).cloned());
                    (post.id, Fetched { post, parent_ap_id })
                })
                .collect();
            Ok(key_page(rows))
        })
        .await
}

/// Direct replies anyone may fetch (a macro: the filtered query's type is long).
macro_rules! direct_replies {
    ($parent:expr) => {
        posts::table
            .filter(posts::in_reply_to_id.eq($parent))
            .filter(posts::deleted_at.is_null())
            .filter(posts::removed_at.is_null())
            .filter(posts::visibility.eq_any(FETCHABLE))
    };
}

/// Number of direct replies anyone may fetch.
pub async fn replies_count(svc: &Services, parent: i64) -> Result<i64, AppError> {
    svc.db
        .run(move |conn| Ok(direct_replies!(parent).count().get_result(conn)?))
        .await
}

/// The ids (`ap_id`) of direct replies newer than `min_id`, oldest first.
pub async fn replies_page(
    svc: &Services,
    parent: i64,
    min_id: Option<i64>,
) -> Result<KeyPage<String>, AppError> {
    svc.db
        .run(move |conn| {
            let rows: Vec<(i64, String)> = direct_replies!(parent)
                .filter(posts::id.gt(min_id.unwrap_or(0)))
                .order(posts::id.asc())
                .limit(COLLECTION_PAGE + 1)
                .select((posts::id, posts::ap_id))
                .load(conn)?;
            Ok(key_page(rows))
        })
        .await
}

/// Which side of a follow an account is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowSide {
    /// Accounts following it.
    Followers,
    /// Accounts it follows.
    Following,
}

/// Number of accepted follows on one side of an account.
pub async fn follow_count(
    svc: &Services,
    account_id: i64,
    side: FollowSide,
) -> Result<i64, AppError> {
    svc.db
        .run(move |conn| {
            let q = follows::table.filter(follows::state.eq("accepted"));
            Ok(match side {
                FollowSide::Followers => q
                    .filter(follows::followed_id.eq(account_id))
                    .count()
                    .get_result(conn)?,
                FollowSide::Following => q
                    .filter(follows::follower_id.eq(account_id))
                    .count()
                    .get_result(conn)?,
            })
        })
        .await
}

/// Actor ids on one side of an account's follows, most recent follow first, older than
/// the follow `max_id`.
pub async fn follow_page(
    svc: &Services,
    account_id: i64,
    side: FollowSide,
    max_id: Option<i64>,
) -> Result<KeyPage<String>, AppError> {
    svc.db
        .run(move |conn| {
            let base = follows::table
                .filter(follows::state.eq("accepted"))
                .filter(follows::id.lt(max_id.unwrap_or(i64::MAX)))
                .order(follows::id.desc())
                .limit(COLLECTION_PAGE + 1);
            let rows: Vec<(i64, String)> = match side {
                FollowSide::Followers => base
                    .filter(follows::followed_id.eq(account_id))
                    .inner_join(accounts::table.on(accounts::id.eq(follows::follower_id)))
                    .select((follows::id, accounts::ap_id))
                    .load(conn)?,
                FollowSide::Following => base
                    .filter(follows::follower_id.eq(account_id))
                    .inner_join(accounts::table.on(accounts::id.eq(follows::followed_id)))
                    .select((follows::id, accounts::ap_id))
                    .load(conn)?,
            };
            Ok(key_page(rows))
        })
        .await
}

/// The instance actor's key pair.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_keys)]
#[diesel(treat_none_as_default_value = false)]
pub struct InstanceKey {
    pub id: String,
    pub public_key_pem: String,
    pub private_key_pem: String,
    pub created_at: chrono::NaiveDateTime,
}

const MAIN_KEY: &str = "main";

async fn find_instance_key(svc: &Services) -> Result<Option<InstanceKey>, AppError> {
    svc.db
        .run(|conn| {
            Ok(instance_keys::table
                .find(MAIN_KEY)
                .select(InstanceKey::as_select())
                .first(conn)
                .optional()?)
        })
        .await
}

/// The instance actor's key pair, generated and stored the first time it is asked for,
/// then kept in memory. Only one task generates it: the first fetches of a busy inbox
/// used to generate a key each (tens of RSA key generations at once).
pub async fn instance_key(svc: &Services) -> Result<InstanceKey, AppError> {
    svc.instance_key
        .get_or_try_init(|| load_or_create_instance_key(svc))
        .await
        .cloned()
}

async fn load_or_create_instance_key(svc: &Services) -> Result<InstanceKey, AppError> {
    if let Some(key) = find_instance_key(svc).await? {
        return Ok(key);
    }
    let (public_key_pem, private_key_pem) = crypto::generate_keypair().await?;
    let row = InstanceKey {
        id: MAIN_KEY.to_owned(),
        public_key_pem,
        private_key_pem,
        created_at: Utc::now().naive_utc(),
    };
    // Two first requests at once: the one that inserts second keeps the first key.
    let inserted = svc
        .db
        .write(move |conn| {
            let exists = instance_keys::table
                .find(MAIN_KEY)
                .count()
                .get_result::<i64>(conn)?
                > 0;
            if exists {
                return Ok(false);
            }
            match diesel::insert_into(instance_keys::table)
                .values(&row)
                .execute(conn)
            {
                Ok(_) => Ok(true),
                Err(e) if is_unique_violation(&e) => Ok(false),
                Err(e) => Err(AppError::internal(e)),
            }
        })
        .await;
    if let Err(e) = inserted {
        // A unique violation ends a PostgreSQL transaction with an error; read what won.
        if let Some(key) = find_instance_key(svc).await? {
            return Ok(key);
        }
        return Err(e);
    }
    find_instance_key(svc)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("instance key not stored")))
}
