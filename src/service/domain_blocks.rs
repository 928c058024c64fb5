//! Defederation (issue #14, item 4): servers blocked by the admin with a severity
//! (`silence`, `suspend`, `noop`) and Mastodon's flags, and the allow-list mode
//! (instance setting `federation = allowlist`, servers listed in `domain_allows`).
//!
//! A block names a host without port and covers its subdomains. Hot paths (the inbox,
//! deliveries, fetches, timelines) ask [`rules`], a copy in memory: a change made here
//! shows at once in this process, a change made by another process (the CLI, another
//! server on the same PostgreSQL database) within [`REFRESH`]. No request pays a query.
//!
//! Suspending a domain does what Mastodon does to its known accounts: they are suspended
//! (their posts leave every list, their activities are refused) with the block's
//! `created_at` as their suspension time, and the deliveries still queued for the domain
//! are cancelled. Lifting the block (or lowering it) lifts exactly those suspensions.
//! Unlike Mastodon, posts are hidden rather than deleted, so an unblock restores them.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use diesel::prelude::*;

use super::Services;
use crate::db::schema::{accounts, deliveries, domain_allows, domain_blocks, instance_settings};
use crate::db::{DbConn, ids};
use crate::error::{AppError, ErrorKind};

/// How long the copy in memory is used before it is read again.
pub const REFRESH: Duration = Duration::from_secs(5);
/// Longest comment kept.
pub const MAX_COMMENT: usize = 1_000;
/// The instance setting that switches the allow-list mode on.
pub const FEDERATION_KEY: &str = "federation";

/// How hard a server is blocked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Its accounts stay out of public lists and of notifications, except for followers.
    Silence,
    /// No federation either way; its content here is hidden.
    Suspend,
    /// Only the flags (reject media, reject reports) apply.
    Noop,
}

impl Severity {
    pub fn parse(s: &str) -> Result<Severity, String> {
        match s.trim() {
            "silence" => Ok(Severity::Silence),
            "suspend" => Ok(Severity::Suspend),
            "noop" => Ok(Severity::Noop),
            other => Err(format!("severity {other:?}: use silence, suspend or noop")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Silence => "silence",
            Severity::Suspend => "suspend",
            Severity::Noop => "noop",
        }
    }
}

/// Whether we federate with every server not suspended, or only with listed ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Federation {
    #[default]
    Open,
    Allowlist,
}

impl Federation {
    pub fn parse(s: &str) -> Result<Federation, String> {
        match s.trim() {
            "open" => Ok(Federation::Open),
            "allowlist" => Ok(Federation::Allowlist),
            other => Err(format!("federation {other:?}: use open or allowlist")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Federation::Open => "open",
            Federation::Allowlist => "allowlist",
        }
    }
}

/// Who sees the public list of blocked servers (`/api/v1/instance/domain_blocks`, the
/// about page): instance setting `show_domain_blocks`, `disabled` unless set (as on
/// Mastodon).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Shown {
    All,
    Users,
    #[default]
    Disabled,
}

