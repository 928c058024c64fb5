//! Wire types of Mastodon's admin API (`Admin::Account`, `Role`), apart from the rows and
//! service views they are made from.

use serde::Serialize;

use super::entities::{Account, datetime};
use crate::service::account_admin::{AdminAccount as AdminView, Role as RoleKind};

/// Mastodon's `Role` entity. Ids and permission bits follow a fresh Mastodon's
/// Moderator and Admin roles; everyone else holds the base role (-99).
#[derive(Debug, Clone, Serialize)]
pub struct Role {
    pub id: String,
    pub name: &'static str,
    pub color: &'static str,
    pub permissions: String,
    pub highlighted: bool,
}

impl From<RoleKind> for Role {
    fn from(r: RoleKind) -> Role {
        // Mastodon's permission bits: administrator (1 << 0) grants all; the moderator
        // role has view_audit_log, view_dashboard, manage_reports, manage_taxonomies and
        // manage_users; everyone may invite_users.
        let (name, permissions, highlighted) = match r {
            RoleKind::Admin => ("Admin", 1, true),
            RoleKind::Moderator => (
                "Moderator",
                (1 << 2) | (1 << 3) | (1 << 4) | (1 << 8) | (1 << 10),
                true,
            ),
            RoleKind::User => ("", 1 << 16, false),
        };
        Role {
            id: r.api_id().to_string(),
            name,
            color: "",
            permissions: permissions.to_string(),
            highlighted,
        }
    }
}

/// Mastodon's `Admin::Account`.
#[derive(Debug, Clone, Serialize)]
pub struct AdminAccount {
    pub id: String,
    pub username: String,
    pub domain: Option<String>,
    pub created_at: String,
    pub email: Option<String>,
    /// Tidings records no addresses of its users.
    pub ip: Option<String>,
    pub ips: Vec<serde_json::Value>,
    pub locale: Option<String>,
    /// The reason given when signing up.
    pub invite_request: Option<String>,
    pub role: Role,
    pub confirmed: bool,
    pub approved: bool,
    pub disabled: bool,
    pub sensitized: bool,
    pub silenced: bool,
    pub suspended: bool,
    pub account: Account,
    pub created_by_application_id: Option<String>,
    pub invited_by_account_id: Option<String>,
}

impl AdminAccount {
    pub fn from_view(a: &AdminView, base: &str) -> AdminAccount {
        let local = a.row.is_local();
        AdminAccount {
            id: a.row.id.to_string(),
            username: a.row.username.clone(),
            domain: a.row.domain.clone(),
            created_at: datetime(&a.row.created_at),
            email: a.row.email.clone(),
            ip: None,
            ips: Vec::new(),
            locale: a.row.locale.clone(),
            invite_request: a.row.signup_reason.clone(),
            role: a.role().into(),
            // Remote accounts have no login here: neither confirmed nor approved, as
            // Mastodon shows them.
            confirmed: local,
            approved: local && a.row.approved,
            disabled: a.disabled(),
            sensitized: false,
            silenced: a.silenced(),
            suspended: a.suspended(),
            account: Account::from_view(&a.view, base),
            created_by_application_id: None,
            invited_by_account_id: None,
        }
    }
}
