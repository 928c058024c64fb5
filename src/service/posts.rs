//! Stories and replies as one kind of thing, the way client apps see them ("statuses"):
//! a batch loader that builds a page of posts in a fixed number of queries, and the
//! use-cases of the client API (post, edit, delete, context, votes, reactions). Posting
//! and editing go through the same `stories` and `replies` functions as the web pages.

use std::collections::{HashMap, HashSet};

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::relationships::{AccountView, accounts_page, load_accounts};
use super::timelines::{Paged, Range, keyset};
use super::views::{Engagement, TagRef, load_engagement};
use super::visibility::{self, Audience};
use super::votes::{self, VoteChoice};
use super::{Services, reactions, replies, stories};
use crate::db::models::{Account, IdempotencyKey, Post, PostTag};
use crate::db::schema::{
    accounts, bookmarks, idempotency_keys, post_tags, posts, reactions as reactions_t,
    votes as votes_t,
};
use crate::db::{DbConn, is_unique_violation};
use crate::domain::story::split_status;
use crate::domain::text::normalize_tag;
use crate::error::{AppError, ErrorKind};

/// The longest content warning, in characters.
pub const MAX_SPOILER: usize = crate::domain::text::MAX_CONTENT_WARNING;
/// The longest `Idempotency-Key`, in characters.
pub const MAX_IDEMPOTENCY_KEY: usize = 200;
/// How long an `Idempotency-Key` keeps returning the first post.
pub const IDEMPOTENCY_HOURS: i64 = 1;

/// An account a post mentions (a row of `mentions`; local and remote posts alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionView {
    pub id: i64,
    pub username: String,
    /// `name` for a local account, `name@host` for a remote one.
    pub acct: String,
    /// Its profile page.
    pub url: String,
    /// Its actor id.
    pub ap_id: String,
    pub local: bool,
}

/// A story (with a headline) or a reply, with everything a client app shows.
#[derive(Debug, Clone)]
pub struct PostView {
    pub id: i64,
    pub ap_id: String,
    pub url: String,
    pub local: bool,
    /// Set for stories.
    pub headline: Option<String>,
    /// A local story's headline as safe HTML, its mentions linked (hashtags and URLs stay
    /// text, as the headline of a status has always read).
    pub headline_html: Option<String>,
    /// The source text as typed (for stories: without the headline).
    pub body: String,
    /// Safe HTML of the body.
    pub content_html: String,
    /// The content warning ("" for none).
    pub spoiler_text: String,
    /// Marked sensitive (always with a content warning; possibly without one).
    pub sensitive: bool,
    pub visibility: String,
    pub author: AccountView,
    pub tags: Vec<TagRef>,
    pub mentions: Vec<MentionView>,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub in_reply_to_id: Option<i64>,
    pub in_reply_to_account_id: Option<i64>,
    pub thread_root_id: Option<i64>,
    pub deleted: bool,
    /// Removed by a moderator, or its author is suspended.
    pub removed: bool,
    pub engagement: Engagement,
    /// For a story, all replies in its thread (as the web page counts them); for a
    /// reply, its direct replies that are not deleted.
    pub replies_count: i64,
    /// The viewer bookmarked it.
    pub bookmarked: bool,
    /// Set when the post is shown as someone's boost (timelines, `reblog`).
    pub boost: Option<super::boosts::BoostView>,
    /// Its poll, as the viewer sees it.
    pub poll: Option<super::polls::PollView>,
    /// Its images, in order.
    pub media: Vec<crate::db::models::Media>,
}

impl PostView {
    pub fn is_story(&self) -> bool {
        self.in_reply_to_id.is_none()
    }

    /// Shown in lists and readable by id (not deleted, removed, or by a suspended account).
    pub fn visible(&self) -> bool {
        !self.deleted && !self.removed
    }

