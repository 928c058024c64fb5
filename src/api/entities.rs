//! The JSON shapes of Mastodon's client API (<https://docs.joinmastodon.org/entities/>),
//! built from service views. Wire types never touch the database.
//!
//! Additions, all ignored by apps that do not know them: Pleroma/Akkoma's emoji reactions
//! (`emoji_reactions` at the top level and under `pleroma`), and our own `tidings` object
//! on statuses (headline, down-votes, score, popularity, the viewer's vote).

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::domain::text::escape;
use crate::service::bookmarks::MarkerView;
use crate::service::conversations::ConversationView;
use crate::service::notification_feed::NotificationEntry;
use crate::service::posts::{MentionView, PostView, ReactionGroup};
use crate::service::relationships::{AccountView, Relationship as RelationshipView};
use crate::service::views::ReactionCount;

/// A time as Mastodon writes it: RFC 3339 in UTC with milliseconds.
pub fn datetime(t: &NaiveDateTime) -> String {
    t.and_utc()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The picture every account has until avatars are supported.
pub fn default_avatar(base: &str) -> String {
    format!("{base}/static/avatar.png")
}

/// The header picture every account has until headers are supported.
pub fn default_header(base: &str) -> String {
    format!("{base}/static/header.png")
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: String,
    pub username: String,
    pub acct: String,
    pub display_name: String,
    pub locked: bool,
    pub bot: bool,
    pub discoverable: bool,
    pub group: bool,
    pub created_at: String,
    pub note: String,
    pub url: String,
    pub uri: String,
    pub avatar: String,
    pub avatar_static: String,
    pub header: String,
    pub header_static: String,
    pub followers_count: i64,
    pub following_count: i64,
    pub statuses_count: i64,
    /// A date (`YYYY-MM-DD`), as Mastodon gives it.
    pub last_status_at: Option<String>,
    pub emojis: Vec<Value>,
    pub fields: Vec<Value>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub suspended: bool,
    /// Only in `verify_credentials` and `update_credentials`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<Source>,
}

/// What the account's owner typed, for their profile editor.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    pub privacy: &'static str,
    pub sensitive: bool,
    pub language: String,
    pub note: String,
    pub fields: Vec<Value>,
    pub follow_requests_count: i64,
}

impl Account {
    pub fn from_view(a: &AccountView, base: &str) -> Account {
        Account {
            id: a.id.to_string(),
            username: a.username.clone(),
            acct: a.acct(),
            display_name: a.display_name.clone(),
            locked: false,
            bot: false,
            discoverable: true,
            group: false,
            created_at: datetime(&a.created_at),
            note: a.note_html.clone(),
            url: a.url.clone(),
            uri: a.ap_id.clone(),
            avatar: default_avatar(base),
            avatar_static: default_avatar(base),
            header: default_header(base),
            header_static: default_header(base),
            followers_count: a.followers_count,
            following_count: a.following_count,
            statuses_count: a.statuses_count,
            last_status_at: a
                .last_status_at
                .map(|t| t.date().format("%Y-%m-%d").to_string()),
            emojis: Vec::new(),
            fields: Vec::new(),
            suspended: a.suspended,
            source: None,
        }
    }

