//! What the service layer hands to pages and the API: assembled from rows, never rows.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::DbConn;
use crate::db::models::{AccountBrief, Post, PostTag};
use crate::db::schema::{announces, post_tags, reactions, votes};
use crate::domain::html::split_first_line;
use crate::domain::scoring;
use crate::error::AppError;

#[derive(Debug, Clone)]
pub struct AuthorView {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub display_name: String,
}

impl AuthorView {
    /// `@name` for local accounts, `@name@domain` for remote ones.
    pub fn handle(&self) -> String {
        match &self.domain {
            Some(d) => format!("@{}@{}", self.username, d),
            None => format!("@{}", self.username),
        }
    }

    /// The name to show: the display name, or the username when none is set.
    pub fn shown_name(&self) -> &str {
        if self.display_name.is_empty() {
            &self.username
        } else {
            &self.display_name
        }
    }

    /// Path of the profile page on this instance.
    pub fn profile_path(&self) -> String {
        format!("/{}", self.handle())
    }
}

impl From<AccountBrief> for AuthorView {
    fn from(a: AccountBrief) -> AuthorView {
        AuthorView {
            id: a.id,
            username: a.username,
            domain: a.domain,
            display_name: a.display_name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRef {
    /// As the author typed it.
    pub name: String,
    /// The form used in URLs and matching.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReactionCount {
    pub emoji: String,
    pub count: i64,
    /// The viewer reacted with this emoji.
    pub mine: bool,
}

/// What readers did with a post: votes, reactions, replies; and what the viewer did.
#[derive(Debug, Clone, Default)]
pub struct Engagement {
    pub up: i64,
    pub down: i64,
    pub score: i64,
    pub reply_count: i64,
    /// Shares (boosts, local and remote `Announce`s) counted.
    pub shares: i64,
    /// The viewer boosted it.
    pub boosted: bool,
    pub reactions: Vec<ReactionCount>,
    /// The viewer's vote: 1, -1 or 0.
    pub my_vote: i32,
}

impl Engagement {
    fn from_post(p: &Post) -> Engagement {
        Engagement {
            up: p.up_count,
            down: p.down_count,
            score: p.score,
            reply_count: p.reply_count,
            shares: p.share_count,
            boosted: false,
            reactions: Vec::new(),
            my_vote: 0,
        }
    }

    pub fn popularity(&self) -> Option<u8> {
        scoring::popularity(self.up, self.down)
    }

    /// "87% liked" or "No votes yet".
    pub fn popularity_text(&self) -> String {
        match self.popularity() {
            Some(p) => format!("{p}% liked"),
            None => "No votes yet".to_owned(),
        }
    }

    pub fn votes(&self) -> i64 {
        self.up + self.down
    }

    pub fn voted_up(&self) -> bool {
        self.my_vote > 0
    }

    pub fn voted_down(&self) -> bool {
        self.my_vote < 0
    }
}

/// Counters, reaction tallies and the viewer's own marks for many posts, in at most three
/// queries whatever the number of posts.
pub fn load_engagement(
    conn: &mut DbConn,
    posts: &[&Post],
    viewer: Option<i64>,
) -> Result<HashMap<i64, Engagement>, AppError> {
    let mut out: HashMap<i64, Engagement> = posts
        .iter()
        .map(|p| (p.id, Engagement::from_post(p)))
        .collect();
    if posts.is_empty() {
        return Ok(out);
    }
    let ids: Vec<i64> = posts.iter().map(|p| p.id).collect();
    let counts: Vec<(i64, String, i64)> = reactions::table
        .filter(reactions::post_id.eq_any(&ids))
        .group_by((reactions::post_id, reactions::emoji))
        .select((
            reactions::post_id,
            reactions::emoji,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut mine_reactions: Vec<(i64, String)> = Vec::new();
    if let Some(viewer) = viewer {
        mine_reactions = reactions::table
            .filter(reactions::post_id.eq_any(&ids))
            .filter(reactions::account_id.eq(viewer))
            .select((reactions::post_id, reactions::emoji))
            .load(conn)?;
        let my_votes: Vec<(i64, i32)> = votes::table
            .filter(votes::post_id.eq_any(&ids))
            .filter(votes::account_id.eq(viewer))
            .select((votes::post_id, votes::value))
            .load(conn)?;
        for (post_id, value) in my_votes {
            if let Some(e) = out.get_mut(&post_id) {
                e.my_vote = value;
            }
        }
        let my_boosts: Vec<i64> = announces::table
            .filter(announces::post_id.eq_any(&ids))
            .filter(announces::account_id.eq(viewer))
            .select(announces::post_id)
            .load(conn)?;
        for post_id in my_boosts {
            if let Some(e) = out.get_mut(&post_id) {
                e.boosted = true;
            }
        }
    }
    for (post_id, emoji, count) in counts {
        if let Some(e) = out.get_mut(&post_id) {
            let mine = mine_reactions
                .iter()
                .any(|(p, m)| *p == post_id && *m == emoji);
            e.reactions.push(ReactionCount { emoji, count, mine });
        }
    }
    for e in out.values_mut() {
        e.reactions
            .sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.emoji.cmp(&b.emoji)));
    }
    Ok(out)
}

/// The text a post's content is hidden behind: its content warning, or "Sensitive
/// content" for a post marked sensitive without one; `None` when it is shown openly.
/// Pages show the body inside a `<details>` with this as its `<summary>`, and lists show
/// it instead of an excerpt.
pub fn warning_text(spoiler_text: &str, sensitive: bool) -> Option<String> {
    if !spoiler_text.trim().is_empty() {
        Some(spoiler_text.trim().to_owned())
    } else if sensitive {
        Some("Sensitive content".to_owned())
    } else {
        None
    }
}

#[derive(Debug, Clone)]
pub struct StoryView {
    pub id: i64,
    pub ap_id: String,
    pub headline: String,
    /// The source text as typed (local stories).
    pub body: String,
    /// Safe HTML of the body (a remote note: all of its content).
    pub content_html: String,
    /// A remote note whose headline is its first line: that line as HTML, its hashtags and
    /// mentions still links. The page shows it as the headline and [`Self::body_html`]
    /// below it, so the line is not shown twice. A local story whose headline mentions
    /// accounts: the headline escaped, its mentions linked (the body is then whole).
    pub headline_html: Option<String>,
    /// What the page shows as the body: the content without the line shown as headline.
    pub body_html: String,
    /// The content warning ("" for none).
    pub spoiler_text: String,
    pub sensitive: bool,
    /// A remote reply stored without its thread: the post it replies to is not available.
    pub replies_to_unavailable: bool,
    pub author: AuthorView,
    pub tags: Vec<TagRef>,
    pub created_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted: bool,
    /// Removed by a moderator.
    pub removed: bool,
    pub engagement: Engagement,
    /// Set when the story is listed as someone's boost (on the booster's profile).
    pub boosted: Option<BoostedBy>,
    /// The first characters of the body as plain text, for lists (made once when the view
    /// is built: lists are served from the cache many times over).
    excerpt: String,
}

/// Who boosted a story listed as a boost, and the boost's id (its place in the list).
#[derive(Debug, Clone)]
pub struct BoostedBy {
    pub id: i64,
    pub by: AuthorView,
}

impl StoryView {
    /// Where the story sits in a list paged by id: the boost's id for a boost.
    pub fn list_key(&self) -> i64 {
        self.boosted.as_ref().map_or(self.id, |b| b.id)
    }

    pub fn path(&self) -> String {
        format!("/stories/{}", self.id)
    }

    /// What the body is hidden behind, if anything (see [`warning_text`]).
    pub fn warning(&self) -> Option<String> {
        warning_text(&self.spoiler_text, self.sensitive)
    }

    /// The first characters of the body as plain text, for lists (without the line shown
    /// as the headline).
    pub fn excerpt(&self) -> &str {
        &self.excerpt
    }

    fn make_excerpt(&self) -> String {
        const MAX: usize = 280;
        // The first line was split off only when the body shown is not the whole content.
        let body = if self.headline_html.is_some() && self.body_html != self.content_html {
            crate::domain::story::split_status(&self.body).1
        } else {
            self.body.clone()
        };
        let text: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
        if text.chars().count() <= MAX {
            text
        } else {
            let cut: String = text.chars().take(MAX).collect();
            format!("{}…", cut.trim_end())
        }
    }
}

/// The headlines of local stories that mention accounts, with those mentions linked, in
/// one query for all of them (only headlines with an `@` are looked at).
fn linked_headlines(
    conn: &mut DbConn,
    rows: &[(Post, AccountBrief)],
) -> Result<HashMap<i64, String>, AppError> {
    let candidates: Vec<(&Post, &str)> = rows
        .iter()
        .filter(|(p, _)| p.local)
        .filter_map(|(p, _)| Some((p, p.headline.as_deref().filter(|h| h.contains('@'))?)))
        .collect();
    let Some((first, _)) = candidates.first() else {
        return Ok(HashMap::new());
    };
    // A local post's id is `{base}/stories/{id}` or `{base}/replies/{id}`.
    let base = first
        .ap_id
        .rsplitn(3, '/')
        .nth(2)
        .unwrap_or_default()
        .to_owned();
    let domain = base.split_once("://").map_or(base.as_str(), |(_, d)| d);
    let ids: Vec<i64> = candidates.iter().map(|(p, _)| p.id).collect();
    let mut mentions = super::mentions::views_of(conn, &ids, &base)?;
    Ok(candidates
        .into_iter()
        .filter_map(|(p, h)| {
            let m = mentions.remove(&p.id)?;
            Some((p.id, super::posts::headline_html(h, &m, domain)))
        })
        .collect())
}

/// Builds views for rows already loaded with their authors, fetching all their tags in
/// one query (no query per story).
pub fn assemble(
    conn: &mut DbConn,
    rows: Vec<(Post, AccountBrief)>,
    viewer: Option<i64>,
) -> Result<Vec<StoryView>, AppError> {
    let mut engagement = {
        let posts: Vec<&Post> = rows.iter().map(|(p, _)| p).collect();
        load_engagement(conn, &posts, viewer)?
    };
    let ids: Vec<i64> = rows.iter().map(|(p, _)| p.id).collect();
    let mut linked = linked_headlines(conn, &rows)?;
    let mut tags: HashMap<i64, Vec<TagRef>> = HashMap::new();
    if !ids.is_empty() {
        let tag_rows: Vec<PostTag> = post_tags::table
            .filter(post_tags::post_id.eq_any(&ids))
            .select(PostTag::as_select())
            .load(conn)?;
        for t in tag_rows {
            tags.entry(t.post_id).or_default().push(TagRef {
                key: crate::domain::text::normalize_tag(&t.name),
                name: t.name,
            });
        }
    }
    Ok(rows
        .into_iter()
        .map(|(p, a)| {
            let mut story_tags = tags.remove(&p.id).unwrap_or_default();
            story_tags.sort_by(|x, y| x.key.cmp(&y.key));
            // A remote note has no headline of its own: when its first line was taken as
            // one (no title, no warning), that line is shown once, as the headline.
            let lead = match (&p.headline, p.local) {
                (Some(h), false) if warning_text(&p.spoiler_text, p.sensitive).is_none() => {
                    split_first_line(&p.content_html, h)
                }
                _ => None,
            };
            let (headline_html, body_html) = match lead {
                Some((first, rest)) => (Some(first), rest),
                None => (linked.remove(&p.id), p.content_html.clone()),
            };
            let mut view = StoryView {
                headline_html,
                body_html,
                replies_to_unavailable: p.in_reply_to_uri.is_some(),
                engagement: engagement.remove(&p.id).unwrap_or_default(),
                removed: p.removed_at.is_some(),
                id: p.id,
                ap_id: p.ap_id,
                headline: p.headline.unwrap_or_default(),
                body: p.body,
                content_html: p.content_html,
                spoiler_text: p.spoiler_text,
                sensitive: p.sensitive,
                author: a.into(),
                tags: story_tags,
                created_at: p.created_at,
                edited_at: p.edited_at,
                deleted: p.deleted_at.is_some(),
                boosted: None,
                excerpt: String::new(),
            };
            view.excerpt = view.make_excerpt();
            view
        })
        .collect())
}

impl StoryView {
    pub fn created_rfc3339(&self) -> String {
        crate::domain::time::rfc3339(&self.created_at)
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }

    pub fn edited_rfc3339(&self) -> Option<String> {
        self.edited_at.as_ref().map(crate::domain::time::rfc3339)
    }
}
