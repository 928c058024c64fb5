//! Search (v2), reports, timeline markers, and the default avatar and header pictures.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use super::entities::{self, Account, Report, SearchResults, Tag};
use super::params::{HtmlQuery, flag, id_list, opt_id, string_list};
use super::{ApiForm, Auth};
use crate::error::AppError;
use crate::federation::resolve;
use crate::service::reports::{self, ReportTarget};
use crate::service::{
    Services, bookmarks, notification_feed, posts, relationships, search, timelines,
};

const AVATAR_PNG: &[u8] = include_bytes!("static/avatar.png");
const HEADER_PNG: &[u8] = include_bytes!("static/header.png");

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v2/search", get(search_v2))
        .route("/api/v1/reports", axum::routing::post(report))
        // Mastodon.py posts here, with the slash.
        .route("/api/v1/reports/", axum::routing::post(report))
        .route("/api/v1/markers", get(get_markers).post(set_markers))
        .route("/static/avatar.png", get(avatar))
        .route("/static/header.png", get(header_png))
}

async fn avatar() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        AVATAR_PNG,
    )
}

async fn header_png() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "image/png"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        HEADER_PNG,
    )
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SearchQuery {
    q: String,
    #[serde(rename = "type")]
    kind: Option<String>,
    limit: Option<String>,
    offset: Option<String>,
    /// Look a handle (`@user@host`) or an actor URL up on its server (WebFinger, then the
    /// actor) when it is not stored yet.
    #[serde(deserialize_with = "flag")]
    resolve: bool,
}

/// The exact match first, then the ranked results without it, at most `limit`.
fn exact_first(exact: Option<i64>, ranked: impl Iterator<Item = i64>, limit: usize) -> Vec<i64> {
    exact
        .into_iter()
        .chain(ranked.filter(|id| Some(*id) != exact))
        .take(limit)
        .collect()
}

/// `GET /api/v2/search`: accounts by name, posts by words or `#tag` (full text, in rank
/// order), hashtags by prefix. `offset` moves by pages of 20 for posts.
async fn search_v2(
    State(svc): State<Services>,
    auth: Auth,
    HtmlQuery(q): HtmlQuery<SearchQuery>,
) -> Result<Json<SearchResults>, AppError> {
    let user = auth.user("read:search")?;
    let limit = q
        .limit
        .as_deref()
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 40);
    let offset = q
        .offset
        .as_deref()
        .and_then(|o| o.parse::<u32>().ok())
        .unwrap_or(0);
    let want = |k: &str| q.kind.as_deref().is_none_or(|t| t.is_empty() || t == k);
    let base = svc.base_url().to_owned();
    let mut out = SearchResults {
        accounts: Vec::new(),
        statuses: Vec::new(),
        hashtags: Vec::new(),
    };
    if q.q.trim().is_empty() {
        return Ok(Json(out));
    }
    if want("accounts") || want("statuses") {
        let found = search::search_range(&svc, &q.q, i64::from(offset), limit as i64).await?;
        if want("accounts") {
            // A handle or an actor URL: that account first (stored, or resolved when asked).
            let exact = if q.resolve && offset == 0 {
                resolve::resolve_query(&svc, &q.q).await.map(|a| a.id)
            } else if offset == 0 {
                reports::account_by_handle(&svc, &q.q)
                    .await?
                    .filter(|a| a.suspended_at.is_none() && q.q.contains('@'))
                    .map(|a| a.id)
            } else {
                None
            };
            let ids = exact_first(exact, found.accounts.iter().map(|a| a.id), limit);
            out.accounts = relationships::accounts(&svc, ids)
                .await?
                .iter()
                .map(|a| Account::from_view(a, &base))
                .collect();
        }
        if want("statuses") {
            // A post's URL: that post first (stored, or fetched from its server when asked).
            let exact = if q.resolve && offset == 0 {
                resolve::resolve_post_query(&svc, &q.q)
                    .await
                    .map(|found| found.id)
            } else {
                None
            };
            let ids = exact_first(exact, found.posts.iter().map(|p| p.id), limit);
            let views = posts::get_statuses(&svc, ids, Some(user.id)).await?;
            out.statuses = entities::Status::list(&views, &base);
        }
    }
    if want("hashtags") && offset == 0 {
        let term = q.q.trim().trim_start_matches('#');
        out.hashtags = timelines::find_tags(&svc, term, limit as i64)
            .await?
            .iter()
            .map(|name| Tag::new(name, &base))
            .collect();
    }
    Ok(Json(out))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReportForm {
    #[serde(deserialize_with = "opt_id")]
    account_id: Option<i64>,
    #[serde(
        rename = "status_ids[]",
        alias = "status_ids",
        deserialize_with = "id_list"
    )]
    status_ids: Vec<i64>,
    comment: String,
    category: Option<String>,
    #[serde(deserialize_with = "flag")]
    forward: bool,
}

