//! What the admin says about the instance (issue #14, item 2): its name, descriptions,
//! contact, rules and whether people may sign up. Stored as rows of `instance_settings`
//! beside the identity (see `identity`), read through a short-lived copy in memory so pages
//! pay nothing for the name in their header; a change made here shows at once, a change
//! made by another process (the CLI) within [`REFRESH`].

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::Utc;
use diesel::prelude::*;

use super::Services;
use crate::db::DbConn;
use crate::db::schema::instance_settings;
use crate::error::{AppError, FieldError};

/// How long the copy in memory is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(5);
pub const MAX_NAME: usize = 60;
pub const MAX_SHORT_DESCRIPTION: usize = 300;
pub const MAX_DESCRIPTION: usize = 5_000;
pub const MAX_CONTACT: usize = 200;
pub const MAX_RULES: usize = 30;
pub const MAX_RULE: usize = 400;

/// Who may sign up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registrations {
    /// Anyone; the account is usable at once.
    Open,
    /// Anyone may ask, giving a reason; an admin or moderator approves or rejects.
    Approval,
    /// Only with an invitation link.
    Invite,
    Closed,
}

impl Registrations {
    pub fn parse(s: &str) -> Result<Registrations, String> {
        match s.trim() {
            "open" => Ok(Registrations::Open),
            "approval" => Ok(Registrations::Approval),
            "invite" => Ok(Registrations::Invite),
            "closed" => Ok(Registrations::Closed),
            other => Err(format!(
                "registrations {other:?}: use open, approval, invite or closed"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Registrations::Open => "open",
            Registrations::Approval => "approval",
            Registrations::Invite => "invite",
            Registrations::Closed => "closed",
        }
    }

    /// Anyone may sign up (at once or after approval), as `openRegistrations` and
    /// Mastodon's `registrations` say.
    pub fn is_open(self) -> bool {
        matches!(self, Registrations::Open | Registrations::Approval)
    }

    /// New accounts wait for approval.
    pub fn needs_approval(self) -> bool {
        self == Registrations::Approval
    }
}

/// The instance as the admin describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceInfo {
    pub name: String,
    pub short_description: String,
    pub description: String,
    /// An e-mail address or a local `@account`.
    pub contact: String,
    pub rules: Vec<String>,
    pub registrations: Registrations,
    /// `open`, or `allowlist`: federate only with the servers listed (see `domain_blocks`).
    pub federation: super::domain_blocks::Federation,
    /// Who sees the list of blocked servers.
    pub show_domain_blocks: super::domain_blocks::Shown,
    /// Users (not only staff) may make invitation links (`invites` = `users`).
    pub user_invites: bool,
}

impl Default for InstanceInfo {
    fn default() -> InstanceInfo {
        InstanceInfo {
            name: "Tidings".into(),
            short_description: "A community news site on the fediverse, running Tidings.".into(),
            description: String::new(),
            contact: String::new(),
            rules: Vec::new(),
            registrations: Registrations::Open,
            federation: Default::default(),
            show_domain_blocks: Default::default(),
            user_invites: false,
        }
    }
}

impl InstanceInfo {
    /// The long description, or the short one when there is none.
    pub fn about(&self) -> &str {
        if self.description.trim().is_empty() {
            &self.short_description
        } else {
            &self.description
        }
    }

    /// The contact when it is an e-mail address.
    pub fn contact_email(&self) -> Option<&str> {
        let c = self.contact.trim();
        (!c.starts_with('@') && c.contains('@')).then_some(c)
    }

    /// The local account name when the contact is `@name`.
    pub fn contact_account(&self) -> Option<&str> {
        let c = self.contact.trim();
        c.strip_prefix('@')
            .filter(|n| !n.contains('@') && !n.is_empty())
    }