    /// The text to edit: for a story the headline, a blank line, then the body; for a
    /// reply its body. Posting this text again gives the same headline and body.
    pub fn source_text(&self) -> String {
        match &self.headline {
            Some(h) if self.body.is_empty() => h.clone(),
            Some(h) => format!("{h}\n\n{}", self.body),
            None => self.body.clone(),
        }
    }
}

/// Loads posts by id, in the order given (ids not found are left out), in a fixed
/// number of queries whatever their number. No visibility check: for the server's own
/// use (federation); what a viewer reads goes through [`load_seen`].
pub fn load_posts(
    conn: &mut DbConn,
    ids: &[i64],
    viewer: Option<i64>,
    base_url: &str,
) -> Result<Vec<PostView>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<Post> = posts::table
        .filter(posts::id.eq_any(ids))
        .select(Post::as_select())
        .load(conn)?;
    let mut views: HashMap<i64, PostView> = assemble_posts(conn, rows, viewer, base_url)?
        .into_iter()
        .map(|v| (v.id, v))
        .collect();
    Ok(ids.iter().filter_map(|id| views.remove(id)).collect())
}

/// [`load_posts`] keeping only the posts `viewer` may see (`service::visibility`): at
/// most two more queries, none when all are public or unlisted.
pub fn load_seen(
    conn: &mut DbConn,
    ids: &[i64],
    viewer: Option<i64>,
    base_url: &str,
) -> Result<Vec<PostView>, AppError> {
    let views = load_posts(conn, ids, viewer, base_url)?;
    visibility::keep_visible(conn, viewer, views, |v| Audience {
        post_id: v.id,
        author_id: v.author.id,
        visibility: &v.visibility,
    })
}

