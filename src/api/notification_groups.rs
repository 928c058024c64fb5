//! Grouped notifications (`/api/v2/notifications`, Mastodon 4.3) and the unread counts of
//! v1 and v2. The grouping itself is `service::notification_groups`.

use axum::extract::{OriginalUri, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};

use super::entities::{Account, Status, datetime, kinds_of_type, notification_type};
use super::params::{StrictQuery, opt_id, page_url, string_list};
use super::{Auth, link_header};
use crate::error::AppError;
use crate::service::Services;
use crate::service::notification_feed::ALL_KINDS;
use crate::service::notification_groups::{self, Filter, GROUPABLE_KINDS, Group, GroupedPage};
use crate::service::timelines::Range;

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/notifications/unread_count", get(unread_v1))
        .route("/api/v2/notifications", get(list))
        .route("/api/v2/notifications/unread_count", get(unread_v2))
        .route("/api/v2/notifications/{group_key}", get(show))
        .route("/api/v2/notifications/{group_key}/accounts", get(accounts))
        .route("/api/v2/notifications/{group_key}/dismiss", post(dismiss))
}

/// Groups in a page by default and at most (as Mastodon).
const DEFAULT_GROUPS: i64 = 40;
const MAX_GROUPS: i64 = 80;

/// Unread counts by default and at most (as Mastodon).
const DEFAULT_UNREAD_CAP: i64 = 100;
const MAX_UNREAD_CAP: i64 = 1000;

/// `GroupedNotificationsResults`.
#[derive(Debug, Serialize)]
struct GroupedResults {
    accounts: Vec<Account>,
    statuses: Vec<Status>,
    notification_groups: Vec<NotificationGroup>,
}

/// `NotificationGroup`.
#[derive(Debug, Serialize)]
struct NotificationGroup {
    group_key: String,
    notifications_count: i64,
    #[serde(rename = "type")]
    kind: &'static str,
    most_recent_notification_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_min_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    page_max_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latest_page_notification_at: Option<String>,
    sample_account_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_id: Option<String>,
    /// The emoji of a `pleroma:emoji_reaction` (as on v1 notifications).
    #[serde(skip_serializing_if = "Option::is_none")]
    emoji: Option<String>,
}

impl NotificationGroup {
    fn from_group(g: &Group) -> NotificationGroup {
        NotificationGroup {
            group_key: g.key.clone(),
            notifications_count: g.count,
            kind: notification_type(&g.latest.kind),
            most_recent_notification_id: g.latest.id.to_string(),
            page_min_id: g.page.map(|p| p.0.to_string()),
            page_max_id: g.page.map(|p| p.1.to_string()),
            latest_page_notification_at: g.page.map(|p| datetime(&p.2)),
            sample_account_ids: g.sample_account_ids.iter().map(i64::to_string).collect(),
            status_id: g.latest.post.as_ref().map(|p| p.id.to_string()),
            emoji: (g.latest.kind == "reaction").then(|| g.latest.detail.clone()),
        }
    }
}

fn results(page: &GroupedPage, base: &str) -> GroupedResults {
    let mut statuses: Vec<Status> = Vec::new();
    for g in &page.groups {
        if let Some(p) = &g.latest.post {
            if !statuses.iter().any(|s| s.id == p.id.to_string()) {
                statuses.push(Status::from_view(p, base));
            }
        }
    }
    GroupedResults {
        accounts: page
            .accounts
            .iter()
            .map(|a| Account::from_view(a, base))
            .collect(),
        statuses,
        notification_groups: page
            .groups
            .iter()
            .map(NotificationGroup::from_group)
            .collect(),
    }
}

/// Our kinds for Mastodon types (unknown types match nothing, as in v1).
fn kinds_of(types: &[String]) -> Vec<String> {
    types
        .iter()
        .flat_map(|t| kinds_of_type(t).iter().map(|k| (*k).to_owned()))
        .collect()
}

/// The filter for `types[]`, `exclude_types[]`, `grouped_types[]` and `account_id`.
fn filter(
    types: &[String],
    exclude: &[String],
    grouped: Option<&[String]>,
    actor: Option<i64>,
) -> Filter {
    let included: Vec<String> = if types.is_empty() {
        ALL_KINDS.iter().map(|k| (*k).to_owned()).collect()
    } else {
        kinds_of(types)
    };
    let excluded = kinds_of(exclude);
    let grouped = match grouped {
        // Only favourites, boosts and follows are ever grouped.
        Some(g) => kinds_of(g)
            .into_iter()
            .filter(|k| GROUPABLE_KINDS.contains(&k.as_str()))
            .collect(),
        None => GROUPABLE_KINDS.iter().map(|k| (*k).to_owned()).collect(),
    };
    Filter {
        kinds: included
            .into_iter()
            .filter(|k| !excluded.contains(k))
            .collect(),
        grouped,
        actor,
    }
}