impl Shown {
    pub fn parse(s: &str) -> Result<Shown, String> {
        match s.trim() {
            "all" => Ok(Shown::All),
            "users" => Ok(Shown::Users),
            "disabled" => Ok(Shown::Disabled),
            other => Err(format!(
                "show_domain_blocks {other:?}: use all, users or disabled"
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Shown::All => "all",
            Shown::Users => "users",
            Shown::Disabled => "disabled",
        }
    }
}

/// A stored block (a row of `domain_blocks`).
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = domain_blocks)]
pub struct DomainBlock {
    pub id: i64,
    pub domain: String,
    pub severity: String,
    pub reject_media: bool,
    pub reject_reports: bool,
    pub private_comment: Option<String>,
    pub public_comment: Option<String>,
    pub obfuscate: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl DomainBlock {
    pub fn severity(&self) -> Severity {
        // Rows are written through `BlockInput`; anything else counts as the hardest.
        Severity::parse(&self.severity).unwrap_or(Severity::Suspend)
    }

    /// The domain as the public list shows it: with every other character of its name
    /// part replaced by `*` when `obfuscate` is set (Mastodon's way).
    pub fn public_domain(&self) -> String {
        if self.obfuscate {
            obfuscated(&self.domain)
        } else {
            self.domain.clone()
        }
    }

    /// Hex SHA-256 of the domain, as Mastodon's public list gives it.
    pub fn digest(&self) -> String {
        hex::encode(openssl::sha::sha256(self.domain.as_bytes()))
    }
}

/// Mastodon's obfuscation: every second character of each label but the last, `*`.
fn obfuscated(domain: &str) -> String {
    let labels: Vec<&str> = domain.split('.').collect();
    let last = labels.len().saturating_sub(1);
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if i == last && labels.len() > 1 {
                (*l).to_owned()
            } else {
                l.chars()
                    .enumerate()
                    .map(|(j, c)| if j % 2 == 1 { '*' } else { c })
                    .collect()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A block as asked for (checked by [`BlockInput::check`] before it is written).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockInput {
    pub domain: String,
    pub severity: Severity,
    pub reject_media: bool,
    pub reject_reports: bool,
    pub private_comment: Option<String>,
    pub public_comment: Option<String>,
    pub obfuscate: bool,
}

impl BlockInput {
    /// A suspension of `domain` without flags or comments.
    pub fn suspend(domain: &str) -> BlockInput {
        BlockInput {
            domain: domain.to_owned(),
            severity: Severity::Suspend,
            reject_media: false,
            reject_reports: false,
            private_comment: None,
            public_comment: None,
            obfuscate: false,
        }
    }

    /// Normalizes the domain and the comments; refuses our own domain.
    fn check(mut self, own: &str) -> Result<BlockInput, String> {
        self.domain = normalize_domain(&self.domain)?;
        if covers(&self.domain, own) {
            return Err(format!(
                "{} is this server's own domain (or a parent of it): it cannot be blocked",
                self.domain
            ));
        }
        for c in [&mut self.private_comment, &mut self.public_comment] {
            *c = c
                .take()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty());
            if c.as_ref().is_some_and(|s| s.chars().count() > MAX_COMMENT) {
                return Err(format!("a comment has at most {MAX_COMMENT} characters"));
            }
        }
        Ok(self)
    }
}

/// A domain as blocks store it: lower case, ASCII (IDNA), no trailing dot, no port.
/// Refuses anything that is not a bare host name.
pub fn normalize_domain(raw: &str) -> Result<String, String> {
    let d = raw.trim().trim_end_matches('.');
    if d.is_empty() {
        return Err("give a domain".into());
    }
    if d.contains(|c: char| c.is_whitespace() || "/:@?#*[]\\".contains(c)) {
        return Err(format!(
            "{raw:?} is not a domain: give a bare host name such as social.example (no scheme, port, path or wildcard)"
        ));
    }
    let host = url::Host::parse(d).map_err(|e| format!("{raw:?} is not a domain: {e}"))?;
    let out = host.to_string().to_ascii_lowercase();
    if out.len() > 253 {
        return Err(format!("{raw:?} is too long for a domain"));
    }
    Ok(out)
}

/// The host of `host[:port]` (or `[v6]:port`), lower case.
pub fn host_part(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        match rest.split_once(']') {
            Some((h, _)) => return format!("[{}]", h.to_ascii_lowercase()),
            None => a,
        }
    } else {
        match a.rsplit_once(':') {
            Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
            _ => a,
        }
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether a rule for `domain` covers `host` (the same host or a subdomain of it).
pub fn covers(domain: &str, host: &str) -> bool {
    let host = host_part(host);
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.'
            && host.parse::<IpAddr>().is_err())
}

/// `host`, then each parent domain of it (`a.b.example`, `b.example`, `example`); an IP
/// address only as itself.
fn candidates(host: &str) -> impl Iterator<Item = &str> {
    let is_ip = host.parse::<IpAddr>().is_ok() || host.starts_with('[');
    let mut next = Some(host);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if is_ip {
            None
        } else {
            cur.split_once('.')
                .map(|(_, rest)| rest)
                .filter(|r| !r.is_empty())
        };
        Some(cur)
    })
}

/// What applies to other servers, as last read: the blocks by domain, the allowed
/// domains and the mode.
#[derive(Debug, Default)]
pub struct Rules {
    blocks: HashMap<String, Arc<DomainBlock>>,
    allows: HashSet<String>,
    pub federation: Federation,
    /// Our own host (never refused).
    own: String,
}

impl Rules {
    /// The most specific block covering `authority` (`host[:port]`).
    pub fn block_for(&self, authority: &str) -> Option<&DomainBlock> {
        if self.blocks.is_empty() {
            return None;
        }
        let host = host_part(authority);
        candidates(&host)
            .find_map(|d| self.blocks.get(d))
            .map(|b| b.as_ref())
    }

    fn allowed(&self, host: &str) -> bool {
        candidates(host).any(|d| self.allows.contains(d))
    }

