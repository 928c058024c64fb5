//! Stories: publish, edit, delete, read one, and the lists (front page, tag, profile).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::cache::cached;
use super::mentions;
use super::posts::{ContentWarning, PostExtras, apply_extras, check_visibility};
use super::views::{AuthorView, BoostedBy, StoryView, assemble};
use super::visibility::{self, visible_to};
use super::{PAGE_SIZE, Page, Services};
use crate::db::models::{Account, AccountBrief, NewPost, NewTag, Post, PostTag, Tag};
use crate::db::schema::{accounts, post_tags, posts, tags};
use crate::db::{DbConn, ids, is_unique_violation, write_tx};
use crate::domain::story::StoryDraft;
use crate::domain::text::{
    MAX_TAGS_PER_POST, extract_hashtags, normalize_tag, render_with_mentions,
};
use crate::error::AppError;
use crate::federation::outbox::{self, PostEvent};

/// Publishes a story by a local account, with an optional content warning ("" for
/// none) and visibility ("" for public); returns its id.
pub async fn create(
    svc: &Services,
    author: &Account,
    headline: &str,
    body: &str,
    content_warning: &str,
    visibility: &str,
) -> Result<i64, AppError> {
    let draft = StoryDraft::parse(headline, body).map_err(AppError::validation)?;
    let extras = PostExtras {
        warning: ContentWarning::new(content_warning, false)?,
        visibility: check_visibility(Some(visibility))?,
        ..PostExtras::default()
    };
    insert(svc, author, draft, extras).await
}

/// Publishes a story posted from a client app as a status: the body may be empty, and the
/// content warning, visibility and idempotency key are stored in the same transaction.
pub async fn create_status(
    svc: &Services,
    author: &Account,
    headline: &str,
    body: &str,
    extras: PostExtras,
) -> Result<i64, AppError> {
    let draft = StoryDraft::parse_status(headline, body).map_err(AppError::validation)?;
    insert(svc, author, draft, extras).await
}

async fn insert(
    svc: &Services,
    author: &Account,
    draft: StoryDraft,
    extras: PostExtras,
) -> Result<i64, AppError> {
    let id = ids::new_id();
    let ap_id = svc.story_ap_id(id);
    let author_id = author.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .run(move |conn| {
            let text = format!("{}\n{}", draft.headline, draft.body);
            let named = mentions::named_in(conn, &text, &urls.domain, &urls.base)?;
            let html = render_mentions(&draft.body, &urls, &named);
            let tags = ensure_tags(conn, &text)?;
            write_tx(conn, |conn| {
                let now = Utc::now().naive_utc();
                insert_story(
                    conn,
                    &NewPost {
                        id,
                        account_id: author_id,
                        ap_id: &ap_id,
                        url: Some(&ap_id),
                        local: true,
                        headline: Some(&draft.headline),
                        body: &draft.body,
                        content_html: &html,
                        in_reply_to_id: None,
                        thread_root_id: None,
                        visibility: "public",
                        created_at: now,
                        updated_at: now,
                        spoiler_text: &extras.warning.spoiler_text,
                        sensitive: extras.warning.sensitive,
                    },
                    tags,
                )?;
                apply_extras(conn, id, author_id, &extras)?;
                let mentioned = mentions::ids(&named);
                mentions::record(conn, id, author_id, &mentioned, &mut HashSet::new())?;
                outbox::post_event(conn, &urls, id, PostEvent::Created)?;
                Ok(id)
            })
        })
        .await
}

/// Stores a story row and links its tags (inside a write transaction); shared with the
/// inbox.
pub(crate) fn insert_story(
    conn: &mut DbConn,
    post: &NewPost<'_>,
    tags: Vec<(i64, String)>,
) -> Result<(), AppError> {
    // Native: the statement is cached by the backend (the inbox stores many of these).
    crate::native!(conn, |c| diesel::insert_into(posts::table)
        .values(post)
        .execute(c))?;
    link_tags(conn, post.id, tags)
}

