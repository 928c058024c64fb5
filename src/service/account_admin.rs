//! Account administration (issue #14, items 3 and 5): the accounts staff see (local and
//! remote, searched and filtered), sign-ups waiting for approval, and what staff do to an
//! account — approve, reject, silence, disable the login, suspend, and lift each again.
//! The web admin page, the CLI and Mastodon's admin API call these. Every action is
//! checked against the acting account as stored now (inside the write transaction) and
//! written to the moderation log in the same transaction.

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use super::moderation::{find_account, log_entry, recheck};
use super::relationships::{AccountView, load_accounts_ordered};
use super::search::like_escape;
use crate::db::DbConn;
use crate::db::models::Account;
use crate::db::schema::{accounts, oauth_tokens, sessions};
use crate::error::{AppError, ErrorKind};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub const APPROVE_ACCOUNT: &str = "approve_account";
pub const REJECT_ACCOUNT: &str = "reject_account";
pub const SILENCE_ACCOUNT: &str = "silence_account";
pub const UNSILENCE_ACCOUNT: &str = "unsilence_account";
pub const DISABLE_LOGIN: &str = "disable_login";
pub const ENABLE_LOGIN: &str = "enable_login";

/// The log's words for the actions of this file.
pub fn action_label(action: &str) -> Option<&'static str> {
    Some(match action {
        APPROVE_ACCOUNT => "approved a sign-up",
        REJECT_ACCOUNT => "rejected a sign-up",
        SILENCE_ACCOUNT => "silenced an account",
        UNSILENCE_ACCOUNT => "lifted a silence",
        DISABLE_LOGIN => "disabled a login",
        ENABLE_LOGIN => "enabled a login",
        _ => return None,
    })
}

/// Who acts: a staff account (checked again in the transaction) or the command line
/// (whoever can run `tidings` on the server can change its database anyway).
#[derive(Debug, Clone, Copy)]
pub enum Acting<'a> {
    Staff(&'a Account),
    CommandLine,
}

/// The acting account as stored now, when it may act (`admin_only`: admins only); `None`
/// for the command line.
fn recheck_acting(
    conn: &mut DbConn,
    acting_id: Option<i64>,
    admin_only: bool,
) -> Result<Option<Account>, AppError> {
    acting_id
        .map(|id| recheck(conn, id, admin_only))
        .transpose()
}

impl Acting<'_> {
    fn id(self) -> Option<i64> {
        match self {
            Acting::Staff(a) => Some(a.id),
            Acting::CommandLine => None,
        }
    }

    fn quick_check(self, admin_only: bool) -> Result<(), AppError> {
        match self {
            Acting::Staff(a) if !(a.is_admin || (!admin_only && a.is_moderator)) => {
                Err(not_allowed("This action is not allowed"))
            }
            _ => Ok(()),
        }
    }
}

fn not_allowed(message: impl Into<String>) -> AppError {
    AppError::new(ErrorKind::Denied(message.into()))
}

/// Where an account lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Local,
    Remote,
}

/// The state staff filter by (Mastodon's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Neither pending, disabled, silenced nor suspended.
    Active,
    Pending,
    Disabled,
    Silenced,
    Suspended,
}

impl Status {
    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "active" => Status::Active,
            "pending" => Status::Pending,
            "disabled" => Status::Disabled,
            "silenced" => Status::Silenced,
            "suspended" => Status::Suspended,
            _ => return None,
        })
    }
}

/// A role an account holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn of(a: &Account) -> Role {
        if a.is_admin {
            Role::Admin
        } else if a.is_moderator {
            Role::Moderator
        } else {
            Role::User
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "user" => Role::User,
            "moderator" => Role::Moderator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }

    /// The id of the role in Mastodon's admin API (`role_ids[]`, `role.id`): the ids a
    /// fresh Mastodon gives its Moderator and Admin roles, and -99 for everyone else.
    pub fn api_id(self) -> i64 {
        match self {
            Role::User => -99,
            Role::Moderator => 1,
            Role::Admin => 2,
        }
    }

    pub fn from_api_id(id: i64) -> Option<Role> {
        [Role::User, Role::Moderator, Role::Admin]
            .into_iter()
            .find(|r| r.api_id() == id)
    }
}

