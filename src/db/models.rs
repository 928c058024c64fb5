//! Database rows. These never leave the service layer as wire types.
//!
//! Insertable rows say `treat_none_as_default_value = false`: a `None` is written as NULL
//! (no nullable column has another default), so an insert's SQL is the same whatever the
//! values and the backend keeps it as a prepared statement. Diesel does not cache an
//! insert that may write `DEFAULT`, and PostgreSQL then parses and plans it every time.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{
    accounts, announces, bookmarks, deliveries, follows, idempotency_keys, markers, mod_actions,
    notifications, oauth_apps, oauth_codes, oauth_tokens, post_tags, posts, reactions, reports,
    sessions, story_follows, tags, votes,
};

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = accounts)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub username_lower: String,
    pub domain: Option<String>,
    pub display_name: String,
    pub bio: String,
    pub ap_id: String,
    pub url: Option<String>,
    pub inbox_url: Option<String>,
    pub shared_inbox_url: Option<String>,
    pub followers_url: Option<String>,
    pub public_key_pem: String,
    pub private_key_pem: Option<String>,
    pub password_hash: Option<String>,
    pub is_admin: bool,
    pub is_moderator: bool,
    pub suspended_at: Option<NaiveDateTime>,
    pub last_fetched_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// False while a sign-up waits for an admin's approval.
    pub approved: bool,
    pub signup_reason: Option<String>,
    pub email: Option<String>,
    pub locale: Option<String>,
    pub silenced_at: Option<NaiveDateTime>,
    /// Login disabled by an admin (the account stays visible).
    pub disabled_at: Option<NaiveDateTime>,
    /// The invitation it joined with.
    pub invite_id: Option<i64>,
}

impl Account {
    pub fn is_local(&self) -> bool {
        self.domain.is_none()
    }
}

#[derive(Debug, Insertable)]
#[diesel(table_name = accounts)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewAccount<'a> {
    pub id: i64,
    pub username: &'a str,
    pub username_lower: &'a str,
    pub domain: Option<&'a str>,
    pub display_name: &'a str,
    pub bio: &'a str,
    pub ap_id: &'a str,
    pub url: Option<&'a str>,
    pub inbox_url: Option<&'a str>,
    pub shared_inbox_url: Option<&'a str>,
    pub followers_url: Option<&'a str>,
    pub public_key_pem: &'a str,
    pub private_key_pem: Option<&'a str>,
    pub password_hash: Option<&'a str>,
    pub is_admin: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The columns of an account a story card needs.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountBrief {
    pub id: i64,
    pub username: String,
    pub domain: Option<String>,
    pub display_name: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = posts)]
pub struct Post {
    pub id: i64,
    pub account_id: i64,
    pub ap_id: String,
    pub url: Option<String>,
    pub local: bool,
    pub headline: Option<String>,
    pub body: String,
    pub content_html: String,
    pub in_reply_to_id: Option<i64>,
    pub thread_root_id: Option<i64>,
    pub visibility: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub edited_at: Option<NaiveDateTime>,
    pub deleted_at: Option<NaiveDateTime>,
    pub up_count: i64,
    pub down_count: i64,
    pub score: i64,
    pub best: f64,
    pub reply_count: i64,
    pub share_count: i64,
    pub removed_at: Option<NaiveDateTime>,
    pub spoiler_text: String,
    /// Shown behind a warning (with `spoiler_text` as its text, or a generic one).
    pub sensitive: bool,
    /// A remote reply whose parent could not be fetched: the id of that parent (the post
    /// is then stored without `in_reply_to_id`, shown as a reply to a post not available).
    pub in_reply_to_uri: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = posts)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewPost<'a> {
    pub id: i64,
    pub account_id: i64,
    pub ap_id: &'a str,
    pub url: Option<&'a str>,
    pub local: bool,
    pub headline: Option<&'a str>,
    pub body: &'a str,
    pub content_html: &'a str,
    pub in_reply_to_id: Option<i64>,
    pub thread_root_id: Option<i64>,
    pub visibility: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The content warning ("" for none).
    pub spoiler_text: &'a str,
    pub sensitive: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tags)]
pub struct Tag {
    pub id: i64,
    pub name: String,
    pub name_lower: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = tags)]
#[diesel(treat_none_as_default_value = false)]
pub struct NewTag<'a> {
    pub id: i64,
    pub name: &'a str,
    pub name_lower: &'a str,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = post_tags)]
#[diesel(treat_none_as_default_value = false)]
pub struct PostTag {
    pub tag_id: i64,
    pub post_id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions)]
#[diesel(treat_none_as_default_value = false)]
pub struct Session {
    pub token_hash: String,
    pub account_id: i64,
    pub created_at: chrono::NaiveDateTime,
    pub expires_at: chrono::NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = votes)]
#[diesel(treat_none_as_default_value = false)]
pub struct Vote {
    pub id: i64,
    pub ap_id: String,
    pub account_id: i64,
    pub post_id: i64,
    pub value: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reactions)]
