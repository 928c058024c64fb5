//! Replies: to a story or to a reply; threads nest and sort Latest / Oldest / Best.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::mentions;
use super::notifications::{self, Kind};
use super::posts::{ContentWarning, PostExtras, apply_extras, check_visibility, narrower};
use super::stories::{ensure_tags, link_tags, render_mentions, rewrite, soft_delete};
use super::views::{AuthorView, Engagement, load_engagement, warning_text};
use super::visibility::{self, visible_to};
use super::{Services, lock_post};
use crate::db::models::{Account, AccountBrief, NewPost, Post};
use crate::db::schema::{accounts, posts, story_follows};
use crate::db::{DbConn, ids, write_tx};
use crate::domain::scoring;
use crate::error::AppError;
use crate::federation::outbox::{self, PostEvent};

pub const MAX_REPLY: usize = 10_000;
/// The most replies one thread page loads.
pub const MAX_THREAD: i64 = 2_000;

/// The path of a post's page: `/stories/ID` for stories, `/replies/ID` for replies.
pub fn post_path(p: &Post) -> String {
    if p.in_reply_to_id.is_some() {
        format!("/replies/{}", p.id)
    } else {
        format!("/stories/{}", p.id)
    }
}

fn check_body(body: &str) -> Result<String, AppError> {
    let body = body.trim();
    if body.is_empty() {
        return Err(AppError::field("body", "Write your reply."));
    }
    let n = body.chars().count();
    if n > MAX_REPLY {
        return Err(AppError::field(
            "body",
            format!("A reply has at most {MAX_REPLY} characters (this one has {n})."),
        ));
    }
    Ok(body.to_owned())
}

/// Publishes a reply to a story or a reply, with an optional content warning ("" for
/// none) and visibility ("" for the parent's; never wider than it). Notifies the
/// parent's author, the accounts mentioned, and the story's followers; returns the
/// reply's id.
pub async fn reply(
    svc: &Services,
    author: &Account,
    parent_id: i64,
    body: &str,
    content_warning: &str,
    visibility: &str,
) -> Result<i64, AppError> {
    let extras = PostExtras {
        warning: ContentWarning::new(content_warning, false)?,
        visibility: check_visibility(Some(visibility))?,
        ..PostExtras::default()
    };
    reply_with(svc, author, parent_id, body, extras).await
}

/// [`reply`] with what a client app may add (content warning, idempotency key), stored
/// in the same transaction.
pub async fn reply_with(
    svc: &Services,
    author: &Account,
    parent_id: i64,
    body: &str,
    extras: PostExtras,
) -> Result<i64, AppError> {
    let body = check_body(body)?;
    let author_id = author.id;
    let urls = crate::federation::urls(svc);
    let visibility = extras.visibility.clone();
    svc.db
        .run(move |conn| {
            let named = mentions::named_in(conn, &body, &urls.domain, &urls.base)?;
            let html = render_mentions(&body, &urls, &named);
            let tags = ensure_tags(conn, &body)?;
            write_tx(conn, |conn| {
                // A post the author may not see cannot be replied to (404).
                visibility::ensure_id(conn, Some(author_id), parent_id)?;
                let id = ids::new_id();
                let ap_id = format!("{}/replies/{id}", urls.base);
                let mentioned = mentions::ids(&named);
                insert_reply(
                    conn,
                    &NewReply {
                        id,
                        author_id,
                        parent_id,
                        ap_id: &ap_id,
                        url: Some(&ap_id),
                        local: true,
                        body: &body,
                        content_html: &html,
                        visibility: visibility.as_deref(),
                        created_at: Utc::now().naive_utc(),
                        tags,
                        mentioned: &mentioned,
                        warning: &extras.warning,
                    },
                )?;
                // The visibility was chosen by `insert_reply` (never wider than the parent's).
                let extras = PostExtras {
                    visibility: None,
                    ..extras.clone()
                };
                apply_extras(conn, id, author_id, &extras)?;
                outbox::post_event(conn, &urls, id, PostEvent::Created)?;
                Ok(id)
            })
        })
        .await
}

/// A reply to store, local or received from another server.
pub(crate) struct NewReply<'a> {
    pub id: i64,
    pub author_id: i64,
    pub parent_id: i64,
    pub ap_id: &'a str,
    pub url: Option<&'a str>,
    pub local: bool,
    pub body: &'a str,
    pub content_html: &'a str,
    /// `None`: the parent's visibility. A local reply's is never wider than its
    /// parent's (a wider one is narrowed); a remote reply keeps what its server says.
    pub visibility: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub tags: Vec<(i64, String)>,
    /// Accounts mentioned, local and remote (stored as `mentions`; the local ones are
    /// notified). A local reply also mentions its parent's author.
    pub mentioned: &'a [i64],
    pub warning: &'a ContentWarning,
}

