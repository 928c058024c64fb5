//! Mastodon's admin API for blocked servers (`/api/v1/admin/domain_blocks`, scopes
//! `admin:read:domain_blocks` / `admin:write:domain_blocks`, admins only), so shared
//! blocklist tools such as FediBlockHole work unchanged, and the public list
//! (`/api/v1/instance/domain_blocks`). The work is `service::domain_blocks`'.

use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::params::{opt_flag, page_url, path_id};
use super::{ApiForm, Auth, paged};
use crate::db::models::Account;
use crate::domain::time::rfc3339;
use crate::error::{AppError, ErrorKind, FieldError};
use crate::service::Services;
use crate::service::domain_blocks::{self, BlockInput, DomainBlock, Severity};

pub fn routes() -> Router<Services> {
    Router::new()
        .route("/api/v1/admin/domain_blocks", get(list).post(create))
        .route(
            "/api/v1/admin/domain_blocks/{id}",
            get(show).put(update).delete(remove),
        )
        .route("/api/v1/instance/domain_blocks", get(public_list))
}

/// Mastodon's `Admin::DomainBlock`. A comment not given is `""`, as Mastodon stores what
/// apps send (blocklist tools compare comments as strings and would otherwise see a change
/// on every run).
#[derive(Debug, Serialize)]
pub struct AdminDomainBlock {
    pub id: String,
    pub domain: String,
    pub digest: String,
    pub created_at: String,
    pub severity: String,
    pub reject_media: bool,
    pub reject_reports: bool,
    pub private_comment: String,
    pub public_comment: String,
    pub obfuscate: bool,
}

impl From<&DomainBlock> for AdminDomainBlock {
    fn from(b: &DomainBlock) -> Self {
        AdminDomainBlock {
            id: b.id.to_string(),
            domain: b.domain.clone(),
            digest: b.digest(),
            created_at: rfc3339(&b.created_at),
            severity: b.severity.clone(),
            reject_media: b.reject_media,
            reject_reports: b.reject_reports,
            private_comment: b.private_comment.clone().unwrap_or_default(),
            public_comment: b.public_comment.clone().unwrap_or_default(),
            obfuscate: b.obfuscate,
        }
    }
}

/// Mastodon's public `DomainBlock`.
#[derive(Debug, Serialize)]
pub struct PublicDomainBlock {
    pub domain: String,
    pub digest: String,
    pub severity: String,
    pub comment: Option<String>,
}

fn admin<'a>(auth: &'a Auth, scope: &str) -> Result<&'a Account, AppError> {
    let account = auth.user(scope)?;
    if !account.is_admin {
        return Err(AppError::new(ErrorKind::Denied(
            "This action is not allowed: administrators only".into(),
        )));
    }
    Ok(account)
}

fn unprocessable(field: &'static str, message: String) -> AppError {
    AppError::validation(vec![FieldError { field, message }])
}

/// Refuses keys other than `allowed` (422 naming them): nothing is silently ignored.
fn only(params: &Map<String, Value>, allowed: &[&str]) -> Result<(), AppError> {
    let unknown: Vec<&str> = params
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(unprocessable(
            "params",
            format!(
                "unknown parameter {}: the parameters are {}",
                unknown.join(", "),
                allowed.join(", ")
            ),
        ))
    }
}

/// Paging of the list: Mastodon's default 100, at most 200.
const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 200;

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default, deserialize_with = "super::params::opt_id")]
    max_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::opt_id")]
    since_id: Option<i64>,
    #[serde(default, deserialize_with = "super::params::opt_id")]
    min_id: Option<i64>,
    #[serde(default)]
    limit: Option<String>,
}