/// Builds views for post rows already loaded (same order), in at most fourteen queries.
pub fn assemble_posts(
    conn: &mut DbConn,
    rows: Vec<Post>,
    viewer: Option<i64>,
    base_url: &str,
) -> Result<Vec<PostView>, AppError> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<i64> = rows.iter().map(|p| p.id).collect();
    let mut engagement = {
        let refs: Vec<&Post> = rows.iter().collect();
        load_engagement(conn, &refs, viewer)?
    };

    let mut tags: HashMap<i64, Vec<TagRef>> = HashMap::new();
    for t in post_tags::table
        .filter(post_tags::post_id.eq_any(&ids))
        .select(PostTag::as_select())
        .load::<PostTag>(conn)?
    {
        tags.entry(t.post_id).or_default().push(TagRef {
            key: normalize_tag(&t.name),
            name: t.name,
        });
    }

    let author_ids: Vec<i64> = unique(rows.iter().map(|p| p.account_id));
    let authors = load_accounts(conn, &author_ids, base_url)?;

    // Mentions: rows of `mentions`, for local and remote posts alike.
    let mut mentioned = super::mentions::views_of(conn, &ids, base_url)?;
    let domain = base_url.split_once("://").map_or(base_url, |(_, d)| d);

    let parent_ids: Vec<i64> = unique(rows.iter().filter_map(|p| p.in_reply_to_id));
    let parent_authors: HashMap<i64, i64> = if parent_ids.is_empty() {
        HashMap::new()
    } else {
        posts::table
            .filter(posts::id.eq_any(&parent_ids))
            .select((posts::id, posts::account_id))
            .load::<(i64, i64)>(conn)?
            .into_iter()
            .collect()
    };

    // A moderator's removal of a story hides its whole thread.
    let root_ids: Vec<i64> = unique(rows.iter().filter_map(|p| p.thread_root_id));
    let removed_roots: HashSet<i64> = if root_ids.is_empty() {
        HashSet::new()
    } else {
        posts::table
            .filter(posts::id.eq_any(&root_ids))
            .filter(posts::removed_at.is_not_null())
            .select(posts::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };

    let reply_ids: Vec<i64> = rows
        .iter()
        .filter(|p| p.in_reply_to_id.is_some())
        .map(|p| p.id)
        .collect();
    let direct_replies: HashMap<i64, i64> = if reply_ids.is_empty() {
        HashMap::new()
    } else {
        posts::table
            .filter(posts::in_reply_to_id.eq_any(&reply_ids))
            .filter(posts::deleted_at.is_null())
            // Counters shown to everybody count public and unlisted posts only.
            .filter(posts::visibility.eq_any([visibility::PUBLIC, visibility::UNLISTED]))
            .group_by(posts::in_reply_to_id)
            .select((posts::in_reply_to_id, diesel::dsl::count_star()))
            .load::<(Option<i64>, i64)>(conn)?
            .into_iter()
            .filter_map(|(id, n)| Some((id?, n)))
            .collect()
    };

    let post_authors: Vec<(i64, i64)> = rows.iter().map(|p| (p.id, p.account_id)).collect();
    let mut polls = super::polls::load(conn, &post_authors, viewer)?;
    let mut media = super::media::load_for_posts(conn, &ids)?;

    let bookmarked: HashSet<i64> = match viewer {
        Some(viewer) => bookmarks::table
            .filter(bookmarks::account_id.eq(viewer))
            .filter(bookmarks::post_id.eq_any(&ids))
            .select(bookmarks::post_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };

    Ok(rows
        .into_iter()
        .filter_map(|p| {
            let author = authors.get(&p.account_id)?.clone();
            let mut post_tags = tags.remove(&p.id).unwrap_or_default();
            post_tags.sort_by(|x, y| x.key.cmp(&y.key));
            let mentions: Vec<MentionView> = mentioned.remove(&p.id).unwrap_or_default();
            let headline_html = p
                .headline
                .as_deref()
                .filter(|_| p.local)
                .map(|h| headline_html(h, &mentions, domain));
            let engagement = engagement.remove(&p.id).unwrap_or_default();
            let replies_count = if p.in_reply_to_id.is_some() {
                direct_replies.get(&p.id).copied().unwrap_or(0)
            } else {
                engagement.reply_count
            };
            Some(PostView {
                // Only an http(s) page (rows stored before links were checked may hold
                // anything), else the id.
                url: p
                    .url
                    .clone()
                    .filter(|u| crate::domain::links::is_web_url(u))
                    .unwrap_or_else(|| p.ap_id.clone()),
                in_reply_to_account_id: p
                    .in_reply_to_id
                    .and_then(|id| parent_authors.get(&id).copied()),
                removed: p.removed_at.is_some()
                    || author.suspended
                    || p.thread_root_id.is_some_and(|r| removed_roots.contains(&r)),
                bookmarked: bookmarked.contains(&p.id),
                boost: None,
                poll: polls.remove(&p.id),
                media: media.remove(&p.id).unwrap_or_default(),
                id: p.id,
                ap_id: p.ap_id,
                local: p.local,
                headline: p.headline,
                headline_html,
                body: p.body,
                content_html: p.content_html,
                spoiler_text: p.spoiler_text,
                sensitive: p.sensitive,
                visibility: p.visibility,
                author,
                tags: post_tags,
                mentions,
                created_at: p.created_at,
                edited_at: p.edited_at,
                in_reply_to_id: p.in_reply_to_id,
                thread_root_id: p.thread_root_id,
                deleted: p.deleted_at.is_some(),
                engagement,
                replies_count,
            })
        })
        .collect())
}

/// A local headline escaped, with the accounts the post mentions linked.
pub(crate) fn headline_html(headline: &str, mentions: &[MentionView], domain: &str) -> String {
    let linker = |name: &str, host: Option<&str>| {
        let acct = match host.filter(|h| *h != domain) {
            Some(h) => format!("{name}@{h}"),
            None => name.to_owned(),
        };
        mentions
            .iter()
            .find(|m| m.acct.eq_ignore_ascii_case(&acct))
            .map(|m| m.url.clone())
    };
    crate::domain::text::escape_with_mentions(headline, &linker)
}

fn unique<T: Eq + std::hash::Hash + Clone>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut seen = HashSet::new();
    items.filter(|i| seen.insert(i.clone())).collect()
}