/// Stores a reply inside a write transaction (the body of [`reply_with`], shared with the
/// inbox): locks the parent and the story, counts the reply, links its tags, and notifies
/// the parent's author, the accounts mentioned and the story's followers.
pub(crate) fn insert_reply(conn: &mut DbConn, r: &NewReply<'_>) -> Result<(), AppError> {
    let (id, author_id) = (r.id, r.author_id);
    let parent = lock_post(conn, r.parent_id)?;
    let root_id = parent.thread_root_id.unwrap_or(parent.id);
    if root_id != parent.id {
        lock_post(conn, root_id)?;
    }
    let visibility = match r.visibility {
        None => parent.visibility.clone(),
        Some(v) if r.local => narrower(v, &parent.visibility).to_owned(),
        Some(v) => v.to_owned(),
    };
    diesel::insert_into(posts::table)
        .values(&NewPost {
            id,
            account_id: author_id,
            ap_id: r.ap_id,
            url: r.url,
            local: r.local,
            headline: None,
            body: r.body,
            content_html: r.content_html,
            in_reply_to_id: Some(parent.id),
            thread_root_id: Some(root_id),
            visibility: &visibility,
            created_at: r.created_at,
            updated_at: r.created_at,
            spoiler_text: &r.warning.spoiler_text,
            sensitive: r.warning.sensitive,
        })
        .execute(conn)?;
    // The thread's counter is shown to everybody: public and unlisted replies only.
    if visibility::is_open(&visibility) {
        diesel::update(posts::table.find(root_id))
            .set(posts::reply_count.eq(posts::reply_count + 1))
            .execute(conn)?;
    }
    link_tags(conn, id, r.tags.clone())?;

    let mut told: HashSet<i64> = HashSet::from([author_id]);
    if told.insert(parent.account_id) {
        notifications::notify(
            conn,
            parent.account_id,
            Kind::Reply,
            author_id,
            Some(id),
            "",
        )?;
    }
    mentions::record(
        conn,
        id,
        author_id,
        &reply_mentions(r.mentioned, r.local, author_id, parent.account_id),
        &mut told,
    )?;
    let followers: Vec<i64> = story_follows::table
        .filter(story_follows::post_id.eq(root_id))
        .select(story_follows::account_id)
        .load(conn)?;
    for follower in followers {
        if told.insert(follower) {
            notifications::notify(conn, follower, Kind::FollowedReply, author_id, Some(id), "")?;
        }
    }
    Ok(())
}

/// The accounts a reply mentions: those named, and for a local reply its parent's author
/// (as Mastodon apps prefix `@author`, so a direct reply reaches them).
fn reply_mentions(named: &[i64], local: bool, author_id: i64, parent_author: i64) -> Vec<i64> {
    let mut out = named.to_vec();
    if local && parent_author != author_id && !out.contains(&parent_author) {
        out.push(parent_author);
    }
    out
}

/// Edits a reply (its author only): the text, and the content warning when given.
pub async fn update(
    svc: &Services,
    editor: &Account,
    id: i64,
    body: &str,
    warning: Option<ContentWarning>,
) -> Result<(), AppError> {
    let body = check_body(body)?;
    let editor_id = editor.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .run(move |conn| {
            let named = mentions::named_in(conn, &body, &urls.domain, &urls.base)?;
            let html = render_mentions(&body, &urls, &named);
            let tags = ensure_tags(conn, &body)?;
            write_tx(conn, |conn| {
                let post = lock_post(conn, id)?;
                if post.in_reply_to_id.is_none() {
                    return Err(AppError::not_found());
                }
                if post.account_id != editor_id {
                    return Err(AppError::forbidden());
                }
                rewrite(conn, id, &body, &html, warning.as_ref(), tags)?;
                let parent_author = match post.in_reply_to_id {
                    Some(p) => posts::table
                        .find(p)
                        .select(posts::account_id)
                        .first::<i64>(conn)?,
                    None => editor_id,
                };
                let mentioned =
                    reply_mentions(&mentions::ids(&named), true, editor_id, parent_author);
                mentions::record(conn, id, editor_id, &mentioned, &mut HashSet::new())?;
                outbox::post_event(conn, &urls, id, PostEvent::Updated)
            })
        })
        .await
}