/// What staff list: every filter narrows; paged newest first by id.
#[derive(Debug, Clone, Default)]
pub struct AccountFilter {
    pub origin: Option<Origin>,
    /// Every one of these states (empty: any state).
    pub statuses: Vec<Status>,
    /// Admins and moderators only.
    pub staff: bool,
    /// Any of these roles (empty: any role).
    pub roles: Vec<Role>,
    /// Usernames starting with this (case-insensitive).
    pub username: Option<String>,
    /// Display names containing this (case-insensitive).
    pub display_name: Option<String>,
    /// Remote accounts of this domain.
    pub by_domain: Option<String>,
    /// E-mail addresses containing this.
    pub email: Option<String>,
    pub max_id: Option<i64>,
    pub since_id: Option<i64>,
    pub min_id: Option<i64>,
    pub limit: i64,
}

/// An account as staff see it: the stored row (state, e-mail, reason) and the public view.
#[derive(Debug, Clone)]
pub struct AdminAccount {
    pub row: Account,
    pub view: AccountView,
}

impl AdminAccount {
    pub fn role(&self) -> Role {
        Role::of(&self.row)
    }

    pub fn pending(&self) -> bool {
        !self.row.approved
    }

    pub fn silenced(&self) -> bool {
        self.row.silenced_at.is_some()
    }

    pub fn suspended(&self) -> bool {
        self.row.suspended_at.is_some()
    }

    pub fn disabled(&self) -> bool {
        self.row.disabled_at.is_some()
    }

    pub fn reason(&self) -> &str {
        self.row.signup_reason.as_deref().unwrap_or("")
    }

    pub fn handle(&self) -> String {
        match &self.row.domain {
            Some(d) => format!("@{}@{d}", self.row.username),
            None => format!("@{}", self.row.username),
        }
    }

    pub fn created_ago(&self) -> String {
        crate::domain::time::ago_now(&self.row.created_at)
    }
}

fn with_views(
    conn: &mut DbConn,
    rows: Vec<Account>,
    base: &str,
) -> Result<Vec<AdminAccount>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|a| a.id).collect();
    let views = load_accounts_ordered(conn, &ids, base)?;
    Ok(rows
        .into_iter()
        .zip(views)
        .map(|(row, view)| AdminAccount { row, view })
        .collect())
}

