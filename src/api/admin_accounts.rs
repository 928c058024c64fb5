//! Mastodon's admin API for accounts: `/api/v1/admin/accounts` (list with v1 filters, one,
//! approve, reject, action, enable, unsilence, unsuspend) and `/api/v2/admin/accounts`
//! (list with v2 filters). Staff tokens with `admin:read:accounts` / `admin:write:accounts`.

use axum::extract::{OriginalUri, Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::admin_entities::AdminAccount;
use super::params::{HtmlQuery, flag, opt_id, page_url, path_id};
use super::{ApiForm, Auth, paged};
use crate::error::AppError;
use crate::service::Services;
use crate::service::account_admin::{self, AccountFilter, Acting, Change, Origin, Role, Status};
use crate::service::moderation;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/admin/accounts", get(list_v1))
        .route("/api/v2/admin/accounts", get(list_v2))
        .route("/api/v1/admin/accounts/{id}", get(show))
        .route("/api/v1/admin/accounts/{id}/approve", post(approve))
        .route("/api/v1/admin/accounts/{id}/reject", post(reject))
        .route("/api/v1/admin/accounts/{id}/action", post(action))
        .route("/api/v1/admin/accounts/{id}/enable", post(enable))
        .route("/api/v1/admin/accounts/{id}/unsilence", post(unsilence))
        .route("/api/v1/admin/accounts/{id}/unsuspend", post(unsuspend))
}

fn unknown(key: &str, known: &[&str]) -> AppError {
    AppError::field(
        "params",
        format!(
            "unknown parameter {key:?}: the parameters are {}",
            known.join(", ")
        ),
    )
}

fn bad_value(key: &str, value: &str, expected: &str) -> AppError {
    AppError::field("params", format!("{key}={value:?}: expected {expected}"))
}

fn is_true(v: &str) -> bool {
    matches!(v.trim(), "true" | "1" | "on" | "yes" | "True")
}

fn id_value(key: &str, v: &str) -> Result<Option<i64>, AppError> {
    if v.trim().is_empty() {
        return Ok(None);
    }
    v.trim()
        .parse()
        .map(Some)
        .map_err(|_| bad_value(key, v, "an id"))
}

/// What both versions share: text filters and paging. `None`: the key is not one of them.
fn common(
    filter: &mut AccountFilter,
    nothing: &mut bool,
    key: &str,
    value: &str,
) -> Result<Option<()>, AppError> {
    let text = || Some(value.to_owned()).filter(|v| !v.trim().is_empty());
    match key {
        "username" => filter.username = text(),
        "display_name" => filter.display_name = text(),
        "by_domain" => filter.by_domain = text(),
        "email" => filter.email = text(),
        // Tidings records no IP addresses: no account matches one.
        "ip" => *nothing |= !value.trim().is_empty(),
        "max_id" => filter.max_id = id_value(key, value)?,
        "since_id" => filter.since_id = id_value(key, value)?,
        "min_id" => filter.min_id = id_value(key, value)?,
        "limit" => {
            let n: i64 = value
                .trim()
                .parse()
                .map_err(|_| bad_value(key, value, "a number"))?;
            filter.limit = n.clamp(1, MAX_LIMIT);
        }
        _ => return Ok(None),
    }
    Ok(Some(()))
}

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 200;
const COMMON: &[&str] = &[
    "username",
    "display_name",
    "by_domain",
    "email",
    "ip",
    "max_id",
    "since_id",
    "min_id",
    "limit",
];

/// v1 filters: `local`, `remote`, `active`, `pending`, `disabled`, `sensitized`,
/// `silenced`, `suspended`, `staff` (booleans), and the shared ones.
fn filter_v1(pairs: &[(String, String)]) -> Result<(AccountFilter, bool), AppError> {
    const FLAGS: &[&str] = &[
        "local",
        "remote",
        "active",
        "pending",
        "disabled",
        "sensitized",
        "silenced",
        "suspended",
        "staff",
    ];
    let mut f = AccountFilter {
        limit: DEFAULT_LIMIT,
        ..AccountFilter::default()
    };
    let mut nothing = false;
    for (key, value) in pairs {
        if common(&mut f, &mut nothing, key, value)?.is_some() {
            continue;
        }
        if !FLAGS.contains(&key.as_str()) {
            let known: Vec<&str> = FLAGS.iter().chain(COMMON).copied().collect();
            return Err(unknown(key, &known));
        }
        if !is_true(value) {
            continue;
        }
        match key.as_str() {
            "local" => f.origin = Some(Origin::Local),
            "remote" => f.origin = Some(Origin::Remote),
            "staff" => f.staff = true,
            // Tidings has no "sensitized" state: no account is.
            "sensitized" => nothing = true,
            status => f
                .statuses
                .push(Status::parse(status).expect("one of FLAGS")),
        }
    }
    Ok((f, nothing))
}