pub(crate) fn load_visible(
    conn: &mut DbConn,
    id: i64,
    viewer: Option<i64>,
    base: &str,
) -> Result<PostView, AppError> {
    load_seen(conn, &[id], viewer, base)?
        .pop()
        .filter(PostView::visible)
        .ok_or_else(AppError::not_found)
}

/// One post as the viewer sees it. Deleted and removed posts, and those of suspended
/// accounts, are not found (404), as on Mastodon.
pub async fn get_status(
    svc: &Services,
    id: i64,
    viewer: Option<i64>,
) -> Result<PostView, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| load_visible(conn, id, viewer, &base))
        .await
}

/// Posts by id as the viewer sees them, in the order given; missing and hidden ones are
/// left out.
pub async fn get_statuses(
    svc: &Services,
    ids: Vec<i64>,
    viewer: Option<i64>,
) -> Result<Vec<PostView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            Ok(load_seen(conn, &ids, viewer, &base)?
                .into_iter()
                .filter(PostView::visible)
                .collect())
        })
        .await
}

/// A post's content warning and sensitive mark, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContentWarning {
    /// The warning's text ("" for none).
    pub spoiler_text: String,
    /// Set whenever there is a warning; may be set without one.
    pub sensitive: bool,
}

impl ContentWarning {
    /// A warning as typed (trimmed; at most [`MAX_SPOILER`] characters, else an error on
    /// the field `spoiler_text`), sensitive when asked or when there is a warning.
    pub fn new(spoiler_text: &str, sensitive: bool) -> Result<ContentWarning, AppError> {
        let spoiler_text = check_spoiler(spoiler_text)?;
        Ok(ContentWarning {
            sensitive: sensitive || !spoiler_text.is_empty(),
            spoiler_text,
        })
    }
}

/// What a post gets besides its text when it comes from a client app. Applied inside the
/// transaction that inserts the post.
#[derive(Debug, Clone, Default)]
pub struct PostExtras {
    /// The content warning and sensitive mark (stored with the row).
    pub warning: ContentWarning,
    /// `None` keeps the default: public for stories, the parent's for replies (a reply's
    /// is narrowed to its parent's when wider).
    pub visibility: Option<String>,
    /// The client's `Idempotency-Key`: the same key from the same account within
    /// [`IDEMPOTENCY_HOURS`] returns the first post instead of making a second one.
    pub idempotency_key: Option<String>,
    /// A poll to attach (checked).
    pub poll: Option<super::polls::NewPoll>,
    /// Uploads to attach, in order (see `media::attach`).
    pub media_ids: Vec<i64>,
}

/// The error that rolls back a second post with an idempotency key already used.
const REPLAY: &str = "idempotent replay";

fn is_replay(e: &AppError) -> bool {
    matches!(&e.kind, ErrorKind::Conflict(m) if m == REPLAY)
}

fn idempotency_cutoff() -> NaiveDateTime {
    Utc::now().naive_utc() - Duration::hours(IDEMPOTENCY_HOURS)
}

/// The post an idempotency key made within the last hour.
fn find_idempotent(conn: &mut DbConn, account_id: i64, key: &str) -> Result<Option<i64>, AppError> {
    Ok(idempotency_keys::table
        .filter(idempotency_keys::account_id.eq(account_id))
        .filter(idempotency_keys::key.eq(key))
        .filter(idempotency_keys::created_at.gt(idempotency_cutoff()))
        .select(idempotency_keys::post_id)
        .first::<i64>(conn)
        .optional()?)
}