    /// Why we do not federate with `authority`, if we do not: suspended, or not listed
    /// in the allow-list mode. Our own host is never refused.
    pub fn refusal(&self, authority: &str) -> Option<&'static str> {
        let host = host_part(authority);
        if host.is_empty() || host == self.own {
            return None;
        }
        if self
            .block_for(&host)
            .is_some_and(|b| b.severity() == Severity::Suspend)
        {
            return Some("suspended");
        }
        if self.federation == Federation::Allowlist && !self.allowed(&host) {
            return Some("not on the allow-list");
        }
        None
    }

    pub fn refused(&self, authority: &str) -> bool {
        self.refusal(authority).is_some()
    }

    /// The URL's server is refused (see [`Rules::refusal`]); a URL without host is not.
    pub fn refuses_url(&self, url: &url::Url) -> bool {
        url.host_str().is_some_and(|h| self.refused(h))
    }

    pub fn silenced(&self, authority: &str) -> bool {
        self.block_for(authority)
            .is_some_and(|b| b.severity() == Severity::Silence)
    }

    pub fn rejects_reports(&self, authority: &str) -> bool {
        self.block_for(authority).is_some_and(|b| b.reject_reports)
    }

    pub fn rejects_media(&self, authority: &str) -> bool {
        self.block_for(authority).is_some_and(|b| b.reject_media)
    }

    /// The silenced domains (for list filters).
    pub fn silenced_domains(&self) -> Vec<String> {
        self.blocks
            .values()
            .filter(|b| b.severity() == Severity::Silence)
            .map(|b| b.domain.clone())
            .collect()
    }
}

/// The copy in memory.
#[derive(Default)]
pub struct DomainCache(RwLock<Option<(Instant, Arc<Rules>)>>);

impl DomainCache {
    /// Drops the copy: the next [`rules`] reads the database.
    pub fn invalidate(&self) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = None;
    }
}

/// The rules (from memory when fresh).
pub async fn rules(svc: &Services) -> Result<Arc<Rules>, AppError> {
    if let Some((at, rules)) = svc
        .domains
        .0
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        && at.elapsed() < REFRESH
    {
        return Ok(rules.clone());
    }
    let own = host_part(&svc.config.domain);
    let mut rules = svc.db.run(load).await?;
    rules.own = own;
    let rules = Arc::new(rules);
    *svc.domains.0.write().unwrap_or_else(|p| p.into_inner()) =
        Some((Instant::now(), rules.clone()));
    Ok(rules)
}

fn load(conn: &mut DbConn) -> Result<Rules, AppError> {
    let blocks: Vec<DomainBlock> = domain_blocks::table
        .select(DomainBlock::as_select())
        .load(conn)?;
    let allows: Vec<String> = domain_allows::table
        .select(domain_allows::domain)
        .load(conn)?;
    let mode: Option<String> = instance_settings::table
        .find(FEDERATION_KEY)
        .select(instance_settings::value)
        .first(conn)
        .optional()?;
    Ok(Rules {
        blocks: blocks
            .into_iter()
            .map(|b| (b.domain.clone(), Arc::new(b)))
            .collect(),
        allows: allows.into_iter().collect(),
        // A value this version does not know federates with listed servers only.
        federation: mode
            .map(|m| Federation::parse(&m).unwrap_or(Federation::Allowlist))
            .unwrap_or_default(),
        own: String::new(),
    })
}

fn unprocessable(msg: impl Into<String>) -> AppError {
    AppError::field("domain", msg)
}

/// Every block, by domain.
pub async fn list(svc: &Services) -> Result<Vec<DomainBlock>, AppError> {
    svc.db
        .run(|conn| {
            Ok(domain_blocks::table
                .select(DomainBlock::as_select())
                .order(domain_blocks::domain.asc())
                .load(conn)?)
        })
        .await
}

/// The blocks the public list shows: those that limit something (silence, suspend), by
/// domain.
pub async fn public_list(svc: &Services) -> Result<Vec<DomainBlock>, AppError> {
    Ok(list(svc)
        .await?
        .into_iter()
        .filter(|b| b.severity() != Severity::Noop)
        .collect())
}