/// Accounts matching `filter`, newest first (oldest first above `min_id`, then reversed).
pub async fn list(
    svc: &Services,
    acting: Acting<'_>,
    filter: AccountFilter,
) -> Result<Vec<AdminAccount>, AppError> {
    acting.quick_check(false)?;
    let acting_id = acting.id();
    let base = svc.base_url().to_owned();
    svc.db
        .run(move |conn| {
            recheck_acting(conn, acting_id, false)?;
            let mut q = accounts::table.into_boxed();
            match filter.origin {
                Some(Origin::Local) => q = q.filter(accounts::domain.is_null()),
                Some(Origin::Remote) => q = q.filter(accounts::domain.is_not_null()),
                None => {}
            }
            for status in &filter.statuses {
                q = match status {
                    Status::Active => q
                        .filter(accounts::approved.eq(true))
                        .filter(accounts::disabled_at.is_null())
                        .filter(accounts::silenced_at.is_null())
                        .filter(accounts::suspended_at.is_null()),
                    Status::Pending => q.filter(accounts::approved.eq(false)),
                    Status::Disabled => q.filter(accounts::disabled_at.is_not_null()),
                    Status::Silenced => q.filter(accounts::silenced_at.is_not_null()),
                    Status::Suspended => q.filter(accounts::suspended_at.is_not_null()),
                };
            }
            if filter.staff {
                q = q.filter(
                    accounts::is_admin
                        .eq(true)
                        .or(accounts::is_moderator.eq(true)),
                );
            }
            let has = |r| filter.roles.contains(&r);
            q = match (has(Role::Admin), has(Role::Moderator), has(Role::User)) {
                (false, false, false) | (true, true, true) => q,
                (true, false, false) => q.filter(accounts::is_admin.eq(true)),
                (false, true, false) => q
                    .filter(accounts::is_admin.eq(false))
                    .filter(accounts::is_moderator.eq(true)),
                (false, false, true) => q
                    .filter(accounts::is_admin.eq(false))
                    .filter(accounts::is_moderator.eq(false)),
                (true, true, false) => q.filter(
                    accounts::is_admin
                        .eq(true)
                        .or(accounts::is_moderator.eq(true)),
                ),
                (true, false, true) => q.filter(
                    accounts::is_admin
                        .eq(true)
                        .or(accounts::is_moderator.eq(false)),
                ),
                (false, true, true) => q.filter(accounts::is_admin.eq(false)),
            };
            if let Some(u) = filter.username.as_deref().map(str::trim)
                && !u.is_empty()
            {
                let pattern = format!("{}%", like_escape(&u.to_lowercase()));
                q = q.filter(accounts::username_lower.like(pattern).escape('\\'));
            }
            if let Some(d) = filter.display_name.as_deref().map(str::trim)
                && !d.is_empty()
            {
                let pattern = format!("%{}%", like_escape(&d.to_lowercase()));
                q = q.filter(lower(accounts::display_name).like(pattern).escape('\\'));
            }
            if let Some(d) = filter.by_domain.as_deref().map(str::trim)
                && !d.is_empty()
            {
                q = q.filter(accounts::domain.eq(d.to_lowercase()));
            }
            if let Some(e) = filter.email.as_deref().map(str::trim)
                && !e.is_empty()
            {
                let pattern = format!("%{}%", like_escape(&e.to_lowercase()));
                q = q.filter(accounts::email.like(pattern).escape('\\'));
            }
            if let Some(m) = filter.max_id {
                q = q.filter(accounts::id.lt(m));
            }
            if let Some(s) = filter.since_id {
                q = q.filter(accounts::id.gt(s));
            }
            let rows: Vec<Account> = if let Some(m) = filter.min_id {
                let mut rows: Vec<Account> = q
                    .filter(accounts::id.gt(m))
                    .order(accounts::id.asc())
                    .limit(filter.limit)
                    .load(conn)?;
                rows.reverse();
                rows
            } else {
                q.order(accounts::id.desc())
                    .limit(filter.limit)
                    .load(conn)?
            };
            with_views(conn, rows, &base)
        })
        .await
}

/// One account as staff see it.
pub async fn get(svc: &Services, acting: Acting<'_>, id: i64) -> Result<AdminAccount, AppError> {
    acting.quick_check(false)?;
    let base = svc.base_url().to_owned();
    let acting_id = acting.id();
    svc.db
        .run(move |conn| {
            recheck_acting(conn, acting_id, false)?;
            let row = find_account(conn, id)?;
            with_views(conn, vec![row], &base)?
                .pop()
                .ok_or_else(AppError::not_found)
        })
        .await
}

/// A local account by name, for the command line.
pub async fn local_by_name(svc: &Services, name: &str) -> Result<Account, AppError> {
    super::accounts::find_local(svc, name)
        .await?
        .ok_or_else(|| AppError::bad_request(format!("there is no local account {name:?}")))
}

/// The sign-ups waiting for approval, oldest first.
pub async fn pending(svc: &Services, acting: Acting<'_>) -> Result<Vec<AdminAccount>, AppError> {
    let mut all = list(
        svc,
        acting,
        AccountFilter {
            origin: Some(Origin::Local),
            statuses: vec![Status::Pending],
            limit: 1000,
            ..AccountFilter::default()
        },
    )
    .await?;
    all.reverse();
    Ok(all)
}

/// A change of an account's state that staff make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Approve,
    Silence,
    Unsilence,
    Disable,
    Enable,
}

impl Change {
    fn log_name(self) -> &'static str {
        match self {
            Change::Approve => APPROVE_ACCOUNT,
            Change::Silence => SILENCE_ACCOUNT,
            Change::Unsilence => UNSILENCE_ACCOUNT,
            Change::Disable => DISABLE_LOGIN,
            Change::Enable => ENABLE_LOGIN,
        }
    }
}