/// `GET /api/v1/admin/domain_blocks`: newest first, `Link` paging.
async fn list(
    State(svc): State<Services>,
    auth: Auth,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, AppError> {
    admin(&auth, "admin:read:domain_blocks")?;
    let query = query.unwrap_or_default();
    let raw: Map<String, Value> = serde_html_form::from_str(&query)
        .map_err(|e| unprocessable("params", format!("invalid parameters: {e}")))?;
    only(&raw, &["max_id", "since_id", "min_id", "limit"])?;
    let q: ListQuery = serde_html_form::from_str(&query)
        .map_err(|e| unprocessable("params", format!("invalid parameters: {e}")))?;
    let limit = match q.limit.as_deref().map(str::trim) {
        None | Some("") => DEFAULT_LIMIT,
        Some(l) => l
            .parse::<i64>()
            .map_err(|_| unprocessable("limit", format!("limit {l:?} is not a number")))?
            .clamp(1, MAX_LIMIT),
    };
    let blocks = domain_blocks::page(&svc, q.max_id, q.since_id, q.min_id, limit).await?;
    let ids: Vec<i64> = blocks.iter().map(|b| b.id).collect();
    let items: Vec<AdminDomainBlock> = blocks.iter().map(AdminDomainBlock::from).collect();
    Ok(paged(items, &page_url(&svc, &uri), &ids))
}

/// `GET /api/v1/admin/domain_blocks/{id}`.
async fn show(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Json<AdminDomainBlock>, AppError> {
    admin(&auth, "admin:read:domain_blocks")?;
    let block = domain_blocks::get(&svc, path_id(&id)?).await?;
    Ok(Json(AdminDomainBlock::from(&block)))
}

/// The fields of a block as apps send them (form or JSON; `null` = not given).
#[derive(Debug, Default, Deserialize)]
struct BlockParams {
    #[serde(default)]
    domain: Option<String>,
    #[serde(default)]
    severity: Option<String>,
    #[serde(default, deserialize_with = "opt_flag")]
    reject_media: Option<bool>,
    #[serde(default, deserialize_with = "opt_flag")]
    reject_reports: Option<bool>,
    #[serde(default)]
    private_comment: Option<String>,
    #[serde(default)]
    public_comment: Option<String>,
    #[serde(default, deserialize_with = "opt_flag")]
    obfuscate: Option<bool>,
}

const BLOCK_KEYS: [&str; 7] = [
    "domain",
    "severity",
    "reject_media",
    "reject_reports",
    "private_comment",
    "public_comment",
    "obfuscate",
];

fn block_params(raw: Map<String, Value>) -> Result<BlockParams, AppError> {
    only(&raw, &BLOCK_KEYS)?;
    // Form values arrive as strings, JSON ones as they are; both read the same way.
    serde_json::from_value(Value::Object(raw))
        .map_err(|e| unprocessable("params", format!("invalid parameters: {e}")))
}

fn severity(raw: Option<&str>) -> Result<Option<Severity>, AppError> {
    raw.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Severity::parse(s).map_err(|e| unprocessable("severity", e)))
        .transpose()
}

/// `POST /api/v1/admin/domain_blocks`: a new block (severity `silence` unless given, as
/// on Mastodon). A domain already blocked: 422.
async fn create(
    State(svc): State<Services>,
    auth: Auth,
    ApiForm(raw): ApiForm<Map<String, Value>>,
) -> Result<Json<AdminDomainBlock>, AppError> {
    let who = admin(&auth, "admin:write:domain_blocks")?.username.clone();
    let p = block_params(raw)?;
    let domain = p
        .domain
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| unprocessable("domain", "domain is missing".into()))?;
    let input = BlockInput {
        domain,
        severity: severity(p.severity.as_deref())?.unwrap_or(Severity::Silence),
        reject_media: p.reject_media.unwrap_or(false),
        reject_reports: p.reject_reports.unwrap_or(false),
        private_comment: p.private_comment,
        public_comment: p.public_comment,
        obfuscate: p.obfuscate.unwrap_or(false),
    };
    let (block, _) = domain_blocks::create(&svc, input).await?;
    tracing::info!(
        by = who,
        domain = block.domain,
        "domain block made through the API"
    );
    Ok(Json(AdminDomainBlock::from(&block)))
}

/// `PUT /api/v1/admin/domain_blocks/{id}`: changes the fields given. The domain cannot
/// change (giving the same one, as FediBlockHole does, is fine).
async fn update(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
    ApiForm(raw): ApiForm<Map<String, Value>>,
) -> Result<Json<AdminDomainBlock>, AppError> {
    admin(&auth, "admin:write:domain_blocks")?;
    let id = path_id(&id)?;
    let p = block_params(raw)?;
    let sev = severity(p.severity.as_deref())?;
    if let Some(d) = p.domain.as_deref().filter(|d| !d.trim().is_empty()) {
        let current = domain_blocks::get(&svc, id).await?;
        let given = domain_blocks::normalize_domain(d).map_err(|e| unprocessable("domain", e))?;
        if given != current.domain {
            return Err(unprocessable(
                "domain",
                format!(
                    "the domain of a block cannot change ({} here): remove it and block {given}",
                    current.domain
                ),
            ));
        }
    }
    let (block, _) = domain_blocks::update(&svc, id, move |b| {
        if let Some(s) = sev {
            b.severity = s;
        }
        if let Some(v) = p.reject_media {
            b.reject_media = v;
        }
        if let Some(v) = p.reject_reports {
            b.reject_reports = v;
        }
        if let Some(v) = p.obfuscate {
            b.obfuscate = v;
        }
        if p.private_comment.is_some() {
            b.private_comment = p.private_comment;
        }
        if p.public_comment.is_some() {
            b.public_comment = p.public_comment;
        }
    })
    .await?;
    Ok(Json(AdminDomainBlock::from(&block)))
}

/// `DELETE /api/v1/admin/domain_blocks/{id}`: lifts the block; answers `{}`.
async fn remove(
    State(svc): State<Services>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    admin(&auth, "admin:write:domain_blocks")?;
    domain_blocks::remove(&svc, path_id(&id)?).await?;
    Ok((StatusCode::OK, Json(serde_json::json!({}))).into_response())
}

/// `GET /api/v1/instance/domain_blocks`: the blocks that limit something (silence,
/// suspend), obfuscated where asked, with the SHA-256 of each domain; 404 when the admin
/// keeps the list private (`tidings instance set show_domain_blocks …`).
async fn public_list(
    State(svc): State<Services>,
    auth: Auth,
) -> Result<Json<Vec<PublicDomainBlock>>, AppError> {
    let info = crate::service::instance::info(&svc).await?;
    match info.show_domain_blocks {
        domain_blocks::Shown::All => {}
        domain_blocks::Shown::Users if auth.viewer().is_some() => {}
        domain_blocks::Shown::Users => {
            return Err(AppError::new(ErrorKind::InvalidToken(
                "This list is shown to signed-in users only".into(),
            )));
        }
        domain_blocks::Shown::Disabled => return Err(AppError::not_found()),
    }
    Ok(Json(
        domain_blocks::public_list(&svc)
            .await?
            .iter()
            .map(|b| PublicDomainBlock {
                domain: b.public_domain(),
                digest: b.digest(),
                severity: b.severity.clone(),
                comment: b.public_comment.clone(),
            })
            .collect(),
    ))
}
