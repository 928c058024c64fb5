//! Local accounts: registration, login, profiles.

use chrono::Utc;
use diesel::prelude::*;

use super::{Services, crypto};
use crate::db::models::{Account, NewAccount};
use crate::db::schema::accounts;
use crate::db::{ids, is_unique_violation};
use crate::domain::story::{MAX_BIO, MAX_DISPLAY_NAME};
use crate::domain::username::{Username, check_password};
use crate::error::{AppError, FieldError};

pub struct Registration {
    pub username: String,
    pub password: String,
    pub is_admin: bool,
}

/// What a sign-up adds to a [`Registration`]: contact, language, and whether the account
/// must wait for approval (with the reason it gave).
#[derive(Debug, Clone, Default)]
pub struct SignupDetails {
    pub email: Option<String>,
    pub locale: Option<String>,
    pub reason: Option<String>,
    /// The account waits for an admin's approval.
    pub pending: bool,
    /// An invitation code, whose use is counted with the account (refused when it no
    /// longer lets anyone in).
    pub invite: Option<String>,
}

/// A reason for joining has at most this many characters.
pub const MAX_REASON: usize = 1000;

/// Creates a local account with an Argon2id password hash and a fresh RSA key pair.
pub async fn register(svc: &Services, reg: Registration) -> Result<Account, AppError> {
    register_with(svc, reg, SignupDetails::default()).await
}

/// A plausible e-mail address, lowercased: one `@`, something on each side, a dot in the
/// domain, no spaces.
pub fn check_email(raw: &str) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    let ok = e.len() <= 254
        && !e.contains(char::is_whitespace)
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if ok {
        Ok(e)
    } else {
        Err("Give an e-mail address like name@example.com.".into())
    }
}

/// [`register`] with the details of a sign-up (checked here: e-mail, reason).
pub async fn register_with(
    svc: &Services,
    reg: Registration,
    details: SignupDetails,
) -> Result<Account, AppError> {
    let mut errors = Vec::new();
    let email = match details.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(raw) => match check_email(raw) {
            Ok(e) => Some(e),
            Err(message) => {
                errors.push(FieldError {
                    field: "email",
                    message,
                });
                None
            }
        },
    };
    let reason = details
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(str::to_owned);
    if reason
        .as_ref()
        .is_some_and(|r| r.chars().count() > MAX_REASON)
    {
        errors.push(FieldError {
            field: "reason",
            message: format!("A reason has at most {MAX_REASON} characters."),
        });
    }
    let locale = details
        .locale
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty() && l.len() <= 16)
        .map(str::to_owned);
    let pending = details.pending;
    let invite = details
        .invite
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    let username = match Username::parse(&reg.username) {
        Ok(u) => Some(u),
        Err(message) => {
            errors.push(FieldError {
                field: "username",
                message,
            });
            None
        }
    };
    if let Err(message) = check_password(&reg.password) {
        errors.push(FieldError {
            field: "password",
            message,
        });
    }
    let Some(username) = username.filter(|_| errors.is_empty()) else {
        return Err(AppError::validation(errors));
    };
    if find_local(svc, username.as_str()).await?.is_some() {
        return Err(taken());
    }
    if let Some(e) = &email
        && email_taken(svc, e).await?
    {
        return Err(email_in_use());
    }
    let hash = crypto::hash_password(&svc.passwords, reg.password).await?;
    let (public_pem, private_pem) = crypto::generate_keypair().await?;
    let id = ids::new_id();
    let ap_id = svc.actor_id(username.as_str());
    let url = format!("{}/@{}", svc.base_url(), username);
    let inbox = format!("{ap_id}/inbox");
    let shared_inbox = format!("{}/inbox", svc.base_url());
    let followers = format!("{ap_id}/followers");
    svc.db
        .write(move |conn| {
            let now = Utc::now().naive_utc();
            let lower = username.lower();
            let row = NewAccount {
                id,
                username: username.as_str(),
                username_lower: &lower,
                domain: None,
                display_name: "",
                bio: "",
                ap_id: &ap_id,
                url: Some(&url),
                inbox_url: Some(&inbox),
                shared_inbox_url: Some(&shared_inbox),
                followers_url: Some(&followers),
                public_key_pem: &public_pem,
                private_key_pem: Some(&private_pem),
                password_hash: Some(&hash),
                is_admin: reg.is_admin,
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(accounts::table)
                .values(&row)
                .execute(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        taken()
                    } else {
                        AppError::internal(e)
                    }
                })?;
            let invite_id = invite
                .as_deref()
                .map(|code| super::invites::claim(conn, code))
                .transpose()?;
            diesel::update(accounts::table.find(id))
                .set((
                    accounts::invite_id.eq(invite_id),
                    accounts::approved.eq(!pending),
                    accounts::signup_reason.eq(reason),
                    accounts::email.eq(&email),
                    accounts::locale.eq(locale),
                ))
                .execute(conn)
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        email_in_use()
                    } else {
                        AppError::internal(e)
                    }
                })?;
            Ok(accounts::table.find(id).first::<Account>(conn)?)
        })
        .await
}

