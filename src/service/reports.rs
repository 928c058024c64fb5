//! Reports: a logged-in person flags a story, a reply or an account for the moderators.
//!
//! Each report gets an ActivityPub id (`{base}/reports/{id}`) so it can later be sent to
//! the reported account's server as a `Flag`.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use super::views::AuthorView;
use crate::db::models::{Account, AccountBrief, Report};
use crate::db::schema::{accounts, posts, reports};
use crate::db::{DbConn, ids};
use crate::error::{AppError, FieldError};
use crate::federation::flag;

/// A reason has at most this many characters.
pub const MAX_REASON: usize = 1000;

/// The reasons of repeated reports merged into one open report (see [`insert_report`])
/// grow to at most this many characters; a further reason is not added (logged).
pub const MAX_MERGED_REASON: usize = 4 * MAX_REASON;

/// What a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportTarget {
    /// A story or a reply.
    Post(i64),
    Account(i64),
}

/// The columns of a post that reports and the moderation pages show.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
pub struct PostBriefRow {
    pub id: i64,
    pub account_id: i64,
    pub headline: Option<String>,
    pub body: String,
    pub in_reply_to_id: Option<i64>,
    pub deleted_at: Option<NaiveDateTime>,
    pub removed_at: Option<NaiveDateTime>,
}

/// A reported post as pages show it: a title (headline, or the start of a reply) and a link.
#[derive(Debug, Clone)]
pub struct PostBrief {
    pub id: i64,
    pub title: String,
    pub path: String,
    pub is_story: bool,
    pub deleted: bool,
    pub removed: bool,
}

impl From<PostBriefRow> for PostBrief {
    fn from(p: PostBriefRow) -> PostBrief {
        let is_story = p.in_reply_to_id.is_none();
        let path = if is_story {
            format!("/stories/{}", p.id)
        } else {
            format!("/replies/{}", p.id)
        };
        let title = match p.headline.as_deref().map(str::trim) {
            Some(h) if !h.is_empty() => h.to_owned(),
            _ => excerpt(&p.body, 120),
        };
        PostBrief {
            id: p.id,
            title,
            path,
            is_story,
            deleted: p.deleted_at.is_some(),
            removed: p.removed_at.is_some(),
        }
    }
}