/// Blocks newest first, keyset-paged on the id as Mastodon's admin API pages them:
/// `max_id` (older than), `since_id` (newer than, newest first), `min_id` (the page just
/// after it).
pub async fn page(
    svc: &Services,
    max_id: Option<i64>,
    since_id: Option<i64>,
    min_id: Option<i64>,
    limit: i64,
) -> Result<Vec<DomainBlock>, AppError> {
    svc.db
        .run(move |conn| {
            let mut q = domain_blocks::table
                .select(DomainBlock::as_select())
                .into_boxed();
            if let Some(max) = max_id {
                q = q.filter(domain_blocks::id.lt(max));
            }
            if let Some(since) = since_id {
                q = q.filter(domain_blocks::id.gt(since));
            }
            if let Some(min) = min_id {
                let mut rows: Vec<DomainBlock> = q
                    .filter(domain_blocks::id.gt(min))
                    .order(domain_blocks::id.asc())
                    .limit(limit)
                    .load(conn)?;
                rows.reverse();
                return Ok(rows);
            }
            Ok(q.order(domain_blocks::id.desc()).limit(limit).load(conn)?)
        })
        .await
}

pub async fn get(svc: &Services, id: i64) -> Result<DomainBlock, AppError> {
    svc.db
        .run(move |conn| {
            Ok(domain_blocks::table
                .find(id)
                .select(DomainBlock::as_select())
                .first(conn)?)
        })
        .await
}

/// What a change did, for the log and the CLI.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub accounts_suspended: usize,
    pub accounts_restored: usize,
    pub deliveries_cancelled: usize,
}

/// Blocks a domain. A domain already blocked is a 422 naming it (as Mastodon answers).
pub async fn create(svc: &Services, input: BlockInput) -> Result<(DomainBlock, Effects), AppError> {
    let input = input
        .check(&host_part(&svc.config.domain))
        .map_err(unprocessable)?;
    let out = svc
        .db
        .write(move |conn| {
            if find_by_domain(conn, &input.domain)?.is_some() {
                return Err(unprocessable(format!(
                    "{} is already blocked: change or remove that block",
                    input.domain
                )));
            }
            write_block(conn, input)
        })
        .await;
    after_change(svc, out, "domain blocked")
}

/// Blocks a domain, or changes its block when it has one (the CLI's `domain block`).
/// `true` when the block is new.
pub async fn put(
    svc: &Services,
    input: BlockInput,
) -> Result<(DomainBlock, Effects, bool), AppError> {
    let input = input
        .check(&host_part(&svc.config.domain))
        .map_err(unprocessable)?;
    let created = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = created.clone();
    let out = svc
        .db
        .write(move |conn| {
            flag.store(
                find_by_domain(conn, &input.domain)?.is_none(),
                std::sync::atomic::Ordering::Relaxed,
            );
            write_block(conn, input)
        })
        .await;
    let (block, effects) = after_change(svc, out, "domain block set")?;
    Ok((
        block,
        effects,
        created.load(std::sync::atomic::Ordering::Relaxed),
    ))
}

/// Changes a block (its domain stays).
pub async fn update(
    svc: &Services,
    id: i64,
    change: impl FnOnce(&mut BlockInput) + Send + 'static,
) -> Result<(DomainBlock, Effects), AppError> {
    let own = host_part(&svc.config.domain);
    let out = svc
        .db
        .write(move |conn| {
            let old: DomainBlock = domain_blocks::table
                .find(id)
                .select(DomainBlock::as_select())
                .first(conn)?;
            let mut input = input_of(&old);
            change(&mut input);
            input.domain = old.domain.clone();
            let input = input.check(&own).map_err(unprocessable)?;
            write_block(conn, input)
        })
        .await;
    after_change(svc, out, "domain block changed")
}

/// Removes a block by id; suspensions it made are lifted.
pub async fn remove(svc: &Services, id: i64) -> Result<(DomainBlock, Effects), AppError> {
    let out = svc
        .db
        .write(move |conn| {
            let old: DomainBlock = domain_blocks::table
                .find(id)
                .select(DomainBlock::as_select())
                .first(conn)?;
            diesel::delete(domain_blocks::table.find(id)).execute(conn)?;
            let restored = lift_suspensions(conn, &old)?;
            Ok((
                old,
                Effects {
                    accounts_restored: restored,
                    ..Effects::default()
                },
            ))
        })
        .await;
    after_change(svc, out, "domain unblocked")
}

/// Removes the block of `domain` (404 when there is none).
pub async fn remove_domain(
    svc: &Services,
    domain: &str,
) -> Result<(DomainBlock, Effects), AppError> {
    let domain = normalize_domain(domain).map_err(unprocessable)?;
    let id = svc
        .db
        .run(move |conn| find_by_domain(conn, &domain))
        .await?
        .ok_or_else(AppError::not_found)?
        .id;
    remove(svc, id).await
}