/// The most statuses one report may name (as a Flag from another server, whose objects
/// are cut at the same number: docs/federation.md, "Limits").
const MAX_REPORTED_STATUSES: usize = 100;

/// `POST /api/v1/reports`: one report per status named (or one about the account when
/// none is), through the same service as the web's report form. An empty comment is
/// filled in with the category, since our moderators need a reason.
async fn report(
    State(svc): State<Services>,
    auth: Auth,
    ApiForm(form): ApiForm<ReportForm>,
) -> Result<Json<Report>, AppError> {
    let user = auth.user("write:reports")?;
    let account_id = form
        .account_id
        .ok_or_else(|| AppError::field("account_id", "account_id is required."))?;
    let target = relationships::account(&svc, account_id).await?;
    let category = form
        .category
        .filter(|c| !c.trim().is_empty())
        .unwrap_or_else(|| "other".to_owned());
    let comment = form.comment.trim().to_owned();
    let reason = if comment.is_empty() {
        format!("Reported from an app (category: {category}).")
    } else {
        comment.clone()
    };
    let mut status_ids = form.status_ids;
    status_ids.sort_unstable();
    status_ids.dedup();
    if status_ids.len() > MAX_REPORTED_STATUSES {
        return Err(AppError::field(
            "status_ids",
            format!("A report names at most {MAX_REPORTED_STATUSES} statuses."),
        ));
    }
    let statuses = posts::get_statuses(&svc, status_ids.clone(), Some(user.id)).await?;
    if statuses.len() != status_ids.len() || statuses.iter().any(|s| s.author.id != account_id) {
        return Err(AppError::field(
            "status_ids",
            "Each reported status must exist and belong to the reported account.",
        ));
    }
    reports::check_reason(&reason)?;
    let mut first_id = None;
    if status_ids.is_empty() {
        first_id = Some(
            reports::create(
                &svc,
                user,
                ReportTarget::Account(account_id),
                &reason,
                form.forward,
            )
            .await?,
        );
    } else {
        for id in &status_ids {
            let made =
                reports::create(&svc, user, ReportTarget::Post(*id), &reason, form.forward).await?;
            first_id.get_or_insert(made);
        }
    }
    let id = first_id.ok_or_else(|| AppError::internal(anyhow::anyhow!("no report made")))?;
    let row = reports::get(&svc, id).await?;
    Ok(Json(Report {
        id: id.to_string(),
        action_taken: false,
        action_taken_at: None,
        category,
        comment,
        forwarded: form.forward && target.domain.is_some(),
        created_at: entities::datetime(&row.created_at),
        status_ids: status_ids.iter().map(i64::to_string).collect(),
        rule_ids: None,
        target_account: Account::from_view(&target, svc.base_url()),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct MarkersQuery {
    #[serde(
        rename = "timeline[]",
        alias = "timeline",
        deserialize_with = "string_list"
    )]
    timeline: Vec<String>,
}

async fn get_markers(
    State(svc): State<Services>,
    auth: Auth,
    HtmlQuery(q): HtmlQuery<MarkersQuery>,
) -> Result<impl IntoResponse, AppError> {
    let user = auth.user("read:statuses")?;
    let list = bookmarks::markers(&svc, user.id, q.timeline).await?;
    Ok(Json(entities::markers(&list)))
}

#[derive(Deserialize, Default)]
struct MarkerIn {
    #[serde(default, deserialize_with = "opt_id")]
    last_read_id: Option<i64>,
}

/// JSON (`{"home": {"last_read_id": "…"}}`) or a form (`home[last_read_id]=…`).
#[derive(Deserialize, Default)]
#[serde(default)]
struct MarkersForm {
    home: Option<MarkerIn>,
    notifications: Option<MarkerIn>,
    #[serde(rename = "home[last_read_id]", deserialize_with = "opt_id")]
    home_flat: Option<i64>,
    #[serde(rename = "notifications[last_read_id]", deserialize_with = "opt_id")]
    notifications_flat: Option<i64>,
}

async fn set_markers(
    State(svc): State<Services>,
    auth: Auth,
    ApiForm(form): ApiForm<MarkersForm>,
) -> Result<impl IntoResponse, AppError> {
    let user = auth.user("write:statuses")?;
    let home = form.home_flat.or(form.home.and_then(|m| m.last_read_id));
    let notes = form
        .notifications_flat
        .or(form.notifications.and_then(|m| m.last_read_id));
    if home.is_none() && notes.is_none() {
        return Err(AppError::field(
            "last_read_id",
            "Give home[last_read_id] or notifications[last_read_id].",
        ));
    }
    let mut set = Vec::new();
    if let Some(id) = home {
        set.push(bookmarks::set_marker(&svc, user.id, "home", &id.to_string()).await?);
    }
    if let Some(id) = notes {
        set.push(bookmarks::set_marker(&svc, user.id, "notifications", &id.to_string()).await?);
        notification_feed::mark_read_up_to(&svc, user.id, id).await?;
    }
    Ok(Json(entities::markers(&set)))
}