/// The first `max` characters of a text on one line.
fn excerpt(text: &str, max: usize) -> String {
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= max {
        text
    } else {
        let cut: String = text.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// What the report form names: the account and, for a post, the post.
#[derive(Debug, Clone)]
pub struct ReportSubject {
    pub target: ReportTarget,
    pub account: AuthorView,
    pub post: Option<PostBrief>,
}

impl ReportSubject {
    /// Where the reported thing can be seen.
    pub fn path(&self) -> String {
        match &self.post {
            Some(p) => p.path.clone(),
            None => self.account.profile_path(),
        }
    }
}

/// The trimmed reason, or a field error.
pub fn check_reason(reason: &str) -> Result<String, AppError> {
    let reason = reason.trim();
    let n = reason.chars().count();
    if n == 0 {
        return Err(AppError::field("reason", "Say what is wrong."));
    }
    if n > MAX_REASON {
        return Err(AppError::field(
            "reason",
            format!("A reason has at most {MAX_REASON} characters (this one has {n})."),
        ));
    }
    Ok(reason.to_owned())
}

/// An account by `name`, `@name` (local) or `name@domain` (remote), case-insensitively.
pub async fn account_by_handle(svc: &Services, handle: &str) -> Result<Option<Account>, AppError> {
    let handle = handle.trim().trim_start_matches('@').to_lowercase();
    if handle.is_empty() {
        return Ok(None);
    }
    let (name, domain) = match handle.split_once('@') {
        Some((n, d)) if d == svc.config.domain.to_lowercase() => (n.to_owned(), None),
        Some((n, d)) => (n.to_owned(), Some(d.to_owned())),
        None => (handle.clone(), None),
    };
    svc.db
        .run(move |conn| {
            let q = accounts::table
                .filter(accounts::username_lower.eq(name))
                .into_boxed();
            let q = match domain {
                Some(d) => q.filter(accounts::domain.eq(d)),
                None => q.filter(accounts::domain.is_null()),
            };
            Ok(q.first::<Account>(conn).optional()?)
        })
        .await
}

/// Looks up what would be reported: NotFound when it does not exist, Gone when the post
/// was deleted or removed; a post `viewer` may not see is not found.
pub async fn describe(
    svc: &Services,
    target: ReportTarget,
    viewer: i64,
) -> Result<ReportSubject, AppError> {
    svc.db
        .run(move |conn| match target {
            ReportTarget::Post(id) => {
                super::visibility::ensure_id(conn, Some(viewer), id)?;
                let (post, author) = posts::table
                    .inner_join(accounts::table)
                    .filter(posts::id.eq(id))
                    .select((PostBriefRow::as_select(), AccountBrief::as_select()))
                    .first::<(PostBriefRow, AccountBrief)>(conn)
                    .optional()?
                    .ok_or_else(AppError::not_found)?;
                if post.deleted_at.is_some() || post.removed_at.is_some() {
                    return Err(AppError::gone());
                }
                Ok(ReportSubject {
                    target,
                    account: author.into(),
                    post: Some(post.into()),
                })
            }
            ReportTarget::Account(id) => {
                let account = accounts::table
                    .find(id)
                    .select(AccountBrief::as_select())
                    .first::<AccountBrief>(conn)
                    .optional()?
                    .ok_or_else(AppError::not_found)?;
                Ok(ReportSubject {
                    target,
                    account: account.into(),
                    post: None,
                })
            }
        })
        .await
}

/// The account a target belongs to, checking the post can still be reported.
fn target_account(conn: &mut DbConn, target: ReportTarget) -> Result<(i64, Option<i64>), AppError> {
    match target {
        ReportTarget::Post(id) => {
            let post = posts::table
                .find(id)
                .select(PostBriefRow::as_select())
                .first::<PostBriefRow>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            if post.deleted_at.is_some() || post.removed_at.is_some() {
                return Err(AppError::gone());
            }
            Ok((post.account_id, Some(id)))
        }
        ReportTarget::Account(id) => {
            let exists = accounts::table
                .find(id)
                .select(accounts::id)
                .first::<i64>(conn)
                .optional()?;
            exists.ok_or_else(AppError::not_found)?;
            Ok((id, None))
        }
    }
}

/// Files a report and returns its id. The reason is checked before anything is stored.
/// With `forward`, a report about a remote account or post is also sent to that server's
/// moderators as a `Flag` from the instance actor (see federation::flag).
pub async fn create(
    svc: &Services,
    reporter: &Account,
    target: ReportTarget,
    reason: &str,
    forward: bool,
) -> Result<i64, AppError> {
    let reason = check_reason(reason)?;
    if reporter.suspended_at.is_some() {
        return Err(AppError::forbidden());
    }
    let id = ids::new_id();
    let ap_id = format!("{}/reports/{id}", svc.base_url());
    let reporter_id = reporter.id;
    let base_url = svc.base_url().to_owned();
    svc.db
        .write(move |conn| {
            if let ReportTarget::Post(post_id) = target {
                super::visibility::ensure_id(conn, Some(reporter_id), post_id)?;
            }
            let (target_account_id, _) = target_account(conn, target)?;
            if target_account_id == reporter_id {
                let message = match target {
                    ReportTarget::Post(_) => "You cannot report your own post.",
                    ReportTarget::Account(_) => "You cannot report yourself.",
                };
                return Err(AppError::validation(vec![FieldError {
                    field: "target",
                    message: message.into(),
                }]));
            }
            // A repeated report is merged into the open one, whose id comes back.
            let id = insert_report(
                conn,
                id,
                ap_id.clone(),
                Some(reporter_id),
                target,
                reason.clone(),
            )?;
            if forward {
                let (_, target_post_id) = target_account(conn, target)?;
                let account = accounts::table
                    .find(target_account_id)
                    .first::<Account>(conn)?;
                let post_ap_id = match target_post_id {
                    Some(p) => Some(
                        posts::table
                            .find(p)
                            .select(posts::ap_id)
                            .first::<String>(conn)?,
                    ),
                    None => None,
                };
                flag::forward(
                    conn,
                    &base_url,
                    &ap_id,
                    &account,
                    post_ap_id.as_deref(),
                    &reason,
                )?;
            }
            Ok(id)
        })
        .await
}

/// Files a report inside a write transaction (the body of [`create`], shared with the
/// inbox, where `ap_id` is the `Flag`'s id). The target must exist and not be gone.
///
/// A reporter's repeated reports about the same target are one report: while an open one
/// exists, its id is returned and the new reason is added to it (when it says something
/// new), instead of a second report in the queue. Returns the id of the report filed or
/// merged into.
pub(crate) fn insert_report(
    conn: &mut DbConn,
    id: i64,
    ap_id: String,
    reporter_id: Option<i64>,
    target: ReportTarget,
    reason: String,
) -> Result<i64, AppError> {
    let (target_account_id, target_post_id) = target_account(conn, target)?;
    if let Some(reporter_id) = reporter_id {
        let open = reports::table
            .filter(reports::reporter_id.eq(reporter_id))
            .filter(reports::target_account_id.eq(target_account_id))
            .filter(reports::status.eq("open"))
            .into_boxed();
        let open = match target_post_id {
            Some(p) => open.filter(reports::target_post_id.eq(p)),
            None => open.filter(reports::target_post_id.is_null()),
        };
        if let Some((existing, old)) = open
            .order(reports::id.asc())
            .select((reports::id, reports::reason))
            .first::<(i64, String)>(conn)
            .optional()?
        {
            if !old.contains(reason.as_str()) {
                let merged = format!("{old}\n\n{reason}");
                if merged.chars().count() <= MAX_MERGED_REASON {
                    diesel::update(reports::table.find(existing))
                        .set(reports::reason.eq(merged))
                        .execute(conn)?;
                } else {
                    tracing::info!(
                        report = existing,
                        "repeated report: its reason is not added, the report's reasons are full"
                    );
                }
            }
            return Ok(existing);
        }
    }
    diesel::insert_into(reports::table)
        .values(&Report {
            id,
            ap_id,
            reporter_id,
            target_account_id,
            target_post_id,
            reason,
            status: "open".into(),
            created_at: Utc::now().naive_utc(),
            resolved_at: None,
            resolved_by: None,
        })
        .execute(conn)?;
    Ok(id)
}

/// One report by id.
pub async fn get(svc: &Services, id: i64) -> Result<Report, AppError> {
    svc.db
        .run(move |conn| Ok(reports::table.find(id).first::<Report>(conn)?))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(check_reason("  spam \n").unwrap(), "spam");
        let empty = check_reason(" \n\t ").unwrap_err();
        assert_eq!(empty.field_errors()[0].field, "reason");
        assert_eq!(empty.field_errors()[0].message, "Say what is wrong.");
        assert!(check_reason(&"é".repeat(MAX_REASON)).is_ok());
        let long = check_reason(&"é".repeat(MAX_REASON + 1)).unwrap_err();
        assert!(long.field_errors()[0].message.contains("1001"));
    }

    #[test]
    fn excerpts_are_single_line_and_short() {
        assert_eq!(excerpt("a\n\nb   c", 10), "a b c");
        assert_eq!(excerpt(&"x".repeat(20), 5), "xxxxx…");
    }
}