/// Writes many blocks in one transaction (new ones added, existing ones changed); all or
/// nothing. Returns how many were added and how many changed.
pub async fn import(svc: &Services, inputs: Vec<BlockInput>) -> Result<(usize, usize), AppError> {
    let own = host_part(&svc.config.domain);
    let inputs = inputs
        .into_iter()
        .map(|i| i.check(&own))
        .collect::<Result<Vec<_>, _>>()
        .map_err(unprocessable)?;
    let out = svc
        .db
        .write(move |conn| {
            let (mut added, mut changed) = (0, 0);
            for input in inputs {
                if find_by_domain(conn, &input.domain)?.is_some() {
                    changed += 1;
                } else {
                    added += 1;
                }
                write_block(conn, input)?;
            }
            Ok((added, changed))
        })
        .await?;
    svc.domains.invalidate();
    svc.signers.clear();
    tracing::info!(added = out.0, changed = out.1, "domain blocks imported");
    Ok(out)
}

fn after_change(
    svc: &Services,
    out: Result<(DomainBlock, Effects), AppError>,
    what: &'static str,
) -> Result<(DomainBlock, Effects), AppError> {
    let (block, effects) = out?;
    svc.domains.invalidate();
    svc.signers.clear();
    tracing::info!(
        domain = block.domain,
        severity = block.severity,
        reject_media = block.reject_media,
        reject_reports = block.reject_reports,
        accounts_suspended = effects.accounts_suspended,
        accounts_restored = effects.accounts_restored,
        deliveries_cancelled = effects.deliveries_cancelled,
        "{what}"
    );
    Ok((block, effects))
}

fn find_by_domain(conn: &mut DbConn, domain: &str) -> Result<Option<DomainBlock>, AppError> {
    Ok(domain_blocks::table
        .filter(domain_blocks::domain.eq(domain))
        .select(DomainBlock::as_select())
        .first(conn)
        .optional()?)
}

fn input_of(b: &DomainBlock) -> BlockInput {
    BlockInput {
        domain: b.domain.clone(),
        severity: b.severity(),
        reject_media: b.reject_media,
        reject_reports: b.reject_reports,
        private_comment: b.private_comment.clone(),
        public_comment: b.public_comment.clone(),
        obfuscate: b.obfuscate,
    }
}

/// Inserts or updates the block of `input.domain` (checked) and applies its severity to
/// the domain's accounts and queued deliveries. Call inside a write transaction.
fn write_block(conn: &mut DbConn, input: BlockInput) -> Result<(DomainBlock, Effects), AppError> {
    let now = Utc::now().naive_utc();
    let old = find_by_domain(conn, &input.domain)?;
    let values = (
        domain_blocks::severity.eq(input.severity.as_str()),
        domain_blocks::reject_media.eq(input.reject_media),
        domain_blocks::reject_reports.eq(input.reject_reports),
        domain_blocks::private_comment.eq(input.private_comment.clone()),
        domain_blocks::public_comment.eq(input.public_comment.clone()),
        domain_blocks::obfuscate.eq(input.obfuscate),
        domain_blocks::updated_at.eq(now),
    );
    let id = match &old {
        Some(b) => {
            diesel::update(domain_blocks::table.find(b.id))
                .set(values)
                .execute(conn)?;
            b.id
        }
        None => {
            let id = ids::new_id();
            diesel::insert_into(domain_blocks::table)
                .values((
                    domain_blocks::id.eq(id),
                    domain_blocks::domain.eq(&input.domain),
                    domain_blocks::created_at.eq(now),
                    values,
                ))
                .execute(conn)?;
            id
        }
    };
    let block: DomainBlock = domain_blocks::table
        .find(id)
        .select(DomainBlock::as_select())
        .first(conn)?;
    let mut effects = Effects::default();
    let was_suspended = old
        .as_ref()
        .is_some_and(|b| b.severity() == Severity::Suspend);
    match (was_suspended, block.severity() == Severity::Suspend) {
        (false, true) => {
            effects.accounts_suspended = suspend_accounts(conn, &block)?;
            effects.deliveries_cancelled = cancel_deliveries(conn, &block.domain)?;
        }
        (true, false) => {
            effects.accounts_restored = lift_suspensions(conn, old.as_ref().expect("was"))?;
        }
        _ => {}
    }
    Ok((block, effects))
}