/// v2 filters: `origin`, `status`, `permissions`, `role_ids[]`, and the shared ones.
fn filter_v2(pairs: &[(String, String)]) -> Result<(AccountFilter, bool), AppError> {
    const KEYS: &[&str] = &[
        "origin",
        "status",
        "permissions",
        "role_ids[]",
        "role_ids",
        "invited_by",
    ];
    let mut f = AccountFilter {
        limit: DEFAULT_LIMIT,
        ..AccountFilter::default()
    };
    let mut nothing = false;
    for (key, value) in pairs {
        if common(&mut f, &mut nothing, key, value)?.is_some() {
            continue;
        }
        let v = value.trim();
        match key.as_str() {
            _ if v.is_empty() => {}
            "origin" => {
                f.origin = Some(match v {
                    "local" => Origin::Local,
                    "remote" => Origin::Remote,
                    _ => return Err(bad_value(key, value, "local or remote")),
                })
            }
            "status" => f.statuses.push(Status::parse(v).ok_or_else(|| {
                bad_value(
                    key,
                    value,
                    "active, pending, disabled, silenced or suspended",
                )
            })?),
            "permissions" => {
                if v != "staff" {
                    return Err(bad_value(key, value, "staff"));
                }
                f.staff = true;
            }
            "role_ids[]" | "role_ids" => {
                let role = v
                    .parse()
                    .ok()
                    .and_then(Role::from_api_id)
                    .ok_or_else(|| bad_value(key, value, "a role id: -99, 1 or 2"))?;
                f.roles.push(role);
            }
            "invited_by" => {
                return Err(AppError::field(
                    "params",
                    "invited_by: filtering by inviter is not supported here",
                ));
            }
            _ => {
                let known: Vec<&str> = KEYS.iter().chain(COMMON).copied().collect();
                return Err(unknown(key, &known));
            }
        }
    }
    Ok((f, nothing))
}

async fn respond(
    svc: &Services,
    auth: &Auth,
    uri: &axum::http::Uri,
    (filter, nothing): (AccountFilter, bool),
) -> Result<Response, AppError> {
    let user = auth.staff("admin:read:accounts")?;
    let found = if nothing {
        Vec::new()
    } else {
        account_admin::list(svc, Acting::Staff(user), filter).await?
    };
    let ids: Vec<i64> = found.iter().map(|a| a.row.id).collect();
    let items: Vec<AdminAccount> = found
        .iter()
        .map(|a| AdminAccount::from_view(a, svc.base_url()))
        .collect();
    Ok(paged(items, &page_url(svc, uri), &ids))
}

async fn list_v1(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    HtmlQuery(pairs): HtmlQuery<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    respond(&svc, &auth, &uri, filter_v1(&pairs)?).await
}

async fn list_v2(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    HtmlQuery(pairs): HtmlQuery<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    respond(&svc, &auth, &uri, filter_v2(&pairs)?).await
}

async fn one(
    svc: &Services,
    user: &crate::db::models::Account,
    id: i64,
) -> Result<Json<AdminAccount>, AppError> {
    let a = account_admin::get(svc, Acting::Staff(user), id).await?;
    Ok(Json(AdminAccount::from_view(&a, svc.base_url())))
}

async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    let user = auth.staff("admin:read:accounts")?;
    one(&svc, user, path_id(&id)?).await
}

async fn apply(
    svc: &Services,
    auth: &Auth,
    id: &str,
    change: Change,
) -> Result<Json<AdminAccount>, AppError> {
    let user = auth.staff("admin:write:accounts")?;
    let id = path_id(id)?;
    account_admin::change(svc, Acting::Staff(user), id, change, "").await?;
    one(svc, user, id).await
}

async fn approve(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    apply(&svc, &auth, &id, Change::Approve).await
}

async fn enable(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    apply(&svc, &auth, &id, Change::Enable).await
}

async fn unsilence(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    apply(&svc, &auth, &id, Change::Unsilence).await
}

async fn unsuspend(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    let user = auth.staff("admin:write:accounts")?;
    let id = path_id(&id)?;
    moderation::unsuspend(&svc, user, id, "").await?;
    one(&svc, user, id).await
}

/// Rejecting deletes the waiting account; the answer is the account as it was.
async fn reject(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminAccount>, AppError> {
    let user = auth.staff("admin:write:accounts")?;
    let id = path_id(&id)?;
    let before = account_admin::get(&svc, Acting::Staff(user), id).await?;
    account_admin::reject(&svc, Acting::Staff(user), id).await?;
    let mut shown = AdminAccount::from_view(&before, svc.base_url());
    shown.approved = false;
    Ok(Json(shown))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionForm {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default, deserialize_with = "opt_id")]
    report_id: Option<i64>,
    #[serde(default)]
    text: String,
    #[serde(default, deserialize_with = "opt_id")]
    warning_preset_id: Option<i64>,
    #[serde(default, deserialize_with = "flag")]
    send_email_notification: bool,
}

/// `POST /api/v1/admin/accounts/:id/action`: `type` none, disable, silence or suspend
/// (with `text` as the log's note and `report_id` resolved by it). Answers `{}`.
async fn action(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    ApiForm(form): ApiForm<serde_json::Value>,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.staff("admin:write:accounts")?;
    let id = path_id(&id)?;
    let form: ActionForm = serde_json::from_value(form)
        .map_err(|e| AppError::field("params", format!("invalid parameters: {e}")))?;
    if form.warning_preset_id.is_some() {
        return Err(AppError::field(
            "warning_preset_id",
            "this server has no warning presets",
        ));
    }
    // This server sends no e-mail yet: asking for one is refused, not silently dropped.
    if form.send_email_notification {
        return Err(AppError::field(
            "send_email_notification",
            "send_email_notification: this server sends no e-mail",
        ));
    }
    match form.kind.as_str() {
        "none" => {
            if let Some(r) = form.report_id {
                moderation::resolve(&svc, user, r).await?;
            }
        }
        "disable" | "silence" => {
            let change = if form.kind == "disable" {
                Change::Disable
            } else {
                Change::Silence
            };
            account_admin::change(&svc, Acting::Staff(user), id, change, &form.text).await?;
            if let Some(r) = form.report_id {
                moderation::resolve(&svc, user, r).await?;
            }
        }
        "suspend" => {
            moderation::suspend_account(&svc, user, id, form.report_id, &form.text).await?;
        }
        other => {
            return Err(AppError::field(
                "type",
                format!("type {other:?}: expected none, disable, silence or suspend"),
            ));
        }
    }
    Ok(Json(serde_json::json!({})))
}