/// A limit parameter within `1..=max`; anything else that is not a number is a 422.
fn limit(raw: Option<&str>, default: i64, max: i64) -> Result<i64, AppError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => s
            .parse::<i64>()
            .map(|n| n.clamp(1, max))
            .map_err(|_| AppError::field("limit", format!("{s:?} is not a number"))),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ListQuery {
    #[serde(deserialize_with = "opt_id")]
    max_id: Option<i64>,
    #[serde(deserialize_with = "opt_id")]
    since_id: Option<i64>,
    #[serde(deserialize_with = "opt_id")]
    min_id: Option<i64>,
    limit: Option<String>,
    #[serde(rename = "types[]", alias = "types", deserialize_with = "string_list")]
    types: Vec<String>,
    #[serde(
        rename = "exclude_types[]",
        alias = "exclude_types",
        deserialize_with = "string_list"
    )]
    exclude_types: Vec<String>,
    #[serde(
        rename = "grouped_types[]",
        alias = "grouped_types",
        deserialize_with = "string_list"
    )]
    grouped_types: Vec<String>,
    #[serde(deserialize_with = "opt_id")]
    account_id: Option<i64>,
    /// `full` or `partial_avatars`; every account is given in full either way.
    expand_accounts: Option<String>,
    /// Tidings filters no notifications, so there are none to include.
    include_filtered: Option<String>,
}

fn check_expand(v: Option<&str>) -> Result<(), AppError> {
    match v {
        None | Some("" | "full" | "partial_avatars") => Ok(()),
        Some(other) => Err(AppError::field(
            "expand_accounts",
            format!("{other:?} is not one of full, partial_avatars"),
        )),
    }
}

/// `GET /api/v2/notifications`: a page of groups, newest first, with a `Link` header.
async fn list(
    State(svc): State<Services>,
    auth: Auth,
    OriginalUri(uri): OriginalUri,
    StrictQuery(q): StrictQuery<ListQuery>,
) -> Result<Response, AppError> {
    let user = auth.user("read:notifications")?;
    check_expand(q.expand_accounts.as_deref())?;
    let grouped = (!q.grouped_types.is_empty()).then_some(q.grouped_types.as_slice());
    let f = filter(&q.types, &q.exclude_types, grouped, q.account_id);
    let range = Range {
        max_id: q.max_id,
        since_id: q.since_id,
        min_id: q.min_id,
        limit: limit(q.limit.as_deref(), DEFAULT_GROUPS, MAX_GROUPS)?,
    };
    let page = notification_groups::list(&svc, user.id, f, range).await?;
    let base = svc.base_url();
    let mut res = Json(results(&page, base)).into_response();
    let link = page
        .span
        .and_then(|(oldest, newest)| link_header(&page_url(&svc, &uri), &[newest, oldest]));
    if let Some(link) = link {
        res.headers_mut().insert(axum::http::header::LINK, link);
    }
    Ok(res)
}

/// `GET /api/v2/notifications/:group_key`: one group, whole.
async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<GroupedResults>, AppError> {
    let user = auth.user("read:notifications")?;
    let page = notification_groups::get(&svc, user.id, key).await?;
    Ok(Json(results(&page, svc.base_url())))
}

/// `GET /api/v2/notifications/:group_key/accounts`: everyone behind a group.
async fn accounts(
    State(svc): State<Services>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<Vec<Account>>, AppError> {
    let user = auth.user("read:notifications")?;
    let found = notification_groups::accounts(&svc, user.id, key).await?;
    let base = svc.base_url();
    Ok(Json(
        found.iter().map(|a| Account::from_view(a, base)).collect(),
    ))
}

/// `POST /api/v2/notifications/:group_key/dismiss`: the whole group goes.
async fn dismiss(
    State(svc): State<Services>,
    auth: Auth,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.user("write:notifications")?;
    notification_groups::dismiss(&svc, user.id, key).await?;
    Ok(Json(serde_json::json!({})))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct UnreadQuery {
    limit: Option<String>,
    #[serde(rename = "types[]", alias = "types", deserialize_with = "string_list")]
    types: Vec<String>,
    #[serde(
        rename = "exclude_types[]",
        alias = "exclude_types",
        deserialize_with = "string_list"
    )]
    exclude_types: Vec<String>,
    #[serde(deserialize_with = "opt_id")]
    account_id: Option<i64>,
    /// v2 only.
    #[serde(
        rename = "grouped_types[]",
        alias = "grouped_types",
        deserialize_with = "string_list"
    )]
    grouped_types: Vec<String>,
}

async fn unread(
    svc: &Services,
    auth: &Auth,
    q: UnreadQuery,
    by_group: bool,
) -> Result<Json<serde_json::Value>, AppError> {
    let user = auth.user("read:notifications")?;
    if !by_group && !q.grouped_types.is_empty() {
        return Err(AppError::field(
            "grouped_types",
            "grouped_types is for /api/v2/notifications/unread_count",
        ));
    }
    let grouped = (!q.grouped_types.is_empty()).then_some(q.grouped_types.as_slice());
    let f = filter(&q.types, &q.exclude_types, grouped, q.account_id);
    let cap = limit(q.limit.as_deref(), DEFAULT_UNREAD_CAP, MAX_UNREAD_CAP)?;
    let count = notification_groups::unread_count(svc, user.id, f, by_group, cap).await?;
    Ok(Json(serde_json::json!({ "count": count })))
}

/// `GET /api/v1/notifications/unread_count`: `{count}`, at most `limit`.
async fn unread_v1(
    State(svc): State<Services>,
    auth: Auth,
    StrictQuery(q): StrictQuery<UnreadQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    unread(&svc, &auth, q, false).await
}

/// `GET /api/v2/notifications/unread_count`: unread groups, at most `limit`.
async fn unread_v2(
    State(svc): State<Services>,
    auth: Auth,
    StrictQuery(q): StrictQuery<UnreadQuery>,
) -> Result<Json<serde_json::Value>, AppError> {
    unread(&svc, &auth, q, true).await
}
