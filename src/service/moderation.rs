//! Moderation: the queue of open reports, the actions moderators take, and their log.
//!
//! Moderators are admins and the accounts an admin made moderators. Every function here
//! checks that the acting account is one (and checks again, against the database, inside
//! the write transaction, so a moderator whose rights were just revoked cannot act). Each
//! action writes its `mod_actions` row in the same transaction as the change it logs.

use std::collections::{HashMap, HashSet};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::reports::{PostBrief, PostBriefRow};
use super::views::AuthorView;
use super::{PAGE_SIZE, Page, Services};
use crate::db::DbConn;
use crate::db::ids;
use crate::db::models::{Account, ModAction, Report};
use crate::db::schema::{accounts, mod_actions, posts, reports, sessions};
use crate::error::AppError;
use crate::federation::outbox::{self, PostEvent};

/// A note has at most this many characters.
pub const MAX_NOTE: usize = 1000;

pub const RESOLVE_REPORT: &str = "resolve_report";
pub const DISMISS_REPORT: &str = "dismiss_report";
pub const REMOVE_POST: &str = "remove_post";
pub const SUSPEND_ACCOUNT: &str = "suspend_account";
pub const UNSUSPEND_ACCOUNT: &str = "unsuspend_account";
pub const GRANT_MODERATOR: &str = "grant_moderator";
pub const REVOKE_MODERATOR: &str = "revoke_moderator";

/// Admins and moderators may moderate.
pub fn is_moderator(account: &Account) -> bool {
    account.is_admin || account.is_moderator
}

