//! Template structs: one per page, each holding only what its template shows.

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

use super::context::Ctx;
use crate::error::{AppError, FieldError};
use crate::service::views::{AuthorView, StoryView};

/// Errors to show beside form fields, plus one for the whole form.
#[derive(Debug, Default, Clone)]
pub struct FormErrors {
    fields: Vec<FieldError>,
    general: Option<String>,
}

impl FormErrors {
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    pub fn general(&self) -> Option<&str> {
        self.general.as_deref()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    pub fn with_general(message: impl Into<String>) -> FormErrors {
        FormErrors {
            fields: Vec::new(),
            general: Some(message.into()),
        }
    }

    /// Field errors from a validation error; any other error is passed back to the caller.
    pub fn from_error(e: AppError) -> Result<FormErrors, AppError> {
        if e.field_errors().is_empty() {
            return Err(e);
        }
        Ok(FormErrors {
            fields: e.field_errors().to_vec(),
            general: Some("Please fix the marked fields.".into()),
        })
    }
}

/// Renders a page with the given status.
pub fn render_status(status: StatusCode, page: &impl Template) -> Result<Response, AppError> {
    let html = page.render().map_err(AppError::internal)?;
    Ok((status, Html(html)).into_response())
}

pub fn render(page: &impl Template) -> Result<Response, AppError> {
    render_status(StatusCode::OK, page)
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub ctx: &'a Ctx,
    pub title: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "index.html")]
pub struct IndexPage<'a> {
    pub ctx: &'a Ctx,
    pub stories: &'a [StoryView],
    pub next_href: Option<String>,
    pub empty_text: &'a str,
    pub is_first_page: bool,
    pub sort: &'static str,
}

#[derive(Template)]
#[template(path = "tag.html")]
pub struct TagPage<'a> {
    pub ctx: &'a Ctx,
    pub tag_name: String,
    pub stories: &'a [StoryView],
    pub next_href: Option<String>,
    pub empty_text: &'a str,
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage<'a> {
    pub ctx: &'a Ctx,
    pub author: AuthorView,
    pub is_moderator: bool,
    pub suspended: bool,
    pub bio_html: String,
    /// The signed-in viewer's follow button (not on one's own profile).
    pub follow: Option<FollowButton>,
    pub stories: &'a [StoryView],
    pub next_href: Option<String>,
    pub empty_text: &'a str,
}

/// A follow button: what the viewer's relationship to an account allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowButton {
    Follow,
    /// A follow request waits for the other server's answer.
    Requested,
    Following,
}

impl FollowButton {
    pub fn of(rel: &crate::service::relationships::Relationship) -> FollowButton {
        if rel.following {
            FollowButton::Following
        } else if rel.requested {
            FollowButton::Requested
        } else {
            FollowButton::Follow
        }
    }

    /// The last segment of the form's action (`/accounts/{id}/…`).
    pub fn action(&self) -> &'static str {
        match self {
            FollowButton::Follow => "follow",
            _ => "unfollow",
        }
    }

    /// Following or asked to: the button undoes it.
    pub fn pressed(&self) -> bool {
        *self != FollowButton::Follow
    }

    pub fn label(&self) -> &'static str {
        match self {
            FollowButton::Follow => "Follow",
            FollowButton::Requested => "Requested (cancel)",
            FollowButton::Following => "Unfollow",
        }
    }
}

/// An account in search results, with the viewer's follow button.
#[derive(Debug, Clone)]
pub struct AccountHit {
    pub author: AuthorView,
    pub follow: Option<FollowButton>,
}

#[derive(Template)]
#[template(path = "story.html")]
pub struct StoryPage<'a> {
    pub ctx: &'a Ctx,
    pub story: StoryView,
    pub can_edit: bool,
    pub following: bool,
    pub replies: Vec<crate::service::replies::ReplyView>,
    pub sort: crate::service::replies::ThreadSort,
    pub palette: &'static [&'static str],
    /// A rejected reply's text and the reason, shown in the reply form.
    pub draft: ReplyDraft,
    pub error: String,
    /// The polls of the story and its replies.
    pub polls: crate::service::polls::PollMap,
}

/// What was typed in a reply form (kept when it is shown again with an error).
#[derive(Debug, Default, Clone)]
pub struct ReplyDraft {
    pub body: String,
    /// The content warning ("" for none).
    pub warning: String,
    /// The poll fields.
    pub poll: super::polls::PollDraft,
    /// The visibility chosen ("" for the parent's).
    pub visibility: String,
}

#[derive(Template)]
#[template(path = "story_form.html")]
pub struct StoryFormPage<'a> {
    pub ctx: &'a Ctx,
    pub editing: Option<i64>,
    pub headline: String,
    pub body: String,
    /// The content warning ("" for none).
    pub spoiler_text: String,
    /// The visibility chosen (new stories only).
    pub visibility: String,
    pub errors: FormErrors,
    /// The poll fields (new stories only).
    pub poll: super::polls::PollDraft,
}