/// Stores a post's visibility, idempotency key and poll; called by `stories` and `replies`
/// inside the transaction that inserted the post (the warning is in the row itself).
pub(crate) fn apply_extras(
    conn: &mut DbConn,
    post_id: i64,
    account_id: i64,
    extras: &PostExtras,
) -> Result<(), AppError> {
    if let Some(v) = &extras.visibility {
        diesel::update(posts::table.find(post_id))
            .set(posts::visibility.eq(v))
            .execute(conn)?;
    }
    if let Some(key) = &extras.idempotency_key {
        let existing = idempotency_keys::table
            .filter(idempotency_keys::account_id.eq(account_id))
            .filter(idempotency_keys::key.eq(key))
            .select(idempotency_keys::created_at)
            .first::<NaiveDateTime>(conn)
            .optional()?;
        match existing {
            Some(at) if at > idempotency_cutoff() => return Err(AppError::conflict(REPLAY)),
            Some(_) => {
                diesel::delete(
                    idempotency_keys::table
                        .filter(idempotency_keys::account_id.eq(account_id))
                        .filter(idempotency_keys::key.eq(key)),
                )
                .execute(conn)?;
            }
            None => {}
        }
        let inserted = diesel::insert_into(idempotency_keys::table)
            .values(&IdempotencyKey {
                account_id,
                key: key.clone(),
                post_id,
                created_at: Utc::now().naive_utc(),
            })
            .execute(conn);
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(AppError::conflict(REPLAY)),
            Err(e) => return Err(AppError::internal(e)),
        }
    }
    if let Some(poll) = &extras.poll {
        super::polls::insert(conn, post_id, poll)?;
    }
    if !extras.media_ids.is_empty() {
        super::media::attach(conn, account_id, post_id, &extras.media_ids)?;
    }
    Ok(())
}

/// A status as a client app sends it.
#[derive(Debug, Clone, Default)]
pub struct NewStatus {
    pub text: String,
    /// Makes it a reply.
    pub in_reply_to_id: Option<i64>,
    pub spoiler_text: String,
    /// `sensitive` (also set by a content warning).
    pub sensitive: bool,
    /// One of [`VISIBILITIES`] (`None`: public for a story, the parent's for a reply;
    /// a reply's is never wider than its parent's).
    pub visibility: Option<String>,
    pub idempotency_key: Option<String>,
    /// Our extension: the headline of a story. Without it the first line of the text is
    /// the headline and the rest the body.
    pub headline: Option<String>,
    /// `poll[…]`: a poll to attach.
    pub poll: Option<super::polls::NewPoll>,
    /// `media_ids[]`: uploads to attach.
    pub media_ids: Vec<i64>,
}

/// The four visibilities, widest first (docs/visibility.md).
pub const VISIBILITIES: [&str; 4] = ["public", "unlisted", "private", "direct"];

/// The narrower of two visibilities (`public` > `unlisted` > `private` > `direct`); an
/// unknown value counts as `direct`.
pub fn narrower<'a>(a: &'a str, b: &'a str) -> &'a str {
    let rank = |v: &str| VISIBILITIES.iter().position(|x| *x == v).unwrap_or(3);
    if rank(a) >= rank(b) { a } else { b }
}

/// A visibility as a client or a form sends it: one of [`VISIBILITIES`], or nothing
/// (`None`: the default).
pub fn check_visibility(v: Option<&str>) -> Result<Option<String>, AppError> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if VISIBILITIES.contains(&v) => Ok(Some(v.to_owned())),
        Some(_) => Err(AppError::field(
            "visibility",
            "Visibility is public, unlisted, private or direct.",
        )),
    }
}

fn check_spoiler(s: &str) -> Result<String, AppError> {
    let s = s.trim();
    let n = s.chars().count();
    if n > MAX_SPOILER {
        return Err(AppError::field(
            "spoiler_text",
            format!("A content warning has at most {MAX_SPOILER} characters (this one has {n})."),
        ));
    }
    Ok(s.to_owned())
}

fn blank_text() -> AppError {
    AppError::field("status", "Validation failed: Text can't be blank")
}