fn require_moderator(account: &Account) -> Result<(), AppError> {
    if is_moderator(account) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// The acting account as stored now: still a moderator (or admin) and not suspended.
pub(crate) fn recheck(conn: &mut DbConn, id: i64, admin_only: bool) -> Result<Account, AppError> {
    let actor = accounts::table
        .find(id)
        .first::<Account>(conn)
        .optional()?
        .ok_or_else(AppError::forbidden)?;
    let allowed = if admin_only {
        actor.is_admin
    } else {
        is_moderator(&actor)
    };
    if !allowed || actor.suspended_at.is_some() {
        return Err(AppError::forbidden());
    }
    Ok(actor)
}

fn check_note(note: &str) -> Result<String, AppError> {
    let note = note.trim();
    let n = note.chars().count();
    if n > MAX_NOTE {
        return Err(AppError::field(
            "note",
            format!("A note has at most {MAX_NOTE} characters (this one has {n})."),
        ));
    }
    Ok(note.to_owned())
}

/// The account columns the moderation pages show.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
struct AccountRow {
    id: i64,
    username: String,
    domain: Option<String>,
    display_name: String,
    is_admin: bool,
    is_moderator: bool,
    suspended_at: Option<NaiveDateTime>,
}

/// An account with the state a moderator needs to see.
#[derive(Debug, Clone)]
pub struct ModAccount {
    pub account: AuthorView,
    pub is_admin: bool,
    pub is_moderator: bool,
    pub suspended: bool,
}

impl From<AccountRow> for ModAccount {
    fn from(a: AccountRow) -> ModAccount {
        ModAccount {
            account: AuthorView {
                id: a.id,
                username: a.username,
                domain: a.domain,
                display_name: a.display_name,
            },
            is_admin: a.is_admin,
            is_moderator: a.is_moderator,
            suspended: a.suspended_at.is_some(),
        }
    }
}

fn load_accounts(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, ModAccount>, AppError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(accounts::table
        .filter(accounts::id.eq_any(&ids))
        .select(AccountRow::as_select())
        .load::<AccountRow>(conn)?
        .into_iter()
        .map(|a| (a.id, a.into()))
        .collect())
}

fn load_posts(
    conn: &mut DbConn,
    ids: impl IntoIterator<Item = i64>,
) -> Result<HashMap<i64, PostBrief>, AppError> {
    let ids: Vec<i64> = ids
        .into_iter()
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(posts::table
        .filter(posts::id.eq_any(&ids))
        .select(PostBriefRow::as_select())
        .load::<PostBriefRow>(conn)?
        .into_iter()
        .map(|p| (p.id, p.into()))
        .collect())
}

fn page_of<T>(mut items: Vec<T>, id: impl Fn(&T) -> i64) -> Page<T> {
    let next_before = if items.len() as i64 > PAGE_SIZE {
        items.truncate(PAGE_SIZE as usize);
        items.last().map(id)
    } else {
        None
    };
    Page { items, next_before }
}

/// An open report with who filed it and what it is about.
#[derive(Debug, Clone)]
pub struct ReportView {
    pub id: i64,
    pub reason: String,
    pub status: String,
    pub created_at: NaiveDateTime,
    /// `None` for reports from other servers (or a reporter since deleted).
    pub reporter: Option<AuthorView>,
    pub target: ModAccount,
    pub post: Option<PostBrief>,
}

impl ReportView {
    pub fn created_rfc3339(&self) -> String {
        crate::domain::time::rfc3339(&self.created_at)
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }
}

/// Open reports, newest first; `before` is the id the previous page ended at. Accounts and
/// posts are loaded in one query each for the whole page.
pub async fn open_reports(
    svc: &Services,
    moderator: &Account,
    before: Option<i64>,
) -> Result<Page<ReportView>, AppError> {
    require_moderator(moderator)?;
    svc.db
        .run(move |conn| {
            let rows = reports::table
                .filter(reports::status.eq("open"))
                .filter(reports::id.lt(before.unwrap_or(i64::MAX)))
                .order(reports::id.desc())
                .limit(PAGE_SIZE + 1)
                .load::<Report>(conn)?;
            let accounts = load_accounts(
                conn,
                rows.iter()
                    .flat_map(|r| [Some(r.target_account_id), r.reporter_id])
                    .flatten(),
            )?;
            let posts = load_posts(conn, rows.iter().filter_map(|r| r.target_post_id))?;
            let items = rows
                .into_iter()
                .filter_map(|r| {
                    // The target is a foreign key with ON DELETE CASCADE, so it is there.
                    let target = accounts.get(&r.target_account_id)?.clone();
                    let reporter = r
                        .reporter_id
                        .and_then(|id| accounts.get(&id))
                        .map(|a| a.account.clone());
                    let post = r.target_post_id.and_then(|id| posts.get(&id).cloned());
                    Some(ReportView {
                        id: r.id,
                        reason: r.reason,
                        status: r.status,
                        created_at: r.created_at,
                        reporter,
                        target,
                        post,
                    })
                })
                .collect::<Vec<_>>();
            Ok(page_of(items, |r: &ReportView| r.id))
        })
        .await
}

fn log_action(
    conn: &mut DbConn,
    moderator_id: i64,
    action: &str,
    target_account_id: Option<i64>,
    target_post_id: Option<i64>,
    report_id: Option<i64>,
    note: &str,
) -> Result<(), AppError> {
    log_entry(
        conn,
        Some(moderator_id),
        action,
        target_account_id,
        target_post_id,
        report_id,
        note,
    )
}

/// Writes one row of the moderation log; `moderator_id` `None`: the command line.
pub(crate) fn log_entry(
    conn: &mut DbConn,
    moderator_id: Option<i64>,
    action: &str,
    target_account_id: Option<i64>,
    target_post_id: Option<i64>,
    report_id: Option<i64>,
    note: &str,
) -> Result<(), AppError> {
    diesel::insert_into(mod_actions::table)
        .values(&ModAction {
            id: ids::new_id(),
            moderator_id,
            action: action.to_owned(),
            target_account_id,
            target_post_id,
            report_id,
            note: note.to_owned(),
            created_at: Utc::now().naive_utc(),
        })
        .execute(conn)?;
    Ok(())
}

fn find_report(conn: &mut DbConn, id: i64) -> Result<Report, AppError> {
    reports::table
        .find(id)
        .first::<Report>(conn)
        .optional()?
        .ok_or_else(AppError::not_found)
}

/// Marks an open report `status`; false when it was closed already (by someone else).
fn close_report(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    moderator_id: i64,
) -> Result<bool, AppError> {
    let n = diesel::update(
        reports::table
            .filter(reports::id.eq(id))
            .filter(reports::status.eq("open")),
    )
    .set((
        reports::status.eq(status),
        reports::resolved_at.eq(Some(Utc::now().naive_utc())),
        reports::resolved_by.eq(Some(moderator_id)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

fn already_handled() -> AppError {
    AppError::conflict("This report was already handled.")
}

async fn finish_report(
    svc: &Services,
    moderator: &Account,
    report_id: i64,
    status: &'static str,
    action: &'static str,
) -> Result<(), AppError> {
    require_moderator(moderator)?;
    let moderator_id = moderator.id;
    svc.db
        .write(move |conn| {
            recheck(conn, moderator_id, false)?;
            let report = find_report(conn, report_id)?;
            if report.status != "open" || !close_report(conn, report_id, status, moderator_id)? {
                return Err(already_handled());
            }
            log_action(
                conn,
                moderator_id,
                action,
                Some(report.target_account_id),
                report.target_post_id,
                Some(report_id),
                "",
            )
        })
        .await
}

/// Closes a report as acted upon.
pub async fn resolve(svc: &Services, moderator: &Account, report_id: i64) -> Result<(), AppError> {
    finish_report(svc, moderator, report_id, "resolved", RESOLVE_REPORT).await
}

/// Closes a report as needing no action.
pub async fn dismiss(svc: &Services, moderator: &Account, report_id: i64) -> Result<(), AppError> {
    finish_report(svc, moderator, report_id, "dismissed", DISMISS_REPORT).await
}

/// Checks that a report given with an action is about that post or account.
fn matching_report(
    conn: &mut DbConn,
    report_id: Option<i64>,
    matches: impl Fn(&Report) -> bool,
) -> Result<Option<Report>, AppError> {
    let Some(id) = report_id else {
        return Ok(None);
    };
    let report = find_report(conn, id)?;
    if !matches(&report) {
        return Err(AppError::bad_request(
            "That report is about something else.",
        ));
    }
    Ok(Some(report))
}

/// Removes a post from view (for a story, its whole thread). A report given with it is
/// resolved by the same action. A post of ours is deleted on the servers it went to (a
/// `Delete`, as when its author deletes it): peers have no "removed" state of their own.
pub async fn remove_post(
    svc: &Services,
    moderator: &Account,
    post_id: i64,
    report_id: Option<i64>,
    note: &str,
) -> Result<(), AppError> {
    require_moderator(moderator)?;
    let note = check_note(note)?;
    let moderator_id = moderator.id;
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            recheck(conn, moderator_id, false)?;
            let post = posts::table
                .find(post_id)
                .select(PostBriefRow::as_select())
                .first::<PostBriefRow>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            let report = matching_report(conn, report_id, |r| r.target_post_id == Some(post_id))?;
            let n = diesel::update(
                posts::table
                    .filter(posts::id.eq(post_id))
                    .filter(posts::removed_at.is_null()),
            )
            .set(posts::removed_at.eq(Some(Utc::now().naive_utc())))
            .execute(conn)?;
            if n == 0 {
                return Err(AppError::conflict("This post was already removed."));
            }
            if let Some(r) = report.filter(|r| r.status == "open") {
                close_report(conn, r.id, "resolved", moderator_id)?;
            }
            outbox::post_event(conn, &urls, post_id, PostEvent::Deleted)?;
            log_action(
                conn,
                moderator_id,
                REMOVE_POST,
                Some(post.account_id),
                Some(post_id),
                report_id,
                &note,
            )
        })
        .await
}

pub(crate) fn find_account(conn: &mut DbConn, id: i64) -> Result<Account, AppError> {
    accounts::table
        .find(id)
        .first::<Account>(conn)
        .optional()?
        .ok_or_else(AppError::not_found)
}

/// Suspends an account: it can no longer log in and its sessions end at once. Moderators
/// cannot suspend themselves, nor an admin unless they are admin. A report given with it
/// is resolved by the same action.
pub async fn suspend_account(
    svc: &Services,
    moderator: &Account,
    account_id: i64,
    report_id: Option<i64>,
    note: &str,
) -> Result<(), AppError> {
    require_moderator(moderator)?;
    let note = check_note(note)?;
    let moderator_id = moderator.id;
    svc.db
        .write(move |conn| {
            let actor = recheck(conn, moderator_id, false)?;
            if account_id == actor.id {
                return Err(AppError::bad_request("You cannot suspend yourself."));
            }
            let target = find_account(conn, account_id)?;
            if target.is_admin && !actor.is_admin {
                return Err(AppError::forbidden());
            }
            let report = matching_report(conn, report_id, |r| r.target_account_id == account_id)?;
            let now = Utc::now().naive_utc();
            let n = diesel::update(
                accounts::table
                    .filter(accounts::id.eq(account_id))
                    .filter(accounts::suspended_at.is_null()),
            )
            .set((
                accounts::suspended_at.eq(Some(now)),
                accounts::updated_at.eq(now),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(AppError::conflict("This account is already suspended."));
            }
            diesel::delete(sessions::table.filter(sessions::account_id.eq(account_id)))
                .execute(conn)?;
            if let Some(r) = report.filter(|r| r.status == "open") {
                close_report(conn, r.id, "resolved", moderator_id)?;
            }
            log_action(
                conn,
                moderator_id,
                SUSPEND_ACCOUNT,
                Some(account_id),
                None,
                report_id,
                &note,
            )
        })
        .await?;
    // A remote account's activities are refused from now on, not after the cache expires.
    svc.signers.clear();
    Ok(())
}

/// Lifts a suspension; the account may log in again.
pub async fn unsuspend(
    svc: &Services,
    moderator: &Account,
    account_id: i64,
    note: &str,
) -> Result<(), AppError> {
    require_moderator(moderator)?;
    let note = check_note(note)?;
    let moderator_id = moderator.id;
    svc.db
        .write(move |conn| {
            let actor = recheck(conn, moderator_id, false)?;
            let target = find_account(conn, account_id)?;
            if target.is_admin && !actor.is_admin {
                return Err(AppError::forbidden());
            }
            let n = diesel::update(
                accounts::table
                    .filter(accounts::id.eq(account_id))
                    .filter(accounts::suspended_at.is_not_null()),
            )
            .set((
                accounts::suspended_at.eq(None::<NaiveDateTime>),
                accounts::updated_at.eq(Utc::now().naive_utc()),
            ))
            .execute(conn)?;
            if n == 0 {
                return Err(AppError::conflict("This account is not suspended."));
            }
            log_action(
                conn,
                moderator_id,
                UNSUSPEND_ACCOUNT,
                Some(account_id),
                None,
                None,
                &note,
            )
        })
        .await?;
    svc.signers.clear();
    Ok(())
}

/// Makes a local account a moderator, or takes the role away. Admins only.
pub async fn set_moderator(
    svc: &Services,
    admin: &Account,
    account_id: i64,
    grant: bool,
) -> Result<(), AppError> {
    if !admin.is_admin {
        return Err(AppError::forbidden());
    }
    let admin_id = admin.id;
    svc.db
        .write(move |conn| {
            recheck(conn, admin_id, true)?;
            let target = find_account(conn, account_id)?;
            if !target.is_local() {
                return Err(AppError::bad_request(
                    "Only accounts on this server can be moderators.",
                ));
            }
            if target.is_moderator == grant {
                return Err(AppError::conflict(if grant {
                    "This account is a moderator already."
                } else {
                    "This account is not a moderator."
                }));
            }
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::is_moderator.eq(grant),
                    accounts::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            let action = if grant {
                GRANT_MODERATOR
            } else {
                REVOKE_MODERATOR
            };
            log_action(conn, admin_id, action, Some(account_id), None, None, "")
        })
        .await
}

/// One entry of the moderation log.
#[derive(Debug, Clone)]
pub struct ModActionView {
    pub id: i64,
    pub action: String,
    /// `None`: taken on the command line.
    pub moderator: Option<AuthorView>,
    pub target_account: Option<ModAccount>,
    pub target_post: Option<PostBrief>,
    pub report_id: Option<i64>,
    pub note: String,
    pub created_at: NaiveDateTime,
}

impl ModActionView {
    /// The action in words.
    pub fn label(&self) -> &str {
        match self.action.as_str() {
            RESOLVE_REPORT => "resolved a report",
            DISMISS_REPORT => "dismissed a report",
            REMOVE_POST => "removed a post",
            SUSPEND_ACCOUNT => "suspended an account",
            UNSUSPEND_ACCOUNT => "lifted a suspension",
            GRANT_MODERATOR => "made a moderator",
            REVOKE_MODERATOR => "removed a moderator",
            other => super::account_admin::action_label(other).unwrap_or(other),
        }
    }

    pub fn created_rfc3339(&self) -> String {
        crate::domain::time::rfc3339(&self.created_at)
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.created_at)
    }

    /// A suspension whose account is still suspended, so the log can offer to lift it.
    pub fn can_unsuspend(&self) -> bool {
        self.action == SUSPEND_ACCOUNT && self.target_account.as_ref().is_some_and(|a| a.suspended)
    }
}

/// Moderator actions, newest first, with the names of moderators and targets.
pub async fn log(
    svc: &Services,
    moderator: &Account,
    before: Option<i64>,
) -> Result<Page<ModActionView>, AppError> {
    require_moderator(moderator)?;
    svc.db
        .run(move |conn| {
            let rows = mod_actions::table
                .filter(mod_actions::id.lt(before.unwrap_or(i64::MAX)))
                .order(mod_actions::id.desc())
                .limit(PAGE_SIZE + 1)
                .load::<ModAction>(conn)?;
            let accounts = load_accounts(
                conn,
                rows.iter()
                    .flat_map(|r| [r.moderator_id, r.target_account_id])
                    .flatten(),
            )?;
            let posts = load_posts(conn, rows.iter().filter_map(|r| r.target_post_id))?;
            let items = rows
                .into_iter()
                .map(|r| ModActionView {
                    id: r.id,
                    moderator: r
                        .moderator_id
                        .and_then(|id| accounts.get(&id))
                        .map(|a| a.account.clone()),
                    target_account: r
                        .target_account_id
                        .and_then(|id| accounts.get(&id).cloned()),
                    target_post: r.target_post_id.and_then(|id| posts.get(&id).cloned()),
                    action: r.action,
                    report_id: r.report_id,
                    note: r.note,
                    created_at: r.created_at,
                })
                .collect();
            Ok(page_of(items, |a: &ModActionView| a.id))
        })
        .await
}