/// Like [`insert_story`], for a remote story that may be stored already (fetched earlier
/// as a reply's parent, or delivered again under another activity id): when its `ap_id`
/// is known nothing is written, not even its new tags. One statement instead of a lookup
/// and an insert. `tags`: its hashtags by name (`known`: those known to exist). Returns
/// whether it was stored.
pub(crate) fn insert_remote_story(
    conn: &mut DbConn,
    post: &NewPost<'_>,
    tags: Vec<String>,
    known: &KnownTags,
) -> Result<bool, AppError> {
    let inserted = crate::native!(conn, |c| diesel::insert_into(posts::table)
        .values(post)
        .on_conflict(posts::ap_id)
        .do_nothing()
        .execute(c))?;
    if inserted == 0 {
        return Ok(false);
    }
    let tags = ensure_tag_names_in_tx(conn, tags, known)?;
    link_tags(conn, post.id, tags)?;
    Ok(true)
}

/// Edits a story and its content warning ("" removes it); only its author may.
pub async fn update(
    svc: &Services,
    editor: &Account,
    id: i64,
    headline: &str,
    body: &str,
    content_warning: &str,
) -> Result<(), AppError> {
    let draft = StoryDraft::parse(headline, body).map_err(AppError::validation)?;
    let warning = ContentWarning::new(content_warning, false)?;
    apply_update(svc, editor, id, draft, Some(warning)).await
}

/// Edits a story from a client app: the body may be empty; the content warning is
/// replaced when given.
pub async fn update_status(
    svc: &Services,
    editor: &Account,
    id: i64,
    headline: &str,
    body: &str,
    warning: Option<ContentWarning>,
) -> Result<(), AppError> {
    let draft = StoryDraft::parse_status(headline, body).map_err(AppError::validation)?;
    apply_update(svc, editor, id, draft, warning).await
}

async fn apply_update(
    svc: &Services,
    editor: &Account,
    id: i64,
    draft: StoryDraft,
    warning: Option<ContentWarning>,
) -> Result<(), AppError> {
    let editor_id = editor.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .run(move |conn| {
            let text = format!("{}\n{}", draft.headline, draft.body);
            let named = mentions::named_in(conn, &text, &urls.domain, &urls.base)?;
            let html = render_mentions(&draft.body, &urls, &named);
            let tags = ensure_tags(conn, &text)?;
            write_tx(conn, |conn| {
                let post = live_story(conn, id)?;
                if post.account_id != editor_id {
                    return Err(AppError::forbidden());
                }
                diesel::update(posts::table.find(id))
                    .set(posts::headline.eq(Some(&draft.headline)))
                    .execute(conn)?;
                rewrite(conn, id, &draft.body, &html, warning.as_ref(), tags)?;
                let mentioned = mentions::ids(&named);
                mentions::record(conn, id, editor_id, &mentioned, &mut HashSet::new())?;
                outbox::post_event(conn, &urls, id, PostEvent::Updated)
            })
        })
        .await
}

/// Deletes a story (kept as a tombstone so links answer 410 and threads stay whole);
/// its author or a moderator may.
pub async fn delete(svc: &Services, actor: &Account, id: i64) -> Result<(), AppError> {
    let (actor_id, is_mod) = (actor.id, actor.is_admin || actor.is_moderator);
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            let post = live_story(conn, id)?;
            soft_delete(conn, &post, actor_id, is_mod)?;
            outbox::post_event(conn, &urls, id, PostEvent::Deleted)
        })
        .await
}

/// A local text as HTML, the accounts it names linked to their profiles.
pub(crate) fn render_mentions(
    text: &str,
    urls: &crate::federation::objects::Urls,
    named: &[mentions::Named],
) -> String {
    let linker =
        |name: &str, host: Option<&str>| mentions::link_for(named, &urls.domain, name, host);
    render_with_mentions(text, &urls.base, &linker)
}

fn live_story(conn: &mut DbConn, id: i64) -> Result<Post, AppError> {
    let post = posts::table
        .find(id)
        .filter(posts::in_reply_to_id.is_null())
        .first::<Post>(conn)
        .optional()?
        .ok_or_else(AppError::not_found)?;
    if post.deleted_at.is_some() {
        return Err(AppError::gone());
    }
    Ok(post)
}

/// Replaces the text of a story or reply (edits), its rendered HTML, content warning
/// (when given) and tags; marks it edited.
pub(crate) fn rewrite(
    conn: &mut DbConn,
    id: i64,
    body: &str,
    html: &str,
    warning: Option<&ContentWarning>,
    tags: Vec<(i64, String)>,
) -> Result<(), AppError> {
    let now = Utc::now().naive_utc();
    diesel::update(posts::table.find(id))
        .set((
            posts::body.eq(body),
            posts::content_html.eq(html),
            posts::updated_at.eq(now),
            posts::edited_at.eq(Some(now)),
        ))
        .execute(conn)?;
    if let Some(w) = warning {
        diesel::update(posts::table.find(id))
            .set((
                posts::spoiler_text.eq(&w.spoiler_text),
                posts::sensitive.eq(w.sensitive),
            ))
            .execute(conn)?;
    }
    diesel::delete(post_tags::table.filter(post_tags::post_id.eq(id))).execute(conn)?;
    link_tags(conn, id, tags)
}

