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
        Ok(account)
    }

    /// For public endpoints: the viewing account, if any (no scope needed to read public data).
    pub fn viewer(&self) -> Option<&Account> {
        self.grant.as_ref().and_then(|g| g.account.as_ref())
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