fn taken() -> AppError {
    AppError::field("username", "That username is taken.")
}

fn email_in_use() -> AppError {
    AppError::field("email", "That e-mail address is already in use.")
}

async fn email_taken(svc: &Services, email: &str) -> Result<bool, AppError> {
    let email = email.to_owned();
    svc.db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::email.eq(email))
                .count()
                .get_result::<i64>(conn)?
                > 0)
        })
        .await
}

/// A local account by name, matched case-insensitively.
pub async fn find_local(svc: &Services, name: &str) -> Result<Option<Account>, AppError> {
    let lower = name.trim_start_matches('@').to_ascii_lowercase();
    svc.db
        .run(move |conn| {
            Ok(accounts::table
                .filter(accounts::username_lower.eq(lower))
                .filter(accounts::domain.is_null())
                .first::<Account>(conn)
                .optional()?)
        })
        .await
}

/// Why a login is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginRefusal {
    /// Unknown name, wrong password, or a suspended account (not told apart).
    Wrong,
    /// The right password, but the sign-up still waits for approval.
    Pending,
    /// The right password, but an admin disabled the login.
    Disabled,
}

impl LoginRefusal {
    pub fn message(self) -> &'static str {
        match self {
            LoginRefusal::Wrong => "Wrong username or password.",
            LoginRefusal::Pending => {
                "Your account is waiting for approval by the moderators of this server. \
                 You can log in once it is approved."
            }
            LoginRefusal::Disabled => "The login of this account has been disabled by an admin.",
        }
    }
}

/// Whether an account may use the site: approved and its login not disabled (suspension
/// is checked apart, as a suspended account is treated as unknown).
pub fn refusal(account: &Account) -> Option<LoginRefusal> {
    if !account.approved {
        Some(LoginRefusal::Pending)
    } else if account.disabled_at.is_some() {
        Some(LoginRefusal::Disabled)
    } else {
        None
    }
}

/// Checks a username and password: the account, or why not. A suspended account is
/// refused as if the password were wrong; a pending or disabled one (password right) says so.
pub async fn authenticate(
    svc: &Services,
    name: &str,
    password: &str,
) -> Result<Result<Account, LoginRefusal>, AppError> {
    let account = find_local(svc, name).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok = crypto::verify_password(&svc.passwords, password.to_owned(), hash).await?;
    let Some(account) = account.filter(|a| ok && a.suspended_at.is_none()) else {
        return Ok(Err(LoginRefusal::Wrong));
    };
    Ok(match refusal(&account) {
        Some(r) => Err(r),
        None => Ok(account),
    })
}

/// Changes the display name and bio of an account, and tells its followers' servers.
pub async fn update_profile(
    svc: &Services,
    account_id: i64,
    display_name: &str,
    bio: &str,
) -> Result<(), AppError> {
    let display_name = display_name.trim().to_owned();
    let bio = bio.trim().to_owned();
    let mut errors = Vec::new();
    if display_name.chars().count() > MAX_DISPLAY_NAME {
        errors.push(FieldError {
            field: "display_name",
            message: format!("A display name has at most {MAX_DISPLAY_NAME} characters."),
        });
    }
    if bio.chars().count() > MAX_BIO {
        errors.push(FieldError {
            field: "bio",
            message: format!("A bio has at most {MAX_BIO} characters."),
        });
    }
    if !errors.is_empty() {
        return Err(AppError::validation(errors));
    }
    let urls = crate::federation::urls(svc);
    svc.db
        .write(move |conn| {
            diesel::update(accounts::table.find(account_id))
                .set((
                    accounts::display_name.eq(display_name),
                    accounts::bio.eq(bio),
                    accounts::updated_at.eq(Utc::now().naive_utc()),
                ))
                .execute(conn)?;
            // Followers' servers show the new name and bio.
            crate::federation::outbox::profile_updated(conn, &urls, account_id)
        })
        .await
}

/// Number of local accounts.
pub async fn count_local(svc: &Services) -> Result<i64, AppError> {
    svc.db
        .run(|conn| {
            Ok(accounts::table
                .filter(accounts::domain.is_null())
                .count()
                .get_result(conn)?)
        })
        .await
}