/// Marks a story or reply deleted, if `actor_id` wrote it or is a moderator. The row stays
/// (a tombstone) so links answer 410 and threads keep their shape.
pub(crate) fn soft_delete(
    conn: &mut DbConn,
    post: &Post,
    actor_id: i64,
    is_mod: bool,
) -> Result<(), AppError> {
    if post.account_id != actor_id && !is_mod {
        return Err(AppError::forbidden());
    }
    let now = Utc::now().naive_utc();
    diesel::update(posts::table.find(post.id))
        .set((posts::deleted_at.eq(Some(now)), posts::updated_at.eq(now)))
        .execute(conn)?;
    Ok(())
}

/// The hashtags of a draft as (tag id, spelling), creating tags on first use. Runs
/// outside the story's transaction, so a tag two people introduce at the same moment
/// is simply looked up again by the one who loses the race. More than
/// [`MAX_TAGS_PER_POST`] distinct hashtags is a field error on `body`, before any tag is
/// made.
pub(crate) fn ensure_tags(conn: &mut DbConn, text: &str) -> Result<Vec<(i64, String)>, AppError> {
    let names = extract_hashtags(text);
    if names.len() > MAX_TAGS_PER_POST {
        return Err(AppError::field(
            "body",
            format!(
                "A post has at most {MAX_TAGS_PER_POST} hashtags (this one has {}).",
                names.len()
            ),
        ));
    }
    ensure_tag_names(conn, names)
}

/// Tags by name (as spelled, without `#`; valid and distinct), as (tag id, spelling),
/// creating them on first use; shared with the inbox (remote `Hashtag` tags).
pub(crate) fn ensure_tag_names(
    conn: &mut DbConn,
    names: Vec<String>,
) -> Result<Vec<(i64, String)>, AppError> {
    names
        .into_iter()
        .map(|name| Ok((tag_id_for(conn, &name)?, name)))
        .collect()
}

pub(crate) fn link_tags(
    conn: &mut DbConn,
    post_id: i64,
    tags: Vec<(i64, String)>,
) -> Result<(), AppError> {
    // One insert per tag: MultiConnection has no batch insert (stories carry few tags).
    for (tag_id, name) in tags {
        let row = PostTag {
            tag_id,
            post_id,
            name,
        };
        crate::native!(conn, |c| diesel::insert_into(post_tags::table)
            .values(&row)
            .execute(c))?;
    }
    Ok(())
}

/// The id of the tag whose normalised name is `key`, if there is one.
pub(crate) fn find_tag_id(conn: &mut DbConn, key: &str) -> Result<Option<i64>, AppError> {
    Ok(crate::native!(conn, |c| tags::table
        .filter(tags::name_lower.eq(key))
        .select(tags::id)
        .first::<i64>(c)
        .optional())?)
}

/// Ids of existing tags by normalised name, read in one query for many notes at once
/// (the inbox's batches). Tags are never deleted, so an id read here stays good.
pub(crate) type KnownTags = HashMap<String, i64>;

