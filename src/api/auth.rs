//! Bearer tokens on API requests, and the scope checks handlers ask for.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use crate::db::models::Account;
use crate::error::{AppError, ErrorKind};
use crate::service::Services;
use crate::service::oauth::{self, TokenGrant};

/// The token of an API request, if it carried one. A token that is present but invalid
/// (unknown, revoked, its account suspended) is refused with 401 on every endpoint.
#[derive(Debug, Clone)]
pub struct Auth {
    pub grant: Option<TokenGrant>,
}

fn invalid_token() -> AppError {
    AppError::new(ErrorKind::InvalidToken(
        "The access token is invalid".into(),
    ))
}

impl Auth {
    /// The account a token speaks for, if it grants `scope`: 401 without a user token,
    /// 403 when the scope is missing.
    pub fn user(&self, scope: &str) -> Result<&Account, AppError> {
        let grant = self.grant.as_ref().ok_or_else(|| {
            AppError::new(ErrorKind::InvalidToken(
                "The access token is invalid".into(),
            ))
        })?;
        let account = grant.account.as_ref().ok_or_else(|| {
            AppError::new(ErrorKind::Denied(
                "This method requires an authenticated user".into(),
            ))
        })?;
        if !grant.scopes.allows(scope) {
            return Err(AppError::new(ErrorKind::Denied(
                "This action is outside the authorized scopes".into(),
            )));
        }
        // Mastodon's `require_user!`: a sign-up waiting for approval, or a login an admin
        // disabled, holds a valid token but may not act.
        if !account.approved {
            return Err(AppError::new(ErrorKind::Denied(
                "Your login is currently pending approval".into(),
            )));
        }
        if account.disabled_at.is_some() {
            return Err(AppError::new(ErrorKind::Denied(
                "Your login is currently disabled".into(),
            )));
        }
        Ok(account)
    }

    /// A staff account (admin or moderator) whose token grants `scope` (an `admin:…`
    /// scope): 403 "This action is not allowed" for everyone else, as Mastodon answers.
    pub fn staff(&self, scope: &str) -> Result<&Account, AppError> {
        let account = self.user(scope)?;
        if !(account.is_admin || account.is_moderator) {
            return Err(AppError::new(ErrorKind::Denied(
                "This action is not allowed".into(),
            )));
        }
        Ok(account)
    }

    /// For public endpoints: the viewing account, if any (no scope needed to read public
    /// data). A pending or disabled account views as nobody.
    pub fn viewer(&self) -> Option<&Account> {
        self.grant
            .as_ref()
            .and_then(|g| g.account.as_ref())
            .filter(|a| a.approved && a.disabled_at.is_none())
    }

    /// An app or user token with `scope` (client_credentials tokens count).
    pub fn app(&self, scope: &str) -> Result<&TokenGrant, AppError> {
        let grant = self.grant.as_ref().ok_or_else(invalid_token)?;
        if !grant.scopes.allows(scope) {
            return Err(AppError::new(ErrorKind::Denied(
                "This action is outside the authorized scopes".into(),
            )));
        }
        Ok(grant)
    }
}

impl FromRequestParts<Services> for Auth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, svc: &Services) -> Result<Auth, AppError> {
        if let Some(auth) = parts.extensions.get::<Auth>() {
            return Ok(auth.clone());
        }
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Auth { grant: None });
        };
        let value = value.to_str().map_err(|_| invalid_token())?;
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(invalid_token)?;
        let grant = oauth::lookup_token(svc, token)
            .await?
            .ok_or_else(invalid_token)?;
        let auth = Auth { grant: Some(grant) };
        parts.extensions.insert(auth.clone());
        Ok(auth)
    }
}