/// Deletes a reply (its author or a moderator); it stays in the thread as "deleted" so the
/// replies under it keep their place.
pub async fn delete(svc: &Services, actor: &Account, id: i64) -> Result<(), AppError> {
    let (actor_id, is_mod) = (actor.id, actor.is_admin || actor.is_moderator);
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            let post = lock_post(conn, id)?;
            if post.in_reply_to_id.is_none() {
                return Err(AppError::not_found());
            }
            soft_delete(conn, &post, actor_id, is_mod)?;
            outbox::post_event(conn, &urls, id, PostEvent::Deleted)
        })
        .await
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadSort {
    Latest,
    Oldest,
    Best,
}

impl ThreadSort {
    pub fn parse(s: Option<&str>) -> ThreadSort {
        match s {
            Some("oldest") => ThreadSort::Oldest,
            Some("best") => ThreadSort::Best,
            _ => ThreadSort::Latest,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ThreadSort::Latest => "latest",
            ThreadSort::Oldest => "oldest",
            ThreadSort::Best => "best",
        }
    }

    /// "latest first", "oldest first", "best first".
    pub fn label(self) -> &'static str {
        match self {
            ThreadSort::Latest => "latest first",
            ThreadSort::Oldest => "oldest first",
            ThreadSort::Best => "best first",
        }
    }
}

/// One reply in a flattened thread (pre-order), with its depth for indentation.
#[derive(Debug, Clone)]
pub struct ReplyView {
    pub id: i64,
    pub parent_id: i64,
    pub root_id: i64,
    pub depth: usize,
    pub author: AuthorView,
    pub content_html: String,
    /// The content warning ("" for none).
    pub spoiler_text: String,
    pub sensitive: bool,
    pub created_at: NaiveDateTime,
    pub deleted: bool,
    pub removed: bool,
    pub engagement: Engagement,
    best: f64,
}

impl ReplyView {
    pub fn path(&self) -> String {
        format!("/replies/{}", self.id)
    }

    /// What the content is hidden behind, if anything (see [`warning_text`]).
    pub fn warning(&self) -> Option<String> {
        warning_text(&self.spoiler_text, self.sensitive)
    }

    /// Whether the content is shown (not deleted, removed, or by a suspended account).
    pub fn visible(&self) -> bool {
        !self.deleted && !self.removed
    }

    pub fn created_rfc3339(&self) -> String {
        crate::domain::time::rfc3339(&self.created_at)
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }

    /// Indentation, capped so deep threads stay readable on a phone.
    pub fn indent(&self) -> usize {
        self.depth.min(6)
    }
}

/// The replies of a story as a flattened tree: each reply followed by its own replies,
/// siblings in the chosen order.
pub async fn thread(
    svc: &Services,
    root_id: i64,
    sort: ThreadSort,
    viewer: Option<i64>,
) -> Result<Vec<ReplyView>, AppError> {
    svc.db
        .run(move |conn| {
            // Replies the viewer may not see are left out, and so are those under them.
            let query = posts::table
                .inner_join(accounts::table)
                .filter(posts::thread_root_id.eq(root_id))
                .order(posts::id.asc())
                .limit(MAX_THREAD)
                .select((
                    Post::as_select(),
                    AccountBrief::as_select(),
                    accounts::suspended_at,
                ))
                .into_boxed();
            let rows: Vec<(Post, AccountBrief, Option<NaiveDateTime>)> =
                visible_to!(query, viewer).load(conn)?;
            let mut engagement = {
                let posts: Vec<&Post> = rows.iter().map(|(p, _, _)| p).collect();
                load_engagement(conn, &posts, viewer)?
            };
            let views: Vec<ReplyView> = rows
                .into_iter()
                .map(|(p, a, suspended)| ReplyView {
                    id: p.id,
                    parent_id: p.in_reply_to_id.unwrap_or(root_id),
                    root_id,
                    depth: 0,
                    author: a.into(),
                    content_html: p.content_html,
                    spoiler_text: p.spoiler_text,
                    sensitive: p.sensitive,
                    created_at: p.created_at,
                    deleted: p.deleted_at.is_some(),
                    removed: p.removed_at.is_some() || suspended.is_some(),
                    engagement: engagement.remove(&p.id).unwrap_or_default(),
                    best: scoring::wilson_lower_bound(p.up_count, p.down_count),
                })
                .collect();
            Ok(flatten(views, root_id, sort))
        })
        .await
}