/// The tags of `names` that exist, in one query.
pub(crate) fn known_tags<'a>(
    conn: &mut DbConn,
    names: impl Iterator<Item = &'a str>,
) -> Result<KnownTags, AppError> {
    let mut keys: Vec<String> = names.map(normalize_tag).collect();
    keys.sort();
    keys.dedup();
    if keys.is_empty() {
        return Ok(KnownTags::new());
    }
    let found: Vec<(String, i64)> = tags::table
        .filter(tags::name_lower.eq_any(&keys))
        .select((tags::name_lower, tags::id))
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// Tags by name like [`ensure_tag_names`], for callers inside a write transaction (the
/// inbox's batches): tags in `known` are not looked up again; each new tag is inserted
/// in its own savepoint, so losing a race for the same tag (a unique violation, which
/// aborts a PostgreSQL transaction) rolls back only that insert, and the winner's row is
/// read.
pub(crate) fn ensure_tag_names_in_tx(
    conn: &mut DbConn,
    names: Vec<String>,
    known: &KnownTags,
) -> Result<Vec<(i64, String)>, AppError> {
    names
        .into_iter()
        .map(|name| {
            let id = match known.get(&normalize_tag(&name)) {
                Some(id) => *id,
                None => tag_id_for_in(conn, &name, true)?,
            };
            Ok((id, name))
        })
        .collect()
}

fn tag_id_for(conn: &mut DbConn, name: &str) -> Result<i64, AppError> {
    tag_id_for_in(conn, name, false)
}

fn tag_id_for_in(conn: &mut DbConn, name: &str, in_tx: bool) -> Result<i64, AppError> {
    let key = normalize_tag(name);
    if let Some(id) = find_tag_id(conn, &key)? {
        return Ok(id);
    }
    let id = ids::new_id();
    if in_tx {
        conn.batch_execute("SAVEPOINT new_tag")?;
    }
    let inserted = diesel::insert_into(tags::table)
        .values(&NewTag {
            id,
            name,
            name_lower: &key,
            created_at: Utc::now().naive_utc(),
        })
        .execute(conn);
    if in_tx {
        if inserted.is_err() {
            conn.batch_execute("ROLLBACK TO SAVEPOINT new_tag")?;
        }
        conn.batch_execute("RELEASE SAVEPOINT new_tag")?;
    }
    match inserted {
        Ok(_) => Ok(id),
        Err(e) if is_unique_violation(&e) => {
            find_tag_id(conn, &key)?.ok_or_else(|| AppError::internal(e))
        }
        Err(e) => Err(AppError::internal(e)),
    }
}

/// One story with its author and tags; deleted stories come back with `deleted` set.
pub async fn get(svc: &Services, id: i64, viewer: Option<i64>) -> Result<StoryView, AppError> {
    svc.db
        .run(move |conn| {
            let row = posts::table
                .inner_join(accounts::table)
                .filter(posts::id.eq(id))
                .filter(posts::in_reply_to_id.is_null())
                .select((Post::as_select(), AccountBrief::as_select()))
                .first::<(Post, AccountBrief)>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            visibility::ensure(conn, viewer, row.0.audience())?;
            Ok(assemble(conn, vec![row], viewer)?.remove(0))
        })
        .await
}

fn page_of(mut items: Vec<StoryView>, limit: i64) -> Page<StoryView> {
    let next_before = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        items.last().map(StoryView::list_key)
    } else {
        None
    };
    Page { items, next_before }
}

/// Stories that lists may show: not replies, not deleted or removed, author not suspended.
#[diesel::dsl::auto_type]
fn listed() -> _ {
    posts::table
        .inner_join(accounts::table)
        .filter(posts::in_reply_to_id.is_null())
        .filter(posts::deleted_at.is_null())
        .filter(posts::removed_at.is_null())
        .filter(accounts::suspended_at.is_null())
}

/// The orders of the front page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Newest first.
    New,
    /// Highest score (up − down) first.
    Top,
    /// Highest Wilson lower bound first.
    Best,
}

impl Sort {
    pub fn parse(s: Option<&str>) -> Sort {
        match s {
            Some("top") => Sort::Top,
            Some("best") => Sort::Best,
            _ => Sort::New,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::New => "new",
            Sort::Top => "top",
            Sort::Best => "best",
        }
    }
}

/// Where the previous page of a sorted list ended: the sort key and id of its last story.
/// Written as `ID` (new), `SCORE_ID` (top) or `BEST_ID` (best).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cursor {
    New(i64),
    Top(i64, i64),
    Best(f64, i64),
}

impl Cursor {
    pub fn parse(sort: Sort, raw: &str) -> Option<Cursor> {
        match sort {
            Sort::New => raw.parse().ok().map(Cursor::New),
            Sort::Top => {
                let (k, id) = raw.split_once('_')?;
                Some(Cursor::Top(k.parse().ok()?, id.parse().ok()?))
            }
            Sort::Best => {
                let (k, id) = raw.split_once('_')?;
                let k: f64 = k.parse().ok()?;
                k.is_finite().then_some(Cursor::Best(k, id.parse().ok()?))
            }
        }
    }

    pub fn encode(&self) -> String {
        match self {
            Cursor::New(id) => id.to_string(),
            Cursor::Top(k, id) => format!("{k}_{id}"),
            Cursor::Best(k, id) => format!("{k}_{id}"),
        }
    }
}

