//! Signing up as the instance's `registrations` setting allows (issue #14, item 3): open
//! (usable at once), approval (a reason is given and the account waits for staff, unless
//! invited), invite (only with an invitation link), closed (refused). The web page `/join` and the API's `POST /api/v1/accounts` both come here.

use super::Services;
use super::accounts::{self, Registration, SignupDetails};
use super::instance::{self, Registrations};
use crate::db::models::Account;
use crate::error::{AppError, ErrorKind};

/// What a person gives when signing up.
#[derive(Debug, Clone, Default)]
pub struct SignUp {
    pub username: String,
    pub password: String,
    pub email: Option<String>,
    pub locale: Option<String>,
    /// Why they want to join (needed when sign-ups wait for approval).
    pub reason: Option<String>,
    /// An invitation code (needed in `invite` mode; skips the wait in `approval` mode).
    pub invite: Option<String>,
}

pub const CLOSED: &str = "Sign-ups are closed on this server.";
pub const INVITE_ONLY: &str = "Sign-ups on this server need an invitation link.";

/// Creates the account, waiting for approval when the instance asks for it.
pub async fn sign_up(svc: &Services, s: SignUp) -> Result<Account, AppError> {
    let info = instance::info(svc).await?;
    let invited = s.invite.as_deref().is_some_and(|c| !c.trim().is_empty());
    let pending = match info.registrations {
        Registrations::Closed => return Err(AppError::new(ErrorKind::Denied(CLOSED.into()))),
        Registrations::Invite if !invited => {
            return Err(AppError::new(ErrorKind::Denied(INVITE_ONLY.into())));
        }
        Registrations::Open | Registrations::Invite => false,
        // An invitation skips the wait.
        Registrations::Approval if invited => false,
        Registrations::Approval => {
            if s.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                return Err(AppError::field(
                    "reason",
                    "Sign-ups on this server are approved by its moderators: tell them why \
                     you want to join.",
                ));
            }
            true
        }
    };
    let account = accounts::register_with(
        svc,
        Registration {
            username: s.username,
            password: s.password,
            is_admin: false,
        },
        SignupDetails {
            email: s.email,
            locale: s.locale,
            reason: s.reason,
            pending,
            invite: s.invite,
        },
    )
    .await?;
    tracing::info!(username = %account.username, pending, invited, "account signed up");
    Ok(account)
}