/// The target as stored, when `actor` may act on it: never on oneself, and only admins on
/// admins.
fn target_for(conn: &mut DbConn, actor: &Option<Account>, id: i64) -> Result<Account, AppError> {
    let target = find_account(conn, id)?;
    if let Some(actor) = actor {
        if actor.id == target.id {
            return Err(not_allowed("You cannot do this to your own account."));
        }
        if target.is_admin && !actor.is_admin {
            return Err(not_allowed("Only admins may act on an admin's account."));
        }
    }
    Ok(target)
}

/// Applies one change and logs it; the account as it is afterwards. A change that does
/// not apply (approving an approved account, enabling one not disabled…) is refused with
/// why and changes nothing.
pub async fn change(
    svc: &Services,
    acting: Acting<'_>,
    id: i64,
    change: Change,
    note: &str,
) -> Result<Account, AppError> {
    acting.quick_check(false)?;
    let note = note.trim().to_owned();
    let acting_id = acting.id();
    let updated = svc
        .db
        .write(move |conn| {
            let actor = recheck_acting(conn, acting_id, false)?;
            let target = target_for(conn, &actor, id)?;
            let now = Utc::now().naive_utc();
            let none: Option<NaiveDateTime> = None;
            let q = diesel::update(accounts::table.find(id));
            let n = match change {
                Change::Approve => {
                    if target.approved {
                        return Err(not_allowed("This account is not waiting for approval."));
                    }
                    q.set(accounts::approved.eq(true)).execute(conn)?
                }
                Change::Silence => {
                    if target.silenced_at.is_some() {
                        return Err(not_allowed("This account is already silenced."));
                    }
                    q.set(accounts::silenced_at.eq(Some(now))).execute(conn)?
                }
                Change::Unsilence => {
                    if target.silenced_at.is_none() {
                        return Err(not_allowed("This account is not silenced."));
                    }
                    q.set(accounts::silenced_at.eq(none)).execute(conn)?
                }
                Change::Disable => {
                    if !target.is_local() {
                        return Err(not_allowed("Only accounts on this server log in here."));
                    }
                    if target.disabled_at.is_some() {
                        return Err(not_allowed("This login is already disabled."));
                    }
                    diesel::delete(sessions::table.filter(sessions::account_id.eq(id)))
                        .execute(conn)?;
                    q.set(accounts::disabled_at.eq(Some(now))).execute(conn)?
                }
                Change::Enable => {
                    if target.disabled_at.is_none() {
                        return Err(not_allowed("This login is not disabled."));
                    }
                    q.set(accounts::disabled_at.eq(none)).execute(conn)?
                }
            };
            if n == 0 {
                return Err(AppError::not_found());
            }
            diesel::update(accounts::table.find(id))
                .set(accounts::updated_at.eq(now))
                .execute(conn)?;
            log_entry(
                conn,
                actor.as_ref().map(|a| a.id),
                change.log_name(),
                Some(id),
                None,
                None,
                &note,
            )?;
            find_account(conn, id)
        })
        .await?;
    tracing::info!(account = %updated.username, action = change.log_name(), "account changed by staff");
    Ok(updated)
}

/// Rejects a sign-up waiting for approval: the account is deleted (its name becomes free
/// again); the log keeps who it was in its note. Returns the account as it was.
pub async fn reject(svc: &Services, acting: Acting<'_>, id: i64) -> Result<Account, AppError> {
    acting.quick_check(false)?;
    let acting_id = acting.id();
    let gone = svc
        .db
        .write(move |conn| {
            let actor = recheck_acting(conn, acting_id, false)?;
            let target = target_for(conn, &actor, id)?;
            if target.approved || !target.is_local() {
                return Err(not_allowed("This account is not waiting for approval."));
            }
            diesel::delete(oauth_tokens::table.filter(oauth_tokens::account_id.eq(id)))
                .execute(conn)?;
            diesel::delete(accounts::table.find(id)).execute(conn)?;
            log_entry(
                conn,
                actor.as_ref().map(|a| a.id),
                REJECT_ACCOUNT,
                None,
                None,
                None,
                &format!("@{}", target.username),
            )?;
            Ok(target)
        })
        .await?;
    tracing::info!(account = %gone.username, "sign-up rejected");
    Ok(gone)
}