    /// The account as its owner sees it (`verify_credentials`), with `source`.
    pub fn credential(a: &AccountView, base: &str) -> Account {
        Account {
            source: Some(Source {
                privacy: "public",
                sensitive: false,
                language: String::new(),
                note: a.bio.clone(),
                fields: Vec::new(),
                follow_requests_count: 0,
            }),
            ..Account::from_view(a, base)
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Mention {
    pub id: String,
    pub username: String,
    pub url: String,
    pub acct: String,
}

impl From<&MentionView> for Mention {
    fn from(m: &MentionView) -> Mention {
        Mention {
            id: m.id.to_string(),
            username: m.username.clone(),
            url: m.url.clone(),
            acct: m.acct.clone(),
        }
    }
}

/// A hashtag as statuses carry it.
#[derive(Debug, Clone, Serialize)]
pub struct StatusTag {
    pub name: String,
    pub url: String,
}

/// A hashtag as search and tag endpoints give it.
#[derive(Debug, Clone, Serialize)]
pub struct Tag {
    pub name: String,
    pub url: String,
    pub history: Vec<Value>,
    pub following: bool,
}

impl Tag {
    pub fn new(name: &str, base: &str) -> Tag {
        Tag {
            url: format!("{base}/tags/{}", crate::domain::text::normalize_tag(name)),
            name: name.to_owned(),
            history: Vec::new(),
            following: false,
        }
    }
}

/// Pleroma/Akkoma's emoji reaction: `{name, count, me}`, with the accounts on the
/// reactions endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct EmojiReaction {
    pub name: String,
    pub count: i64,
    pub me: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accounts: Option<Vec<Account>>,
}

impl From<&ReactionCount> for EmojiReaction {
    fn from(r: &ReactionCount) -> EmojiReaction {
        EmojiReaction {
            name: r.emoji.clone(),
            count: r.count,
            me: r.mine,
            accounts: None,
        }
    }
}

impl EmojiReaction {
    pub fn from_group(g: &ReactionGroup, base: &str) -> EmojiReaction {
        EmojiReaction {
            name: g.emoji.clone(),
            count: g.count,
            me: g.me,
            accounts: Some(
                g.accounts
                    .iter()
                    .map(|a| Account::from_view(a, base))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PleromaStatus {
    pub emoji_reactions: Vec<EmojiReaction>,
    pub local: bool,
    pub in_reply_to_account_acct: Option<String>,
}

/// Our extension: what Tidings knows about a post beyond Mastodon's fields.
#[derive(Debug, Clone, Serialize)]
pub struct TidingsStatus {
    /// The story's headline (`null` for replies).
    pub headline: Option<String>,
    pub downvotes_count: i64,
    /// Up-votes minus down-votes.
    pub score: i64,
    /// The share of up-votes, in percent (`null` without votes).
    pub popularity: Option<u8>,
    /// The viewer's vote: 1, -1 or 0.
    pub my_vote: i32,
    /// The thread's story (`null` for stories).
    pub thread_root_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub id: String,
    pub uri: String,
    pub url: String,
    pub created_at: String,
    pub account: Account,
    pub content: String,
    pub visibility: String,
    pub sensitive: bool,
    pub spoiler_text: String,
    pub media_attachments: Vec<super::media::MediaAttachment>,
    pub application: Option<Value>,
    pub mentions: Vec<Mention>,
    pub tags: Vec<StatusTag>,
    pub emojis: Vec<Value>,
    pub reblogs_count: i64,
    pub favourites_count: i64,
    pub replies_count: i64,
    pub reblog: Option<Box<Status>>,
    pub poll: Option<Value>,
    pub card: Option<Value>,
    pub language: Option<String>,
    /// The source text: only when a status is deleted (to "delete and redraft").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub in_reply_to_id: Option<String>,
    pub in_reply_to_account_id: Option<String>,
    pub edited_at: Option<String>,
    pub favourited: bool,
    pub reblogged: bool,
    pub muted: bool,
    pub bookmarked: bool,
    pub pinned: bool,
    pub filtered: Vec<Value>,
    pub emoji_reactions: Vec<EmojiReaction>,
    pub pleroma: PleromaStatus,
    pub tidings: TidingsStatus,
}

/// The HTML apps show: for a story its headline in bold, then the body.
pub fn status_content(p: &PostView) -> String {
    match &p.headline {
        Some(h) => {
            let h = p.headline_html.clone().unwrap_or_else(|| escape(h));
            format!("<p><strong>{h}</strong></p>{}", p.content_html)
        }
        None => p.content_html.clone(),
    }
}

impl Status {
    /// The post as a status; a post shown as someone's boost becomes the boost's status,
    /// whose `reblog` is the post (Mastodon's shape).
    pub fn from_view(p: &PostView, base: &str) -> Status {
        match &p.boost {
            Some(b) => {
                let inner = Status::of_post(p, base);
                Status {
                    id: b.id.to_string(),
                    uri: b.ap_id.clone(),
                    url: b.ap_id.clone(),
                    created_at: datetime(&b.created_at),
                    account: Account::from_view(&b.by, base),
                    content: String::new(),
                    spoiler_text: String::new(),
                    sensitive: false,
                    mentions: Vec::new(),
                    tags: Vec::new(),
                    reblogs_count: 0,
                    favourites_count: 0,
                    replies_count: 0,
                    in_reply_to_id: None,
                    in_reply_to_account_id: None,
                    edited_at: None,
                    emoji_reactions: Vec::new(),
                    pleroma: PleromaStatus {
                        emoji_reactions: Vec::new(),
                        local: b.by.domain.is_none(),
                        in_reply_to_account_acct: None,
                    },
                    tidings: TidingsStatus {
                        headline: None,
                        downvotes_count: 0,
                        score: 0,
                        popularity: None,
                        my_vote: 0,
                        thread_root_id: None,
                    },
                    reblog: Some(Box::new(inner.clone())),
                    ..inner
                }
            }
            None => Status::of_post(p, base),
        }
    }

    fn of_post(p: &PostView, base: &str) -> Status {
        let reactions: Vec<EmojiReaction> = p
            .engagement
            .reactions
            .iter()
            .map(EmojiReaction::from)
            .collect();
        Status {
            id: p.id.to_string(),
            uri: p.ap_id.clone(),
            url: p.url.clone(),
            created_at: datetime(&p.created_at),
            account: Account::from_view(&p.author, base),
            content: status_content(p),
            visibility: p.visibility.clone(),
            sensitive: p.sensitive,
            spoiler_text: p.spoiler_text.clone(),
            media_attachments: if p.deleted || p.removed {
                Vec::new()
            } else {
                p.media
                    .iter()
                    .map(|m| super::media::MediaAttachment::from_row(m, base))
                    .collect()
            },
            application: None,
            mentions: p.mentions.iter().map(Mention::from).collect(),
            tags: p
                .tags
                .iter()
                .map(|t| StatusTag {
                    name: t.key.clone(),
                    url: format!("{base}/tags/{}", t.key),
                })
                .collect(),
            emojis: Vec::new(),
            reblogs_count: p.engagement.shares,
            favourites_count: p.engagement.up,
            replies_count: p.replies_count,
            reblog: None,
            poll: p.poll.as_ref().map(super::polls::poll_value),
            card: None,
            language: None,
            text: None,
            in_reply_to_id: p.in_reply_to_id.map(|i| i.to_string()),
            in_reply_to_account_id: p.in_reply_to_account_id.map(|i| i.to_string()),
            edited_at: p.edited_at.as_ref().map(datetime),
            favourited: p.engagement.my_vote > 0,
            reblogged: p.engagement.boosted,
            muted: false,
            bookmarked: p.bookmarked,
            pinned: false,
            filtered: Vec::new(),
            pleroma: PleromaStatus {
                emoji_reactions: reactions.clone(),
                local: p.local,
                in_reply_to_account_acct: None,
            },
            emoji_reactions: reactions,
            tidings: TidingsStatus {
                headline: p.headline.clone(),
                downvotes_count: p.engagement.down,
                score: p.engagement.score,
                popularity: p.engagement.popularity(),
                my_vote: p.engagement.my_vote,
                thread_root_id: p.thread_root_id.map(|i| i.to_string()),
            },
        }
    }

    /// With the source text (the answer to a delete, and `GET …/source`).
    pub fn with_text(p: &PostView, base: &str) -> Status {
        Status {
            text: Some(p.source_text()),
            ..Status::from_view(p, base)
        }
    }

    pub fn list(posts: &[PostView], base: &str) -> Vec<Status> {
        posts.iter().map(|p| Status::from_view(p, base)).collect()
    }
}

/// `GET /api/v1/statuses/:id/source`.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSource {
    pub id: String,
    pub text: String,
    pub spoiler_text: String,
}

impl From<&PostView> for StatusSource {
    fn from(p: &PostView) -> StatusSource {
        StatusSource {
            id: p.id.to_string(),
            text: p.source_text(),
            spoiler_text: p.spoiler_text.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub ancestors: Vec<Status>,
    pub descendants: Vec<Status>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Relationship {
    pub id: String,
    pub following: bool,
    pub showing_reblogs: bool,
    pub notifying: bool,
    pub languages: Option<Vec<String>>,
    pub followed_by: bool,
    pub blocking: bool,
    pub blocked_by: bool,
    pub muting: bool,
    pub muting_notifications: bool,
    pub requested: bool,
    pub requested_by: bool,
    pub domain_blocking: bool,
    pub endorsed: bool,
    pub note: String,
}

impl From<&RelationshipView> for Relationship {
    fn from(r: &RelationshipView) -> Relationship {
        Relationship {
            id: r.id.to_string(),
            following: r.following,
            showing_reblogs: r.following,
            notifying: false,
            languages: None,
            followed_by: r.followed_by,
            blocking: false,
            blocked_by: false,
            muting: false,
            muting_notifications: false,
            requested: r.requested,
            requested_by: false,
            domain_blocking: false,
            endorsed: false,
            note: String::new(),
        }
    }
}

/// Mastodon's notification type for one of our kinds (see `notification_feed::ALL_KINDS`).
pub fn notification_type(kind: &str) -> &'static str {
    match kind {
        "reply" | "followed_reply" | "mention" => "mention",
        "vote" => "favourite",
        "reaction" => "pleroma:emoji_reaction",
        "reblog" => "reblog",
        "follow" => "follow",
        "poll" => "poll",
        _ => "status",
    }
}

/// Our kinds behind one of Mastodon's notification types (none for types we lack).
pub fn kinds_of_type(t: &str) -> &'static [&'static str] {
    match t {
        "mention" => &["reply", "followed_reply", "mention"],
        "favourite" => &["vote"],
        "pleroma:emoji_reaction" | "emoji_reaction" => &["reaction"],
        "reblog" => &["reblog"],
        "follow" => &["follow"],
        "poll" => &["poll"],
        _ => &[],
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct PleromaNotification {
    pub is_seen: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub created_at: String,
    /// The group it is shown in by `/api/v2/notifications` (Mastodon 4.3).
    pub group_key: String,
    pub account: Account,
    pub status: Option<Status>,
    /// The emoji of a `pleroma:emoji_reaction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emoji: Option<String>,
    pub pleroma: PleromaNotification,
}

impl Notification {
    pub fn from_entry(n: &NotificationEntry, base: &str) -> Notification {
        Notification {
            id: n.id.to_string(),
            kind: notification_type(&n.kind),
            created_at: datetime(&n.created_at),
            group_key: n.group_key.clone(),
            account: Account::from_view(&n.actor, base),
            status: n.post.as_ref().map(|p| Status::from_view(p, base)),
            emoji: (n.kind == "reaction").then(|| n.detail.clone()),
            pleroma: PleromaNotification { is_seen: n.read },
        }
    }
}

/// A direct conversation (`/api/v1/conversations`).
#[derive(Debug, Clone, Serialize)]
pub struct Conversation {
    pub id: String,
    pub unread: bool,
    pub accounts: Vec<Account>,
    pub last_status: Status,
}

impl Conversation {
    pub fn from_view(c: &ConversationView, base: &str) -> Conversation {
        Conversation {
            id: c.id.to_string(),
            unread: c.unread,
            accounts: c
                .accounts
                .iter()
                .map(|a| Account::from_view(a, base))
                .collect(),
            last_status: Status::from_view(&c.last, base),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Marker {
    pub last_read_id: String,
    pub version: i64,
    pub updated_at: String,
}

/// Markers keyed by timeline name, as `GET /api/v1/markers` answers.
pub fn markers(list: &[MarkerView]) -> BTreeMap<String, Marker> {
    list.iter()
        .map(|m| {
            (
                m.timeline.clone(),
                Marker {
                    last_read_id: m.last_read_id.clone(),
                    version: m.version,
                    updated_at: datetime(&m.updated_at),
                },
            )
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub accounts: Vec<Account>,
    pub statuses: Vec<Status>,
    pub hashtags: Vec<Tag>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub id: String,
    pub action_taken: bool,
    pub action_taken_at: Option<String>,
    pub category: String,
    pub comment: String,
    pub forwarded: bool,
    pub created_at: String,
    pub status_ids: Vec<String>,
    pub rule_ids: Option<Vec<String>>,
    pub target_account: Account,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        let t = chrono::NaiveDate::from_ymd_opt(2026, 11, 27)
            .unwrap()
            .and_hms_opt(20, 5, 0)
            .unwrap();
        assert_eq!(datetime(&t), "2026-11-27T20:05:00.000Z");
    }

    #[test]
    fn notification_types_round_trip() {
        for kind in crate::service::notification_feed::ALL_KINDS {
            let t = notification_type(kind);
            assert!(kinds_of_type(t).contains(kind), "{kind} → {t}");
        }
    }
}