    /// `key: value`, a line each; rules as `rules.N: text`.
    pub fn lines(&self) -> Vec<String> {
        let mut out = vec![
            format!("name: {}", self.name),
            format!("short_description: {}", one_line(&self.short_description)),
            format!("description: {}", one_line(&self.description)),
            format!("contact: {}", self.contact),
            format!("registrations: {}", self.registrations.as_str()),
            format!("federation: {}", self.federation.as_str()),
            format!("show_domain_blocks: {}", self.show_domain_blocks.as_str()),
            format!(
                "invites: {}",
                if self.user_invites { "users" } else { "staff" }
            ),
        ];
        out.extend(
            self.rules
                .iter()
                .enumerate()
                .map(|(i, r)| format!("rules.{}: {r}", i + 1)),
        );
        out
    }
}

fn one_line(s: &str) -> String {
    s.replace('\r', "").replace('\n', "\\n")
}

/// The keys an admin may set.
pub const KEYS: [&str; 9] = [
    "name",
    "short_description",
    "description",
    "contact",
    "rules",
    "registrations",
    "federation",
    "show_domain_blocks",
    "invites",
];

/// A checked change: the rows to write.
#[derive(Debug, Clone, Default)]
pub struct Changes(Vec<(&'static str, String)>);

impl Changes {
    /// Checks one `KEY VALUE` pair (the CLI's `instance set`). Rules are a line each.
    pub fn one(key: &str, value: &str) -> Result<Changes, AppError> {
        let Some(key) = KEYS.iter().copied().find(|k| *k == key) else {
            return Err(AppError::bad_request(format!(
                "unknown setting {key:?}: the settings are {}",
                KEYS.join(", ")
            )));
        };
        let mut c = Changes::default();
        c.check(key, value)
            .map_err(|e| AppError::bad_request(format!("{key}: {}", e.message)))?;
        Ok(c)
    }

    /// Checks every setting of the admin form at once; errors are per field.
    pub fn all(fields: &[(&'static str, &str)]) -> Result<Changes, AppError> {
        let mut c = Changes::default();
        let errors: Vec<FieldError> = fields
            .iter()
            .filter_map(|(k, v)| c.check(k, v).err())
            .collect();
        if errors.is_empty() {
            Ok(c)
        } else {
            Err(AppError::validation(errors))
        }
    }

    fn check(&mut self, key: &'static str, value: &str) -> Result<(), FieldError> {
        let fail = |message: String| FieldError {
            field: key,
            message,
        };
        let value = value.replace("\r\n", "\n");
        let len = |s: &str| s.chars().count();
        let stored = match key {
            "name" => {
                let v = value.trim();
                if v.is_empty() || len(v) > MAX_NAME || v.contains('\n') {
                    return Err(fail(format!(
                        "Give a name of 1 to {MAX_NAME} characters on one line."
                    )));
                }
                v.to_owned()
            }
            "short_description" | "description" | "contact" => {
                let max = match key {
                    "short_description" => MAX_SHORT_DESCRIPTION,
                    "description" => MAX_DESCRIPTION,
                    _ => MAX_CONTACT,
                };
                let v = value.trim();
                if len(v) > max {
                    return Err(fail(format!("At most {max} characters.")));
                }
                if key == "contact" && v.contains(char::is_whitespace) {
                    return Err(fail("Give one e-mail address or @account.".into()));
                }
                v.to_owned()
            }
            "rules" => {
                let rules: Vec<&str> = value
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .collect();
                if rules.len() > MAX_RULES {
                    return Err(fail(format!("At most {MAX_RULES} rules.")));
                }
                if rules.iter().any(|r| len(r) > MAX_RULE) {
                    return Err(fail(format!("A rule has at most {MAX_RULE} characters.")));
                }
                rules.join("\n")
            }
            "registrations" => Registrations::parse(&value)
                .map_err(fail)?
                .as_str()
                .to_owned(),
            "federation" => super::domain_blocks::Federation::parse(&value)
                .map_err(fail)?
                .as_str()
                .to_owned(),
            "show_domain_blocks" => super::domain_blocks::Shown::parse(&value)
                .map_err(fail)?
                .as_str()
                .to_owned(),
            "invites" => match value.trim() {
                v @ ("staff" | "users") => v.to_owned(),
                other => {
                    return Err(fail(format!(
                        "invites {other:?}: who may make invitation links, staff or users"
                    )));
                }
            },
            _ => return Err(fail("Unknown setting.".into())),
        };
        self.0.push((key, stored));
        Ok(())
    }
}

/// The copy in memory.
#[derive(Default)]
pub struct InstanceCache(RwLock<Option<(Instant, Arc<InstanceInfo>)>>);

/// The instance's description (from memory when fresh).
pub async fn info(svc: &Services) -> Result<Arc<InstanceInfo>, AppError> {
    if let Some((at, info)) = svc.instance.0.read().expect("not poisoned").as_ref()
        && at.elapsed() < REFRESH
    {
        return Ok(info.clone());
    }
    let info = Arc::new(svc.db.run(load).await?);
    *svc.instance.0.write().expect("not poisoned") = Some((Instant::now(), info.clone()));
    Ok(info)
}

/// Writes checked changes in one transaction; the new values show at once here.
pub async fn apply(svc: &Services, changes: Changes) -> Result<Arc<InstanceInfo>, AppError> {
    svc.db
        .write(move |conn| {
            for (key, value) in &changes.0 {
                put(conn, key, value)?;
            }
            Ok(())
        })
        .await?;
    *svc.instance.0.write().expect("not poisoned") = None;
    svc.domains.invalidate();
    info(svc).await
}

/// Sets one row of `instance_settings` (updated, or inserted when new). Call inside a
/// write transaction.
pub(crate) fn put(conn: &mut DbConn, key: &str, value: &str) -> QueryResult<()> {
    let now = Utc::now().naive_utc();
    let updated = diesel::update(instance_settings::table.find(key))
        .set((
            instance_settings::value.eq(value),
            instance_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(instance_settings::table)
            .values((
                instance_settings::key.eq(key),
                instance_settings::value.eq(value),
                instance_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

fn load(conn: &mut DbConn) -> Result<InstanceInfo, AppError> {
    let rows: Vec<(String, String)> = instance_settings::table
        .filter(instance_settings::key.eq_any(KEYS))
        .select((instance_settings::key, instance_settings::value))
        .load(conn)?;
    let mut info = InstanceInfo::default();
    for (key, value) in rows {
        match key.as_str() {
            "name" => info.name = value,
            "short_description" => info.short_description = value,
            "description" => info.description = value,
            "contact" => info.contact = value,
            "rules" => info.rules = value.lines().map(str::to_owned).collect(),
            "registrations" => {
                // A value this version does not know closes sign-ups rather than opening them.
                info.registrations = Registrations::parse(&value).unwrap_or(Registrations::Closed)
            }
            "federation" => {
                // As in `domain_blocks`: a value this version does not know is the closed one.
                info.federation = super::domain_blocks::Federation::parse(&value)
                    .unwrap_or(super::domain_blocks::Federation::Allowlist)
            }
            "show_domain_blocks" => {
                info.show_domain_blocks =
                    super::domain_blocks::Shown::parse(&value).unwrap_or_default()
            }
            "invites" => info.user_invites = value == "users",
            _ => {}
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_values_are_refused_with_the_choices() {
        let e = Changes::one("title", "x").unwrap_err().public_message();
        assert!(
            e.contains("unknown setting \"title\"") && e.contains("registrations"),
            "{e}"
        );
        let e = Changes::one("registrations", "sometimes")
            .unwrap_err()
            .public_message();
        assert!(e.contains("use open, approval, invite or closed"), "{e}");
        assert!(Changes::one("name", "").is_err());
        assert!(Changes::one("name", &"x".repeat(MAX_NAME + 1)).is_err());
        assert!(Changes::one("contact", "two words").is_err());
    }

    #[test]
    fn rules_are_lines_without_blanks() {
        let c = Changes::one("rules", "Be kind\r\n\n  No spam  \n").unwrap();
        assert_eq!(c.0, vec![("rules", "Be kind\nNo spam".to_owned())]);
        let many = (0..=MAX_RULES)
            .map(|i| format!("rule {i}\n"))
            .collect::<String>();
        assert!(Changes::one("rules", &many).is_err());
    }

    #[test]
    fn contact_is_an_address_or_an_account() {
        let info = InstanceInfo {
            contact: "admin@news.example".into(),
            ..InstanceInfo::default()
        };
        assert_eq!(info.contact_email(), Some("admin@news.example"));
        assert_eq!(info.contact_account(), None);
        let info = InstanceInfo {
            contact: "@newsMNC".into(),
            ..InstanceInfo::default()
        };
        assert_eq!(info.contact_email(), None);
        assert_eq!(info.contact_account(), Some("newsMNC"));
    }
}
