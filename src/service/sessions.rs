//! Web sessions: a random token in an HttpOnly cookie, stored only as its SHA-256.

use chrono::{Duration, Utc};
use diesel::prelude::*;

use super::{Services, crypto};
use crate::db::models::{Account, Session};
use crate::db::schema::{accounts, sessions};
use crate::error::AppError;

pub const SESSION_DAYS: i64 = 30;

/// Starts a session for an account and returns the cookie value.
pub async fn create(svc: &Services, account_id: i64) -> Result<String, AppError> {
    let token = crypto::random_token(32);
    let row = Session {
        token_hash: crypto::sha256_hex(&token),
        account_id,
        created_at: Utc::now().naive_utc(),
        expires_at: (Utc::now() + Duration::days(SESSION_DAYS)).naive_utc(),
    };
    svc.db
        .write(move |conn| {
            diesel::insert_into(sessions::table)
                .values(&row)
                .execute(conn)?;
            Ok(())
        })
        .await?;
    Ok(token)
}

/// The account behind a session cookie, if the session is live and the account not
/// suspended, pending approval or disabled.
pub async fn lookup(svc: &Services, token: &str) -> Result<Option<Account>, AppError> {
    let hash = crypto::sha256_hex(token);
    svc.db
        .run(move |conn| {
            Ok(sessions::table
                .inner_join(accounts::table)
                .filter(sessions::token_hash.eq(hash))
                .filter(sessions::expires_at.gt(Utc::now().naive_utc()))
                .filter(accounts::suspended_at.is_null())
                .filter(accounts::approved.eq(true))
                .filter(accounts::disabled_at.is_null())
                .select(Account::as_select())
                .first::<Account>(conn)
                .optional()?)
        })
        .await
}

/// Ends a session (logout).
pub async fn destroy(svc: &Services, token: &str) -> Result<(), AppError> {
    let hash = crypto::sha256_hex(token);
    svc.db
        .write(move |conn| {
            diesel::delete(sessions::table.find(hash)).execute(conn)?;
            Ok(())
        })
        .await
}