/// Ids of the stored remote accounts on `domain` or its subdomains, with their
/// suspension time.
fn accounts_on(
    conn: &mut DbConn,
    domain: &str,
) -> Result<Vec<(i64, Option<NaiveDateTime>)>, AppError> {
    let rows: Vec<(i64, Option<String>, Option<NaiveDateTime>)> = accounts::table
        .filter(accounts::domain.like(format!("%{domain}%")))
        .select((accounts::id, accounts::domain, accounts::suspended_at))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, d, _)| d.as_deref().is_some_and(|d| covers(domain, d)))
        .map(|(id, _, at)| (id, at))
        .collect())
}

/// Suspends the domain's accounts not suspended yet, marking them with the block's
/// `created_at` (so an unblock lifts these and no others, as Mastodon does).
fn suspend_accounts(conn: &mut DbConn, block: &DomainBlock) -> Result<usize, AppError> {
    let ids: Vec<i64> = accounts_on(conn, &block.domain)?
        .into_iter()
        .filter(|(_, at)| at.is_none())
        .map(|(id, _)| id)
        .collect();
    let mut n = 0;
    for chunk in ids.chunks(500) {
        n += diesel::update(accounts::table.filter(accounts::id.eq_any(chunk)))
            .set(accounts::suspended_at.eq(Some(block.created_at)))
            .execute(conn)?;
    }
    Ok(n)
}

/// Lifts the suspensions a block made (those marked with its `created_at`).
fn lift_suspensions(conn: &mut DbConn, block: &DomainBlock) -> Result<usize, AppError> {
    let ids: Vec<i64> = accounts_on(conn, &block.domain)?
        .into_iter()
        .filter(|(_, at)| *at == Some(block.created_at))
        .map(|(id, _)| id)
        .collect();
    let mut n = 0;
    for chunk in ids.chunks(500) {
        n += diesel::update(accounts::table.filter(accounts::id.eq_any(chunk)))
            .set(accounts::suspended_at.eq(None::<NaiveDateTime>))
            .execute(conn)?;
    }
    Ok(n)
}

/// Deletes the queued (not yet delivered) deliveries to `domain` and its subdomains.
pub(crate) fn cancel_deliveries(conn: &mut DbConn, domain: &str) -> Result<usize, AppError> {
    let rows: Vec<(i64, String)> = deliveries::table
        .filter(deliveries::delivered_at.is_null())
        .filter(deliveries::inbox_url.like(format!("%{domain}%")))
        .select((deliveries::id, deliveries::inbox_url))
        .load(conn)?;
    let ids: Vec<i64> = rows
        .into_iter()
        .filter(|(_, inbox)| {
            url::Url::parse(inbox)
                .ok()
                .and_then(|u| u.host_str().map(|h| covers(domain, h)))
                .unwrap_or(false)
        })
        .map(|(id, _)| id)
        .collect();
    let mut n = 0;
    for chunk in ids.chunks(500) {
        n +=
            diesel::delete(deliveries::table.filter(deliveries::id.eq_any(chunk))).execute(conn)?;
    }
    Ok(n)
}

// ---- allow-list ----

/// The allowed domains, sorted.
pub async fn allows(svc: &Services) -> Result<Vec<String>, AppError> {
    svc.db
        .run(|conn| {
            Ok(domain_allows::table
                .select(domain_allows::domain)
                .order(domain_allows::domain.asc())
                .load(conn)?)
        })
        .await
}

/// Lists `domain` for the allow-list mode (nothing happens when it is listed already).
pub async fn allow(svc: &Services, domain: &str) -> Result<String, AppError> {
    let domain = normalize_domain(domain).map_err(unprocessable)?;
    let d = domain.clone();
    svc.db
        .write(move |conn| {
            let known: Option<i64> = domain_allows::table
                .filter(domain_allows::domain.eq(&d))
                .select(domain_allows::id)
                .first(conn)
                .optional()?;
            if known.is_none() {
                diesel::insert_into(domain_allows::table)
                    .values((
                        domain_allows::id.eq(ids::new_id()),
                        domain_allows::domain.eq(&d),
                        domain_allows::created_at.eq(Utc::now().naive_utc()),
                    ))
                    .execute(conn)?;
            }
            Ok(())
        })
        .await?;
    svc.domains.invalidate();
    tracing::info!(domain, "domain allowed");
    Ok(domain)
}