/// A page of a sorted list, with the cursor of the next page.
#[derive(Clone)]
pub struct SortedPage {
    pub items: Vec<StoryView>,
    pub next: Option<Cursor>,
}

/// The front page in the chosen order (keyset pagination: no OFFSET, deep pages cost the
/// same as the first).
pub async fn front_page(
    svc: &Services,
    sort: Sort,
    after: Option<Cursor>,
) -> Result<Arc<SortedPage>, AppError> {
    let key = format!(
        "front:{}:{}",
        sort.as_str(),
        after.map(|c| c.encode()).unwrap_or_default()
    );
    cached(&svc.lists, key, || load_front_page(svc, sort, after)).await
}

async fn load_front_page(
    svc: &Services,
    sort: Sort,
    after: Option<Cursor>,
) -> Result<SortedPage, AppError> {
    svc.db
        .run(move |conn| {
            let limit = PAGE_SIZE + 1;
            let rows: Vec<(Post, AccountBrief)> = crate::native!(conn, |c| {
                // Unlisted stories stay off the front page (they show on profiles), and
                // so do replies to posts not available (stored as stories).
                let base = listed()
                    .filter(posts::visibility.eq("public"))
                    .filter(posts::in_reply_to_uri.is_null())
                    .select((Post::as_select(), AccountBrief::as_select()));
                match (sort, after) {
                    (Sort::Top, Some(Cursor::Top(k, id))) => base
                        .filter(
                            posts::score
                                .lt(k)
                                .or(posts::score.eq(k).and(posts::id.lt(id))),
                        )
                        .order((posts::score.desc(), posts::id.desc()))
                        .limit(limit)
                        .load(c)?,
                    (Sort::Top, _) => base
                        .order((posts::score.desc(), posts::id.desc()))
                        .limit(limit)
                        .load(c)?,
                    (Sort::Best, Some(Cursor::Best(k, id))) => base
                        .filter(
                            posts::best
                                .lt(k)
                                .or(posts::best.eq(k).and(posts::id.lt(id))),
                        )
                        .order((posts::best.desc(), posts::id.desc()))
                        .limit(limit)
                        .load(c)?,
                    (Sort::Best, _) => base
                        .order((posts::best.desc(), posts::id.desc()))
                        .limit(limit)
                        .load(c)?,
                    (Sort::New, Some(Cursor::New(id))) => base
                        .filter(posts::id.lt(id))
                        .order(posts::id.desc())
                        .limit(limit)
                        .load(c)?,
                    (Sort::New, _) => base.order(posts::id.desc()).limit(limit).load(c)?,
                }
            });
            let more = rows.len() as i64 > PAGE_SIZE;
            let next = if more {
                rows.get(PAGE_SIZE as usize - 1).map(|(p, _)| match sort {
                    Sort::New => Cursor::New(p.id),
                    Sort::Top => Cursor::Top(p.score, p.id),
                    Sort::Best => Cursor::Best(p.best, p.id),
                })
            } else {
                None
            };
            let mut items = assemble(conn, rows, None)?;
            items.truncate(PAGE_SIZE as usize);
            Ok(SortedPage { items, next })
        })
        .await
}

/// Stories carrying a tag (matched case-insensitively), newest first.
pub async fn by_tag(
    svc: &Services,
    tag: &str,
    before: Option<i64>,
) -> Result<Arc<(Tag, Page<StoryView>)>, AppError> {
    let key = normalize_tag(tag);
    let cache_key = format!("tag:{key}:{}", before.unwrap_or(0));
    cached(&svc.lists, cache_key, || load_by_tag(svc, key, before)).await
}

async fn load_by_tag(
    svc: &Services,
    key: String,
    before: Option<i64>,
) -> Result<(Tag, Page<StoryView>), AppError> {
    svc.db
        .run(move |conn| {
            let tag = tags::table
                .filter(tags::name_lower.eq(&key))
                .first::<Tag>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            // Driven by the (tag_id, post_id) primary key, newest first: no scan of posts.
            let rows = post_tags::table
                .inner_join(posts::table.inner_join(accounts::table))
                .filter(post_tags::tag_id.eq(tag.id))
                .filter(post_tags::post_id.lt(before.unwrap_or(i64::MAX)))
                .filter(posts::visibility.eq("public"))
                .filter(posts::in_reply_to_id.is_null())
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(accounts::suspended_at.is_null())
                .order(post_tags::post_id.desc())
                .limit(PAGE_SIZE + 1)
                .select((Post::as_select(), AccountBrief::as_select()))
                .load::<(Post, AccountBrief)>(conn)?;
            Ok((tag, page_of(assemble(conn, rows, None)?, PAGE_SIZE)))
        })
        .await
}