/// Posts a status: a reply when `in_reply_to_id` is set, otherwise a story (see
/// [`NewStatus::headline`]). With an idempotency key used within the last hour, returns
/// the post made the first time.
pub async fn create_status(
    svc: &Services,
    author: &Account,
    status: NewStatus,
) -> Result<PostView, AppError> {
    let visibility = check_visibility(status.visibility.as_deref())?;
    let warning = ContentWarning::new(&status.spoiler_text, status.sensitive)?;
    let key = status
        .idempotency_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| k.chars().take(MAX_IDEMPOTENCY_KEY).collect::<String>());
    let author_id = author.id;
    if let Some(key) = key.clone() {
        let earlier = svc
            .db
            .run(move |conn| find_idempotent(conn, author_id, &key))
            .await?;
        if let Some(id) = earlier {
            return get_own(svc, id, author_id).await;
        }
    }
    let headline = status
        .headline
        .as_deref()
        .map(str::trim)
        .filter(|h| !h.is_empty());
    if status.text.trim().is_empty() && (headline.is_none() || status.in_reply_to_id.is_some()) {
        return Err(blank_text());
    }
    if status.poll.is_some() && !status.media_ids.is_empty() {
        return Err(AppError::field(
            "media_ids",
            "A post can carry a poll or images, not both.",
        ));
    }
    let extras = PostExtras {
        warning,
        visibility,
        idempotency_key: key.clone(),
        poll: status.poll,
        media_ids: status.media_ids,
    };
    let made = match status.in_reply_to_id {
        Some(parent) => {
            // The parent must be visible to be replied to (404 rather than 410).
            get_status(svc, parent, Some(author_id)).await?;
            replies::reply_with(svc, author, parent, &status.text, extras).await
        }
        None => {
            let (headline, body) = match headline {
                Some(h) => (h.to_owned(), status.text.trim().to_owned()),
                None => split_status(&status.text),
            };
            stories::create_status(svc, author, &headline, &body, extras).await
        }
    };
    let id = match made {
        Ok(id) => id,
        Err(e) if is_replay(&e) => {
            // A concurrent request with the same key won.
            let key = key.unwrap_or_default();
            svc.db
                .run(move |conn| find_idempotent(conn, author_id, &key))
                .await?
                .ok_or(e)?
        }
        Err(e) => return Err(e),
    };
    get_own(svc, id, author_id).await
}

/// A post as its author sees it right after acting on it (even if it was since deleted).
async fn get_own(svc: &Services, id: i64, viewer: i64) -> Result<PostView, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            load_posts(conn, &[id], Some(viewer), &base)?
                .pop()
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// What an edit of a status from a client app changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct StatusEdit<'a> {
    pub text: &'a str,
    pub spoiler_text: Option<&'a str>,
    pub sensitive: Option<bool>,
    pub headline: Option<&'a str>,
    /// The images, replacing the post's (`Some(vec![])` removes them).
    pub media_ids: Option<Vec<i64>>,
}

/// Edits a status (its author only): the text (and, for stories, the headline, taken from
/// the first line unless given), the content warning and the sensitive mark (`None`
/// keeps what the post has; a new warning makes it sensitive, as when posting).
pub async fn update_status(
    svc: &Services,
    editor: &Account,
    id: i64,
    edit: StatusEdit<'_>,
) -> Result<PostView, AppError> {
    let StatusEdit {
        text,
        spoiler_text,
        sensitive,
        headline,
        media_ids,
    } = edit;
    let current = get_status(svc, id, Some(editor.id)).await?;
    if current.author.id != editor.id {
        return Err(AppError::forbidden());
    }
    let spoiler = match (spoiler_text, sensitive) {
        (None, None) => None,
        (Some(s), sensitive) => Some(ContentWarning::new(s, sensitive.unwrap_or(false))?),
        (None, Some(sensitive)) => Some(ContentWarning::new(&current.spoiler_text, sensitive)?),
    };
    let headline = headline.map(str::trim).filter(|h| !h.is_empty());
    if text.trim().is_empty() && (headline.is_none() || !current.is_story()) {
        return Err(blank_text());
    }
    if let Some(ids) = media_ids {
        if current.poll.is_some() && !ids.is_empty() {
            return Err(AppError::field(
                "media_ids",
                "A post can carry a poll or images, not both.",
            ));
        }
        super::media::reattach(svc, editor.id, id, ids).await?;
    }
    if current.is_story() {
        if text.trim().is_empty() && headline.is_none() {
            return Err(blank_text());
        }
        let (headline, body) = match headline {
            Some(h) => (h.to_owned(), text.trim().to_owned()),
            None => split_status(text),
        };
        stories::update_status(svc, editor, id, &headline, &body, spoiler).await?;
    } else {
        if text.trim().is_empty() {
            return Err(blank_text());
        }
        replies::update(svc, editor, id, text, spoiler).await?;
    }
    get_own(svc, id, editor.id).await
}