/// Takes `domain` off the allow-list (404 when it is not on it).
pub async fn disallow(svc: &Services, domain: &str) -> Result<String, AppError> {
    let domain = normalize_domain(domain).map_err(unprocessable)?;
    let d = domain.clone();
    let n = svc
        .db
        .write(move |conn| {
            Ok(
                diesel::delete(domain_allows::table.filter(domain_allows::domain.eq(d)))
                    .execute(conn)?,
            )
        })
        .await?;
    if n == 0 {
        return Err(AppError::new(ErrorKind::NotFound));
    }
    svc.domains.invalidate();
    svc.signers.clear();
    tracing::info!(domain, "domain taken off the allow-list");
    Ok(domain)
}

// ---- Mastodon's CSV ----

/// The columns of Mastodon's domain block export, in its order.
pub const CSV_COLUMNS: [&str; 6] = [
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
];

/// Reads Mastodon's CSV (`#domain,#severity,#reject_media,#reject_reports,#public_comment,
/// #obfuscate`; columns in any order, only `#domain` required, a missing severity is
/// `suspend`). The first bad row fails the whole file with its line number.
pub fn parse_csv(text: &str) -> Result<Vec<BlockInput>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers = reader
        .headers()
        .map_err(|e| format!("line 1: {e}"))?
        .clone();
    let mut cols: HashMap<&'static str, usize> = HashMap::new();
    for (i, h) in headers.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        let name = CSV_COLUMNS
            .iter()
            .copied()
            .find(|c| *c == h || c.trim_start_matches('#') == h)
            .ok_or_else(|| {
                format!(
                    "line 1: unknown column {h:?}: the columns are {}",
                    CSV_COLUMNS.join(",")
                )
            })?;
        if cols.insert(name, i).is_some() {
            return Err(format!("line 1: column {name} twice"));
        }
    }
    if !cols.contains_key("#domain") {
        return Err("line 1: no #domain column".into());
    }
    let mut out: Vec<BlockInput> = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| match e.position() {
            Some(p) => format!("line {}: {e}", p.line()),
            None => e.to_string(),
        })?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fail = |m: String| format!("line {line}: {m}");
        let field = |name: &str| cols.get(name).and_then(|i| record.get(*i)).map(str::trim);
        let flag = |name: &str| -> Result<bool, String> {
            match field(name).unwrap_or("") {
                "" | "false" | "FALSE" | "False" => Ok(false),
                "true" | "TRUE" | "True" => Ok(true),
                other => Err(fail(format!("{name} {other:?}: use true or false"))),
            }
        };
        let domain = normalize_domain(field("#domain").unwrap_or("")).map_err(fail)?;
        if let Some(first) = seen.insert(domain.clone(), line) {
            return Err(fail(format!("{domain} again (first on line {first})")));
        }
        let severity = match field("#severity").unwrap_or("") {
            "" => Severity::Suspend,
            s => Severity::parse(s).map_err(fail)?,
        };
        let comment = field("#public_comment").unwrap_or("");
        if comment.chars().count() > MAX_COMMENT {
            return Err(fail(format!(
                "a comment has at most {MAX_COMMENT} characters"
            )));
        }
        out.push(BlockInput {
            domain,
            severity,
            reject_media: flag("#reject_media")?,
            reject_reports: flag("#reject_reports")?,
            private_comment: None,
            public_comment: (!comment.is_empty()).then(|| comment.to_owned()),
            obfuscate: flag("#obfuscate")?,
        });
    }
    Ok(out)
}

