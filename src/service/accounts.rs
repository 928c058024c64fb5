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

/// Creates a local account with an Argon2id password hash and a fresh RSA key pair.
pub async fn register(svc: &Services, reg: Registration) -> Result<Account, AppError> {
    let mut errors = Vec::new();
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
            Ok(accounts::table.find(id).first::<Account>(conn)?)
        })
        .await
}

fn taken() -> AppError {
    AppError::field("username", "That username is taken.")
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

/// Checks a username and password; `None` when either is wrong or the account is suspended.
pub async fn authenticate(
    svc: &Services,
    name: &str,
    password: &str,
) -> Result<Option<Account>, AppError> {
    let account = find_local(svc, name).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.clone());
    let ok = crypto::verify_password(&svc.passwords, password.to_owned(), hash).await?;
    Ok(account.filter(|a| ok && a.suspended_at.is_none()))
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