/// Deletes a status (its author only) and returns it as it was, source text included.
pub async fn delete_status(svc: &Services, actor: &Account, id: i64) -> Result<PostView, AppError> {
    let view = get_status(svc, id, Some(actor.id)).await?;
    if view.author.id != actor.id {
        return Err(AppError::forbidden());
    }
    if view.is_story() {
        stories::delete(svc, actor, id).await?;
    } else {
        replies::delete(svc, actor, id).await?;
    }
    Ok(view)
}

/// The posts above a post in its thread (the story first, down to its parent) and those
/// below it (depth first, oldest first among siblings). Deleted and removed posts are
/// left out.
pub async fn context(
    svc: &Services,
    id: i64,
    viewer: Option<i64>,
) -> Result<(Vec<PostView>, Vec<PostView>), AppError> {
    let post = get_status(svc, id, viewer).await?;
    let root_id = post.thread_root_id.unwrap_or(post.id);
    let thread = replies::thread(svc, root_id, replies::ThreadSort::Oldest, viewer).await?;
    let parent_of: HashMap<i64, i64> = thread.iter().map(|r| (r.id, r.parent_id)).collect();
    let mut ancestors: Vec<i64> = Vec::new();
    let mut at = post.in_reply_to_id;
    while let Some(p) = at {
        if ancestors.contains(&p) {
            break;
        }
        ancestors.push(p);
        at = parent_of.get(&p).copied();
    }
    ancestors.reverse();
    let descendants: Vec<i64> = match thread.iter().position(|r| r.id == id) {
        Some(i) => {
            let depth = thread[i].depth;
            thread[i + 1..]
                .iter()
                .take_while(|r| r.depth > depth)
                .map(|r| r.id)
                .collect()
        }
        // The story itself: its whole thread.
        None if post.is_story() => thread.iter().map(|r| r.id).collect(),
        None => Vec::new(),
    };
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            let mut all = ancestors.clone();
            all.extend(&descendants);
            let mut views: HashMap<i64, PostView> = load_seen(conn, &all, viewer, &base)?
                .into_iter()
                .filter(PostView::visible)
                .map(|v| (v.id, v))
                .collect();
            let up = ancestors.iter().filter_map(|i| views.remove(i)).collect();
            let down = descendants.iter().filter_map(|i| views.remove(i)).collect();
            Ok((up, down))
        })
        .await
}

/// Votes on a visible post and returns it as the voter now sees it.
pub async fn vote(
    svc: &Services,
    voter: &Account,
    id: i64,
    choice: VoteChoice,
) -> Result<PostView, AppError> {
    get_status(svc, id, Some(voter.id)).await?;
    votes::vote(svc, voter, id, choice).await?;
    get_status(svc, id, Some(voter.id)).await
}

/// Takes back the voter's vote if it is `value` (1: up, -1: down); another vote stays.
pub async fn take_back_vote(
    svc: &Services,
    voter: &Account,
    id: i64,
    value: i32,
) -> Result<PostView, AppError> {
    let view = get_status(svc, id, Some(voter.id)).await?;
    if view.engagement.my_vote != value {
        return Ok(view);
    }
    votes::vote(svc, voter, id, VoteChoice::Clear).await?;
    get_status(svc, id, Some(voter.id)).await
}