/// Writes blocks as Mastodon's CSV (what [`parse_csv`] reads back).
pub fn to_csv(blocks: &[DomainBlock]) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(CSV_COLUMNS).map_err(AppError::internal)?;
    for b in blocks {
        let flag = |v: bool| if v { "true" } else { "false" };
        w.write_record([
            b.domain.as_str(),
            b.severity.as_str(),
            flag(b.reject_media),
            flag(b.reject_reports),
            b.public_comment.as_deref().unwrap_or(""),
            flag(b.obfuscate),
        ])
        .map_err(AppError::internal)?;
    }
    String::from_utf8(w.into_inner().map_err(AppError::internal)?).map_err(AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(blocks: &[(&str, Severity)], allows: &[&str], federation: Federation) -> Rules {
        let now = Utc::now().naive_utc();
        Rules {
            blocks: blocks
                .iter()
                .map(|(d, s)| {
                    (
                        d.to_string(),
                        Arc::new(DomainBlock {
                            id: 1,
                            domain: d.to_string(),
                            severity: s.as_str().into(),
                            reject_media: false,
                            reject_reports: *s == Severity::Noop,
                            private_comment: None,
                            public_comment: None,
                            obfuscate: false,
                            created_at: now,
                            updated_at: now,
                        }),
                    )
                })
                .collect(),
            allows: allows.iter().map(|s| s.to_string()).collect(),
            federation,
            own: "tidings.test".into(),
        }
    }

    #[test]
    fn a_block_covers_the_domain_and_its_subdomains_whatever_the_port() {
        let r = rules(&[("bad.example", Severity::Suspend)], &[], Federation::Open);
        assert!(r.refused("bad.example"));
        assert!(r.refused("BAD.example:8443"));
        assert!(r.refused("media.bad.example"));
        assert!(!r.refused("notbad.example"));
        assert!(!r.refused("bad.example.org"));
        assert!(!r.refused("good.example"));
        let r = rules(&[("bad.example", Severity::Silence)], &[], Federation::Open);
        assert!(!r.refused("bad.example"));
        assert!(r.silenced("a.bad.example:1"));
        let r = rules(&[("bad.example", Severity::Noop)], &[], Federation::Open);
        assert!(!r.refused("bad.example") && !r.silenced("bad.example"));
        assert!(r.rejects_reports("bad.example"));
    }

    #[test]
    fn the_most_specific_block_wins() {
        let r = rules(
            &[
                ("example", Severity::Suspend),
                ("ok.example", Severity::Noop),
            ],
            &[],
            Federation::Open,
        );
        assert!(r.refused("x.example"));
        assert!(!r.refused("ok.example"));
        assert!(!r.refused("a.ok.example"));
    }

    #[test]
    fn the_allow_list_refuses_everyone_else_but_us() {
        let r = rules(&[], &["friend.example"], Federation::Allowlist);
        assert!(!r.refused("friend.example:443"));
        assert!(!r.refused("sub.friend.example"));
        assert!(r.refused("stranger.example"));
        assert!(!r.refused("tidings.test"));
        let r = rules(&[], &["friend.example"], Federation::Open);
        assert!(!r.refused("stranger.example"));
    }

    #[test]
    fn domains_are_normalized_and_junk_refused() {
        assert_eq!(normalize_domain(" Bad.Example. ").unwrap(), "bad.example");
        assert_eq!(
            normalize_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        for junk in [
            "",
            "https://bad.example",
            "bad.example:443",
            "bad.example/x",
            "*.bad.example",
            "a b",
            "user@bad.example",
        ] {
            assert!(normalize_domain(junk).is_err(), "{junk:?}");
        }
    }

    #[test]
    fn our_own_domain_and_its_parents_cannot_be_blocked() {
        assert!(
            BlockInput::suspend("tidings.test")
                .check("tidings.test")
                .is_err()
        );
        assert!(BlockInput::suspend("test").check("tidings.test").is_err());
        assert!(
            BlockInput::suspend("sub.tidings.test")
                .check("tidings.test")
                .is_ok()
        );
    }

    #[test]
    fn obfuscation_stars_every_other_character_but_the_tld() {
        assert_eq!(obfuscated("bad.example"), "b*d.example");
        assert_eq!(obfuscated("mastodon.social"), "m*s*o*o*.social");
        assert_eq!(obfuscated("localhost"), "l*c*l*o*t");
    }

    #[test]
    fn csv_round_trips_and_names_the_bad_line() {
        let text = "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n\
                    bad.example,suspend,true,false,\"spam, lots\",false\n\
                    loud.example,silence,false,true,,true\n";
        let parsed = parse_csv(text).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].public_comment.as_deref(), Some("spam, lots"));
        assert!(parsed[0].reject_media && !parsed[0].reject_reports);
        assert_eq!(parsed[1].severity, Severity::Silence);
        assert!(parsed[1].obfuscate && parsed[1].reject_reports);

        let bad = "#domain,#severity\nok.example,suspend\nworse.example,banish\n";
        let e = parse_csv(bad).unwrap_err();
        assert!(e.starts_with("line 3:") && e.contains("banish"), "{e}");
        let e = parse_csv("#domain,#colour\nx.example,red\n").unwrap_err();
        assert!(e.contains("unknown column"), "{e}");
        let e = parse_csv("#domain\na.example\nb c\n").unwrap_err();
        assert!(e.starts_with("line 3:"), "{e}");
        let e = parse_csv("#domain,#severity\na.example,suspend,extra\n").unwrap_err();
        assert!(e.starts_with("line 2:"), "{e}");
        // Without '#' and with only the domain, as some lists are written.
        let p = parse_csv("domain\nplain.example\n").unwrap();
        assert_eq!(p[0].severity, Severity::Suspend);
    }
}