/// An account's stories and its boosts of stories, newest first (a boost by when it was
/// made).
/// Only the stories `viewer` may see are listed (`service::visibility`).
pub async fn by_account(
    svc: &Services,
    account_id: i64,
    before: Option<i64>,
    viewer: Option<i64>,
) -> Result<Arc<Page<StoryView>>, AppError> {
    let key = format!(
        "account:{account_id}:{}:{}",
        before.unwrap_or(0),
        viewer.unwrap_or(0)
    );
    cached(&svc.lists, key, || {
        load_by_account(svc, account_id, before, viewer)
    })
    .await
}

async fn load_by_account(
    svc: &Services,
    account_id: i64,
    before: Option<i64>,
    viewer: Option<i64>,
) -> Result<Page<StoryView>, AppError> {
    use crate::db::schema::announces;
    svc.db
        .run(move |conn| {
            let upper = before.unwrap_or(i64::MAX);
            let query = listed()
                .filter(posts::account_id.eq(account_id))
                .filter(posts::id.lt(upper))
                .order(posts::id.desc())
                .limit(PAGE_SIZE + 1)
                .select((Post::as_select(), AccountBrief::as_select()))
                .into_boxed();
            let rows = visible_to!(query, viewer).load::<(Post, AccountBrief)>(conn)?;
            // Driven by the (account_id, id) index of announces.
            let query = announces::table
                .inner_join(posts::table.inner_join(accounts::table))
                .filter(announces::account_id.eq(account_id))
                .filter(announces::id.lt(upper))
                .filter(posts::in_reply_to_id.is_null())
                .filter(posts::deleted_at.is_null())
                .filter(posts::removed_at.is_null())
                .filter(accounts::suspended_at.is_null())
                .order(announces::id.desc())
                .limit(PAGE_SIZE + 1)
                .select((announces::id, announces::post_id))
                .into_boxed();
            let boosts: Vec<(i64, i64)> = visible_to!(query, viewer).load(conn)?;
            if boosts.is_empty() {
                return Ok(page_of(assemble(conn, rows, None)?, PAGE_SIZE));
            }
            // (key, post id, boost id)
            let mut entries: Vec<(i64, i64, Option<i64>)> = rows
                .iter()
                .map(|(p, _)| (p.id, p.id, None))
                .chain(boosts.iter().map(|&(b, p)| (b, p, Some(b))))
                .collect();
            entries.sort_by_key(|e| std::cmp::Reverse(e.0));
            entries.truncate(PAGE_SIZE as usize + 1);
            let boosted_ids: Vec<i64> = boosts.iter().map(|&(_, p)| p).collect();
            let mut all = rows;
            let have: Vec<i64> = all.iter().map(|(p, _)| p.id).collect();
            let missing: Vec<i64> = boosted_ids
                .into_iter()
                .filter(|id| !have.contains(id))
                .collect();
            if !missing.is_empty() {
                all.extend(
                    posts::table
                        .inner_join(accounts::table)
                        .filter(posts::id.eq_any(&missing))
                        .select((Post::as_select(), AccountBrief::as_select()))
                        .load::<(Post, AccountBrief)>(conn)?,
                );
            }
            let views: HashMap<i64, StoryView> = assemble(conn, all, None)?
                .into_iter()
                .map(|v| (v.id, v))
                .collect();
            let booster: AuthorView = accounts::table
                .find(account_id)
                .select(AccountBrief::as_select())
                .first::<AccountBrief>(conn)?
                .into();
            let items = entries
                .into_iter()
                .filter_map(|(_, post_id, boost)| {
                    let mut v = views.get(&post_id)?.clone();
                    v.boosted = boost.map(|id| BoostedBy {
                        id,
                        by: booster.clone(),
                    });
                    Some(v)
                })
                .collect();
            Ok(page_of(items, PAGE_SIZE))
        })
        .await
}

/// Number of local stories that are not deleted.
pub async fn count_local(svc: &Services) -> Result<i64, AppError> {
    svc.db
        .run(|conn| {
            Ok(posts::table
                .filter(posts::local.eq(true))
                .filter(posts::deleted_at.is_null())
                .filter(posts::in_reply_to_id.is_null())
                .count()
                .get_result(conn)?)
        })
        .await
}