#[derive(Template)]
#[template(path = "join.html")]
pub struct JoinPage<'a> {
    pub ctx: &'a Ctx,
    pub username: String,
    /// The rules to accept (none: no checkbox).
    pub rules: &'a [String],
    pub accepted: bool,
    /// Sign-ups are open (else the page says why not, with no form).
    pub open: bool,
    /// Why there is no form.
    pub closed_text: String,
    /// The invitation code the form carries.
    pub invite: String,
    /// Sign-ups wait for approval: the form asks for a reason.
    pub approval: bool,
    pub email: String,
    pub reason: String,
    pub errors: FormErrors,
}

/// The admin accounts page.
#[derive(Template)]
#[template(path = "admin_accounts.html")]
pub struct AdminAccountsPage<'a> {
    pub ctx: &'a Ctx,
    pub accounts: Vec<crate::service::account_admin::AdminAccount>,
    /// How many sign-ups wait for approval.
    pub pending: usize,
    pub status: String,
    pub origin: String,
    pub query: String,
    pub done: Option<String>,
    pub viewer_id: i64,
    pub viewer_is_admin: bool,
}

/// The invitation links one has made.
#[derive(Template)]
#[template(path = "invites.html")]
pub struct InvitesPage<'a> {
    pub ctx: &'a Ctx,
    pub invites: Vec<crate::service::invites::Invite>,
    pub base_url: String,
    pub errors: FormErrors,
}

/// After a sign-up that waits for approval.
#[derive(Template)]
#[template(path = "join_pending.html")]
pub struct JoinPendingPage<'a> {
    pub ctx: &'a Ctx,
    pub username: String,
}

#[derive(Template)]
#[template(path = "about.html")]
pub struct AboutPage<'a> {
    pub ctx: &'a Ctx,
    pub domain: &'a str,
    pub info: &'a crate::service::instance::InstanceInfo,
    /// Blocked servers as the public list shows them (domain, severity, comment), when
    /// the admin shows it to this visitor.
    pub blocked: Option<Vec<(String, String, String)>>,
}

#[derive(Template)]
#[template(path = "instance_settings.html")]
pub struct InstanceSettingsPage<'a> {
    pub ctx: &'a Ctx,
    pub form: super::instance::SettingsForm,
    pub saved: bool,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub ctx: &'a Ctx,
    pub username: String,
    pub return_to: String,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub struct SettingsPage<'a> {
    pub ctx: &'a Ctx,
    pub display_name: String,
    pub bio: String,
    pub errors: FormErrors,
    pub saved: bool,
}

#[derive(Template)]
#[template(path = "search.html")]
pub struct SearchPage<'a> {
    pub ctx: &'a Ctx,
    /// The query as typed (trimmed), shown in the search box.
    pub query: String,
    /// Why the query was refused (too long).
    pub error: Option<String>,
    /// Whether a search ran (a non-empty, accepted query).
    pub searched: bool,
    pub accounts: Vec<AccountHit>,
    pub posts: Vec<crate::service::search::SearchHit>,
    pub next_href: Option<String>,
    pub prev_href: Option<String>,
}

#[derive(Template)]
#[template(path = "report_form.html")]
pub struct ReportFormPage<'a> {
    pub ctx: &'a Ctx,
    pub subject: crate::service::reports::ReportSubject,
    pub reason: String,
    /// The "also send it to their server" box (remote targets only).
    pub forward: bool,
    pub errors: FormErrors,
}

#[derive(Template)]
#[template(path = "report_sent.html")]
pub struct ReportSentPage<'a> {
    pub ctx: &'a Ctx,
}

#[derive(Template)]
#[template(path = "moderation.html")]
pub struct ModerationPage<'a> {
    pub ctx: &'a Ctx,
    pub reports: Vec<crate::service::moderation::ReportView>,
    pub next_href: Option<String>,
    pub done: Option<String>,
    /// The moderator looking at the queue, to leave out actions they may not take.
    pub viewer_id: i64,
    pub viewer_is_admin: bool,
}

#[derive(Template)]
#[template(path = "moderation_log.html")]
pub struct ModerationLogPage<'a> {
    pub ctx: &'a Ctx,
    pub actions: Vec<crate::service::moderation::ModActionView>,
    pub next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "reply_page.html")]
pub struct ReplyPageView<'a> {
    pub ctx: &'a Ctx,
    pub page: crate::service::replies::ReplyPage,
    pub replies: Vec<crate::service::replies::ReplyView>,
    pub draft: ReplyDraft,
    pub error: String,
    pub palette: &'static [&'static str],
    /// The polls of the replies shown.
    pub polls: crate::service::polls::PollMap,
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage<'a> {
    pub ctx: &'a Ctx,
    pub items: Vec<crate::service::notifications::NotificationView>,
    pub next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "messages.html")]
pub struct MessagesPage<'a> {
    pub ctx: &'a Ctx,
    pub items: Vec<crate::service::conversations::ConversationView>,
    pub next_href: Option<String>,
}

#[derive(Template)]
#[template(path = "authorize.html")]
pub struct AuthorizePage<'a> {
    pub ctx: &'a Ctx,
    pub app_name: String,
    pub app_website: String,
    pub scopes: Vec<String>,
    pub params: super::oauth::AuthorizeParams,
}

#[derive(Template)]
#[template(path = "oob_code.html")]
pub struct OobCodePage<'a> {
    pub ctx: &'a Ctx,
    pub app_name: String,
    pub code: String,
}
