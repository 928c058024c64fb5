//! Invitation links (issue #14, item 3): `/join?invite=CODE` lets people in while the
//! instance's `registrations` is `invite` (and skips the wait in `approval` mode). Staff
//! make them (web, CLI); users too when the instance setting `invites` is `users`. Each
//! has an optional use limit and expiry; a use is counted in the same transaction that
//! makes the account, so a one-use link admits one account however many try at once.

use chrono::{Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{Services, crypto, instance};
use crate::db::DbConn;
use crate::db::ids;
use crate::db::models::Account;
use crate::db::schema::invites;
use crate::error::{AppError, ErrorKind};

/// An invite's use limit is at most this.
pub const MAX_USES: i32 = 1000;
/// An invite lives at most this long (and may live forever when no expiry is given).
pub const MAX_DAYS: i64 = 365;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invites)]
pub struct Invite {
    pub id: i64,
    pub code: String,
    /// `None`: made on the command line.
    pub created_by: Option<i64>,
    pub max_uses: Option<i32>,
    pub uses: i32,
    pub expires_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

impl Invite {
    /// Why the invite no longer lets anyone in, if it does not.
    pub fn refusal(&self, now: NaiveDateTime) -> Option<&'static str> {
        if self.revoked_at.is_some() {
            Some("This invitation was withdrawn.")
        } else if self.expires_at.is_some_and(|e| e <= now) {
            Some("This invitation has expired.")
        } else if self.max_uses.is_some_and(|m| self.uses >= m) {
            Some("This invitation has been used up.")
        } else {
            None
        }
    }

    pub fn path(&self) -> String {
        format!("/join?invite={}", self.code)
    }

    pub fn uses_text(&self) -> String {
        match self.max_uses {
            Some(m) => format!("{} of {m}", self.uses),
            None => format!("{} (no limit)", self.uses),
        }
    }

    pub fn expiry_text(&self) -> String {
        match self.expires_at {
            None => "never expires".into(),
            Some(e) if e <= Utc::now().naive_utc() => "expired".into(),
            Some(e) => format!("expires {} UTC", e.format("%Y-%m-%d %H:%M")),
        }
    }

    pub fn usable(&self) -> bool {
        self.refusal(Utc::now().naive_utc()).is_none()
    }
}

/// Reads `30m`, `12h`, `7d` (minutes, hours, days; at most a year).
pub fn parse_expiry(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let bad = || format!("expiry {s:?}: give minutes, hours or days, such as 30m, 12h or 7d");
    let (n, unit) = s.split_at(s.len().saturating_sub(1));
    let n: i64 = n.parse().map_err(|_| bad())?;
    let d = match unit {
        "m" => Duration::minutes(n),
        "h" => Duration::hours(n),
        "d" => Duration::days(n),
        _ => return Err(bad()),
    };
    if n <= 0 || d > Duration::days(MAX_DAYS) {
        return Err(format!(
            "expiry {s:?}: between 1 minute and {MAX_DAYS} days"
        ));
    }
    Ok(d)
}

/// Who makes an invite.
#[derive(Debug, Clone, Copy)]
pub enum Maker<'a> {
    Account(&'a Account),
    CommandLine,
}

/// Whether `account` may make invites: staff always, users when the instance allows.
pub async fn may_invite(svc: &Services, account: &Account) -> Result<bool, AppError> {
    if account.is_admin || account.is_moderator {
        return Ok(true);
    }
    Ok(instance::info(svc).await?.user_invites)
}

/// Makes an invite link. `max_uses`: 1 to [`MAX_USES`] or unlimited; `expires_in`: up to
/// [`MAX_DAYS`] or never.
pub async fn create(
    svc: &Services,
    maker: Maker<'_>,
    max_uses: Option<i32>,
    expires_in: Option<Duration>,
) -> Result<Invite, AppError> {
    if let Some(m) = max_uses
        && !(1..=MAX_USES).contains(&m)
    {
        return Err(AppError::field(
            "max_uses",
            format!("An invitation is used 1 to {MAX_USES} times, or without a limit."),
        ));
    }
    let created_by = match maker {
        Maker::Account(a) => {
            if !may_invite(svc, a).await? {
                return Err(AppError::new(ErrorKind::Denied(
                    "Only staff may make invitations on this server.".into(),
                )));
            }
            Some(a.id)
        }
        Maker::CommandLine => None,
    };
    let now = Utc::now().naive_utc();
    let row = Invite {
        id: ids::new_id(),
        code: crypto::random_token(8),
        created_by,
        max_uses,
        uses: 0,
        expires_at: expires_in.map(|d| now + d),
        revoked_at: None,
        created_at: now,
    };
    svc.db
        .write(move |conn| {
            diesel::insert_into(invites::table)
                .values(&row)
                .execute(conn)?;
            Ok(row)
        })
        .await
}