/// Orders replies as a tree under `root_id` (pre-order, depth set).
fn flatten(views: Vec<ReplyView>, root_id: i64, sort: ThreadSort) -> Vec<ReplyView> {
    let mut children: HashMap<i64, Vec<ReplyView>> = HashMap::new();
    for v in views {
        children.entry(v.parent_id).or_default().push(v);
    }
    for list in children.values_mut() {
        match sort {
            ThreadSort::Latest => list.sort_by_key(|r| std::cmp::Reverse(r.id)),
            ThreadSort::Oldest => list.sort_by_key(|r| r.id),
            ThreadSort::Best => list.sort_by(|a, b| {
                b.best
                    .total_cmp(&a.best)
                    .then(b.engagement.score.cmp(&a.engagement.score))
                    .then(a.id.cmp(&b.id))
            }),
        }
    }
    let mut out = Vec::new();
    walk(&mut children, root_id, 0, &mut out);
    out
}

fn walk(
    children: &mut HashMap<i64, Vec<ReplyView>>,
    parent: i64,
    depth: usize,
    out: &mut Vec<ReplyView>,
) {
    if let Some(kids) = children.remove(&parent) {
        for mut kid in kids {
            kid.depth = depth;
            let id = kid.id;
            out.push(kid);
            walk(children, id, depth + 1, out);
        }
    }
}

/// A reply with the story it belongs to and the replies under it (depth counted from
/// the reply, so its direct replies have depth 1).
pub struct ReplyPage {
    pub reply: ReplyView,
    pub story_id: i64,
    pub story_headline: String,
    pub parent_path: String,
    pub below: Vec<ReplyView>,
}

pub async fn get(svc: &Services, id: i64, viewer: Option<i64>) -> Result<ReplyPage, AppError> {
    let (root_id, parent_id, headline, parent_is_reply) = svc
        .db
        .run(move |conn| {
            let p = posts::table
                .find(id)
                .first::<Post>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let (Some(root_id), Some(parent_id)) = (p.thread_root_id, p.in_reply_to_id) else {
                return Err(AppError::not_found());
            };
            let root = posts::table.find(root_id).first::<Post>(conn)?;
            // The story above must be one the viewer may see (its headline is shown).
            visibility::ensure(conn, viewer, root.audience())?;
            if root.removed_at.is_some() {
                return Err(AppError::gone());
            }
            let headline = if root.deleted_at.is_some() {
                "(deleted story)".to_owned()
            } else {
                root.headline.unwrap_or_default()
            };
            Ok((root_id, parent_id, headline, parent_id != root_id))
        })
        .await?;
    let all = thread(svc, root_id, ThreadSort::Oldest, viewer).await?;
    let at = all
        .iter()
        .position(|r| r.id == id)
        .ok_or_else(AppError::not_found)?;
    let depth = all[at].depth;
    let mut below: Vec<ReplyView> = all[at + 1..]
        .iter()
        .take_while(|r| r.depth > depth)
        .cloned()
        .collect();
    for r in &mut below {
        r.depth -= depth;
    }
    let mut reply = all[at].clone();
    reply.depth = 0;
    Ok(ReplyPage {
        reply,
        story_id: root_id,
        story_headline: headline,
        parent_path: if parent_is_reply {
            format!("/replies/{parent_id}")
        } else {
            format!("/stories/{parent_id}")
        },
        below,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(id: i64, parent: i64, up: i64, down: i64) -> ReplyView {
        ReplyView {
            id,
            parent_id: parent,
            root_id: 1,
            depth: 0,
            author: AuthorView {
                id: 1,
                username: "a".into(),
                domain: None,
                display_name: String::new(),
            },
            content_html: String::new(),
            spoiler_text: String::new(),
            sensitive: false,
            created_at: Utc::now().naive_utc(),
            deleted: false,
            removed: false,
            engagement: Engagement {
                up,
                down,
                score: up - down,
                ..Engagement::default()
            },
            best: scoring::wilson_lower_bound(up, down),
        }
    }

    #[test]
    fn threads_nest_and_sort() {
        // 1 is the story; 10 and 20 reply to it; 11 and 12 reply to 10; 13 replies to 11.
        let views = || {
            vec![
                view(10, 1, 1, 0),
                view(11, 10, 0, 0),
                view(12, 10, 5, 0),
                view(13, 11, 0, 0),
                view(20, 1, 9, 1),
            ]
        };
        let order = |s| {
            flatten(views(), 1, s)
                .iter()
                .map(|v| (v.id, v.depth))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            order(ThreadSort::Oldest),
            [(10, 0), (11, 1), (13, 2), (12, 1), (20, 0)]
        );
        assert_eq!(
            order(ThreadSort::Latest),
            [(20, 0), (10, 0), (12, 1), (11, 1), (13, 2)]
        );
        assert_eq!(
            order(ThreadSort::Best),
            [(20, 0), (10, 0), (12, 1), (11, 1), (13, 2)]
        );
    }
}