#[diesel(treat_none_as_default_value = false)]
pub struct Reaction {
    pub id: i64,
    pub ap_id: String,
    pub account_id: i64,
    pub post_id: i64,
    pub emoji: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = announces)]
#[diesel(treat_none_as_default_value = false)]
pub struct Announce {
    pub id: i64,
    pub ap_id: String,
    pub account_id: i64,
    pub post_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = story_follows)]
#[diesel(treat_none_as_default_value = false)]
pub struct StoryFollow {
    pub account_id: i64,
    pub post_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notifications)]
#[diesel(treat_none_as_default_value = false)]
pub struct Notification {
    pub id: i64,
    pub account_id: i64,
    pub kind: String,
    pub actor_id: i64,
    pub post_id: Option<i64>,
    pub detail: String,
    pub created_at: NaiveDateTime,
    pub read_at: Option<NaiveDateTime>,
    /// Shared by notifications shown as one group (`service::notification_groups`);
    /// `None`: a group of its own.
    pub group_key: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = reports)]
#[diesel(treat_none_as_default_value = false)]
pub struct Report {
    pub id: i64,
    pub ap_id: String,
    pub reporter_id: Option<i64>,
    pub target_account_id: i64,
    pub target_post_id: Option<i64>,
    pub reason: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub resolved_at: Option<NaiveDateTime>,
    pub resolved_by: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = mod_actions)]
#[diesel(treat_none_as_default_value = false)]
pub struct ModAction {
    pub id: i64,
    /// `None`: taken on the command line.
    pub moderator_id: Option<i64>,
    pub action: String,
    pub target_account_id: Option<i64>,
    pub target_post_id: Option<i64>,
    pub report_id: Option<i64>,
    pub note: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_apps)]
#[diesel(treat_none_as_default_value = false)]
pub struct OauthApp {
    pub id: i64,
    pub name: String,
    pub website: Option<String>,
    pub redirect_uris: String,
    pub scopes: String,
    pub client_id: String,
    pub client_secret_hash: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_codes)]
#[diesel(treat_none_as_default_value = false)]
pub struct OauthCode {
    pub code_hash: String,
    pub app_id: i64,
    pub account_id: i64,
    pub scopes: String,
    pub redirect_uri: String,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = oauth_tokens)]
#[diesel(treat_none_as_default_value = false)]
pub struct OauthToken {
    pub token_hash: String,
    pub app_id: i64,
    pub account_id: Option<i64>,
    pub scopes: String,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = follows)]
#[diesel(treat_none_as_default_value = false)]
pub struct Follow {
    pub id: i64,
    pub ap_id: String,
    pub follower_id: i64,
    pub followed_id: i64,
    pub state: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = bookmarks)]
#[diesel(treat_none_as_default_value = false)]
pub struct Bookmark {
    pub id: i64,
    pub account_id: i64,
    pub post_id: i64,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = markers)]
#[diesel(treat_none_as_default_value = false)]
pub struct Marker {
    pub account_id: i64,
    pub timeline: String,
    pub last_read_id: String,
    pub version: i64,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = idempotency_keys)]
#[diesel(treat_none_as_default_value = false)]
pub struct IdempotencyKey {
    pub account_id: i64,
    pub key: String,
    pub post_id: i64,
    pub created_at: NaiveDateTime,
}

/// One queued outgoing activity for one inbox.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = deliveries)]
#[diesel(treat_none_as_default_value = false)]
pub struct Delivery {
    pub id: i64,
    pub inbox_url: String,
    pub activity_json: String,
    pub key_id: String,
    pub actor_account_id: Option<i64>,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub last_error: Option<String>,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// A poll row (see `schema::polls`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::polls)]
#[diesel(treat_none_as_default_value = false)]
pub struct Poll {
    pub post_id: i64,
    pub options: String,
    pub counts: String,
    pub multiple: bool,
    pub expires_at: Option<NaiveDateTime>,
    pub voters_count: Option<i64>,
    pub closed: bool,
    pub updated_at: NaiveDateTime,
}

/// One choice of a voter in a poll.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::poll_votes)]
#[diesel(treat_none_as_default_value = false)]
pub struct PollVote {
    pub id: i64,
    pub ap_id: String,
    pub post_id: i64,
    pub account_id: i64,
    pub choice: i32,
    pub created_at: NaiveDateTime,
}

/// A media attachment row (see `schema::media`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = crate::db::schema::media)]
#[diesel(treat_none_as_default_value = false)]
pub struct Media {
    pub id: i64,
    pub account_id: i64,
    pub post_id: Option<i64>,
    pub position: i32,
    pub kind: String,
    pub state: String,
    pub error: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub file_size: Option<i64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub preview_name: Option<String>,
    pub preview_width: Option<i32>,
    pub preview_height: Option<i32>,
    pub blurhash: Option<String>,
    pub description: String,
    pub focus_x: Option<f64>,
    pub focus_y: Option<f64>,
    pub remote_url: Option<String>,
    pub remote_preview_url: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}