/// Adds an emoji reaction to a visible post and returns the post.
pub async fn react(
    svc: &Services,
    account: &Account,
    id: i64,
    emoji: &str,
) -> Result<PostView, AppError> {
    get_status(svc, id, Some(account.id)).await?;
    reactions::react(svc, account, id, emoji).await?;
    get_status(svc, id, Some(account.id)).await
}

/// Takes an emoji reaction back and returns the post.
pub async fn unreact(
    svc: &Services,
    account: &Account,
    id: i64,
    emoji: &str,
) -> Result<PostView, AppError> {
    get_status(svc, id, Some(account.id)).await?;
    reactions::unreact(svc, account, id, emoji).await?;
    get_status(svc, id, Some(account.id)).await
}

/// One emoji's reactions on a post, with who reacted.
#[derive(Debug, Clone)]
pub struct ReactionGroup {
    pub emoji: String,
    pub count: i64,
    pub me: bool,
    pub accounts: Vec<AccountView>,
}

/// A post's reactions grouped by emoji (most used first), with the accounts.
pub async fn reactions_of(
    svc: &Services,
    id: i64,
    viewer: Option<i64>,
) -> Result<Vec<ReactionGroup>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            load_visible(conn, id, viewer, &base)?;
            let rows: Vec<(String, i64)> = reactions_t::table
                .inner_join(accounts::table.on(accounts::id.eq(reactions_t::account_id)))
                .filter(reactions_t::post_id.eq(id))
                .filter(accounts::suspended_at.is_null())
                .order(reactions_t::id.asc())
                .select((reactions_t::emoji, reactions_t::account_id))
                .load(conn)?;
            let account_ids = unique(rows.iter().map(|(_, a)| *a));
            let accounts = load_accounts(conn, &account_ids, &base)?;
            let mut groups: Vec<ReactionGroup> = Vec::new();
            for (emoji, account_id) in rows {
                let i = match groups.iter().position(|g| g.emoji == emoji) {
                    Some(i) => i,
                    None => {
                        groups.push(ReactionGroup {
                            emoji,
                            count: 0,
                            me: false,
                            accounts: Vec::new(),
                        });
                        groups.len() - 1
                    }
                };
                let g = &mut groups[i];
                g.count += 1;
                g.me |= viewer == Some(account_id);
                if let Some(a) = accounts.get(&account_id) {
                    g.accounts.push(a.clone());
                }
            }
            groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.emoji.cmp(&b.emoji)));
            Ok(groups)
        })
        .await
}

/// Who up-voted a post, most recent first; paged by the vote's id.
pub async fn favourited_by(
    svc: &Services,
    id: i64,
    viewer: Option<i64>,
    range: Range,
) -> Result<Paged<AccountView>, AppError> {
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            load_visible(conn, id, viewer, &base)?;
            let rows: Vec<(i64, i64)> = keyset!(
                votes_t::table
                    .filter(votes_t::post_id.eq(id))
                    .filter(votes_t::value.eq(1))
                    .select((votes_t::id, votes_t::account_id)),
                votes_t::id,
                range,
                conn
            );
            accounts_page(conn, rows, &base)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visibilities_are_checked_and_ordered() {
        assert_eq!(check_visibility(None).unwrap(), None);
        assert_eq!(check_visibility(Some("")).unwrap(), None);
        for v in VISIBILITIES {
            assert_eq!(check_visibility(Some(v)).unwrap().as_deref(), Some(v));
        }
        assert!(check_visibility(Some("secret")).is_err());
        assert_eq!(narrower("public", "private"), "private");
        assert_eq!(narrower("direct", "unlisted"), "direct");
        assert_eq!(narrower("unlisted", "unlisted"), "unlisted");
    }

    #[test]
    fn spoilers_are_bounded() {
        assert_eq!(check_spoiler("  cw ").unwrap(), "cw");
        assert!(check_spoiler(&"x".repeat(MAX_SPOILER + 1)).is_err());
    }
}