/// The invites `account` made, newest first (the command line's with `None`).
pub async fn made_by(svc: &Services, account: Option<i64>) -> Result<Vec<Invite>, AppError> {
    svc.db
        .run(move |conn| {
            let q = invites::table.order(invites::id.desc()).into_boxed();
            let q = match account {
                Some(id) => q.filter(invites::created_by.eq(id)),
                None => q.filter(invites::created_by.is_null()),
            };
            Ok(q.limit(200).load::<Invite>(conn)?)
        })
        .await
}

/// An invite by code, when it still lets people in; else why not.
pub async fn check(svc: &Services, code: &str) -> Result<Invite, AppError> {
    let code = code.trim().to_owned();
    let invite = svc
        .db
        .run(move |conn| {
            Ok(invites::table
                .filter(invites::code.eq(code))
                .first::<Invite>(conn)
                .optional()?)
        })
        .await?;
    let invite = invite.ok_or_else(not_valid)?;
    match invite.refusal(Utc::now().naive_utc()) {
        Some(why) => Err(AppError::new(ErrorKind::Denied(why.into()))),
        None => Ok(invite),
    }
}

fn not_valid() -> AppError {
    AppError::new(ErrorKind::Denied(
        "This invitation link is not valid.".into(),
    ))
}

/// Counts one use of the invite `code`, refusing it (with why) when it is withdrawn,
/// expired or used up. Call inside the write transaction that makes the account.
pub(crate) fn claim(conn: &mut DbConn, code: &str) -> Result<i64, AppError> {
    let now = Utc::now().naive_utc();
    let invite = invites::table
        .filter(invites::code.eq(code.trim()))
        .first::<Invite>(conn)
        .optional()?
        .ok_or_else(not_valid)?;
    if let Some(why) = invite.refusal(now) {
        return Err(AppError::new(ErrorKind::Denied(why.into())));
    }
    // The limit is checked again by the update itself (another sign-up may have taken the
    // last use since the read above).
    let n = diesel::update(
        invites::table.find(invite.id).filter(
            invites::max_uses
                .is_null()
                .or(invites::uses.lt(invites::max_uses.assume_not_null())),
        ),
    )
    .set(invites::uses.eq(invites::uses + 1))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::new(ErrorKind::Denied(
            "This invitation has been used up.".into(),
        )));
    }
    Ok(invite.id)
}

/// Withdraws an invite: its maker or an admin.
pub async fn revoke(svc: &Services, account: &Account, id: i64) -> Result<(), AppError> {
    let (acting, is_admin) = (account.id, account.is_admin);
    svc.db
        .write(move |conn| {
            let invite = invites::table
                .find(id)
                .first::<Invite>(conn)
                .optional()?
                .ok_or_else(AppError::not_found)?;
            if invite.created_by != Some(acting) && !is_admin {
                return Err(AppError::forbidden());
            }
            diesel::update(invites::table.find(id))
                .set(invites::revoked_at.eq(Some(Utc::now().naive_utc())))
                .execute(conn)?;
            Ok(())
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_minutes_hours_or_days() {
        assert_eq!(parse_expiry("30m").unwrap(), Duration::minutes(30));
        assert_eq!(parse_expiry("12h").unwrap(), Duration::hours(12));
        assert_eq!(parse_expiry("7d").unwrap(), Duration::days(7));
        for bad in ["", "7", "d", "7x", "0d", "-1d", "366d", "1.5d"] {
            assert!(parse_expiry(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn an_invite_says_why_it_no_longer_works() {
        let now = Utc::now().naive_utc();
        let mut i = Invite {
            id: 1,
            code: "c".into(),
            created_by: None,
            max_uses: Some(2),
            uses: 1,
            expires_at: Some(now + Duration::hours(1)),
            revoked_at: None,
            created_at: now,
        };
        assert_eq!(i.refusal(now), None);
        i.uses = 2;
        assert_eq!(i.refusal(now), Some("This invitation has been used up."));
        i.uses = 0;
        i.expires_at = Some(now - Duration::seconds(1));
        assert_eq!(i.refusal(now), Some("This invitation has expired."));
        i.revoked_at = Some(now);
        assert_eq!(i.refusal(now), Some("This invitation was withdrawn."));
    }
}
