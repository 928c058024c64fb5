//! Mentions: the accounts a post names, stored as rows of `mentions (post_id, account_id)`
//! for local and remote posts alike (docs/visibility.md). A local post's mentions come
//! from its text (`@name` of local accounts, `@name@host` of remote accounts we know) and,
//! for a reply, its parent's author; a remote post's from its `Mention` tags (see
//! `federation::inbox::notes`). They are the API's `mentions`, the links of `@name@host`,
//! the `Mention` tags and part of the audience of what we send.
//!
//! A `@name@host` of an account this server has never seen is left as text: it is not
//! looked up on the network while posting (the post is stored in one transaction, and a
//! slow or hostile server must not hold it). Searching for the account first (search
//! resolves `@name@host`) makes later mentions of it work.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;

use super::notifications::{self, Kind};
use super::posts::MentionView;
use crate::db::DbConn;
use crate::db::schema::{accounts, mentions};
use crate::domain::text::{extract_mentions, extract_remote_mentions};
use crate::error::AppError;

/// An account named in a local text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    /// Lowercased name as typed.
    pub name: String,
    /// Lowercased host as typed (`None` for `@name`).
    pub host: Option<String>,
    /// Its profile page.
    pub url: String,
}

/// The accounts a local text names: `@name` and `@name@our-domain` of local accounts,
/// `@name@host` of remote accounts we know. Suspended accounts are left out.
pub(crate) fn named_in(
    conn: &mut DbConn,
    text: &str,
    domain: &str,
    base: &str,
) -> Result<Vec<Named>, AppError> {
    let mut wanted: Vec<(String, Option<String>)> = extract_mentions(text)
        .into_iter()
        .map(|n| (n.to_ascii_lowercase(), None))
        .collect();
    wanted.extend(
        extract_remote_mentions(text)
            .into_iter()
            .map(|(n, h)| (n, Some(h))),
    );
    let mut out: Vec<Named> = Vec::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let local_names: Vec<String> = wanted
        .iter()
        .filter(|(_, h)| h.as_deref().is_none_or(|h| h == domain))
        .map(|(n, _)| n.clone())
        .collect();
    let local: HashMap<String, (i64, String, Option<String>)> = if local_names.is_empty() {
        HashMap::new()
    } else {
        accounts::table
            .filter(accounts::username_lower.eq_any(&local_names))
            .filter(accounts::domain.is_null())
            .filter(accounts::suspended_at.is_null())
            .select((
                accounts::username_lower,
                accounts::id,
                accounts::username,
                accounts::url,
            ))
            .load::<(String, i64, String, Option<String>)>(conn)?
            .into_iter()
            .map(|(lower, id, name, url)| (lower, (id, name, url)))
            .collect()
    };
    for (name, host) in wanted {
        let found = match host.as_deref() {
            None => local.get(&name).cloned().map(|(id, username, url)| {
                (id, url.unwrap_or_else(|| format!("{base}/@{username}")))
            }),
            Some(h) if h == domain => local.get(&name).cloned().map(|(id, username, url)| {
                (id, url.unwrap_or_else(|| format!("{base}/@{username}")))
            }),
            Some(h) => accounts::table
                .filter(accounts::username_lower.eq(&name))
                .filter(accounts::domain.eq(h))
                .filter(accounts::suspended_at.is_null())
                .select((accounts::id, accounts::url, accounts::ap_id))
                .first::<(i64, Option<String>, String)>(conn)
                .optional()?
                .map(|(id, url, ap_id)| (id, remote_profile(url, ap_id))),
        };
        if let Some((id, url)) = found {
            out.push(Named {
                id,
                name,
                host,
                url,
            });
        }
    }
    Ok(out)
}

/// A remote account's page: its `url` when it is http(s), else its id.
fn remote_profile(url: Option<String>, ap_id: String) -> String {
    url.filter(|u| crate::domain::links::is_web_url(u))
        .unwrap_or(ap_id)
}

/// The profile URL to link `@name` / `@name@host` to, among `named`.
pub(crate) fn link_for(
    named: &[Named],
    domain: &str,
    name: &str,
    host: Option<&str>,
) -> Option<String> {
    let host = host.filter(|h| *h != domain);
    named
        .iter()
        .find(|n| n.name == name && n.host.as_deref().filter(|h| *h != domain) == host)
        .map(|n| n.url.clone())
}

/// Distinct account ids, in order.
pub(crate) fn ids(named: &[Named]) -> Vec<i64> {
    let mut seen = HashSet::new();
    named
        .iter()
        .map(|n| n.id)
        .filter(|i| seen.insert(*i))
        .collect()
}

/// The accounts a post mentions (its rows).
pub(crate) fn of_post(conn: &mut DbConn, post_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(mentions::table
        .filter(mentions::post_id.eq(post_id))
        .select(mentions::account_id)
        .load(conn)?)
}

/// Makes `account_ids` the accounts a post mentions (inside the write transaction that
/// stores or edits it); returns those that were not mentioned before.
pub(crate) fn replace(
    conn: &mut DbConn,
    post_id: i64,
    account_ids: &[i64],
) -> Result<Vec<i64>, AppError> {
    let before: HashSet<i64> = of_post(conn, post_id)?.into_iter().collect();
    let wanted: HashSet<i64> = account_ids.iter().copied().collect();
    let gone: Vec<i64> = before.difference(&wanted).copied().collect();
    if !gone.is_empty() {
        diesel::delete(
            mentions::table
                .filter(mentions::post_id.eq(post_id))
                .filter(mentions::account_id.eq_any(&gone)),
        )
        .execute(conn)?;
    }
    let mut added = Vec::new();
    // One insert per row: MultiConnection has no batch insert.
    for &account_id in account_ids {
        if before.contains(&account_id) || added.contains(&account_id) {
            continue;
        }
        diesel::insert_into(mentions::table)
            .values((
                mentions::post_id.eq(post_id),
                mentions::account_id.eq(account_id),
            ))
            .execute(conn)?;
        added.push(account_id);
    }
    Ok(added)
}

/// The local accounts (not suspended) among `ids`.
pub(crate) fn local_among(conn: &mut DbConn, ids: &[i64]) -> Result<Vec<i64>, AppError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: HashSet<i64> = accounts::table
        .filter(accounts::id.eq_any(ids))
        .filter(accounts::domain.is_null())
        .filter(accounts::suspended_at.is_null())
        .select(accounts::id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    Ok(ids.iter().copied().filter(|i| found.contains(i)).collect())
}

/// Stores a post's mentions and notifies the local accounts newly mentioned (never the
/// author, never one in `told`, which gains those notified).
pub(crate) fn record(
    conn: &mut DbConn,
    post_id: i64,
    author_id: i64,
    account_ids: &[i64],
    told: &mut HashSet<i64>,
) -> Result<(), AppError> {
    let added = replace(conn, post_id, account_ids)?;
    told.insert(author_id);
    for account_id in local_among(conn, &added)? {
        if told.insert(account_id) {
            notifications::notify(
                conn,
                account_id,
                Kind::Mention,
                author_id,
                Some(post_id),
                "",
            )?;
        }
    }
    Ok(())
}

/// (post id, account id, username, domain, url, ap_id).
type MentionRow = (i64, i64, String, Option<String>, Option<String>, String);

/// The mentions of many posts, for the API: post id → accounts (local ones by name,
/// remote ones as `name@host`), in one query.
pub(crate) fn views_of(
    conn: &mut DbConn,
    post_ids: &[i64],
    base: &str,
) -> Result<HashMap<i64, Vec<MentionView>>, AppError> {
    let mut out: HashMap<i64, Vec<MentionView>> = HashMap::new();
    if post_ids.is_empty() {
        return Ok(out);
    }
    let rows: Vec<MentionRow> = mentions::table
        .inner_join(accounts::table.on(accounts::id.eq(mentions::account_id)))
        .filter(mentions::post_id.eq_any(post_ids))
        .order((mentions::post_id.asc(), accounts::id.asc()))
        .select((
            mentions::post_id,
            accounts::id,
            accounts::username,
            accounts::domain,
            accounts::url,
            accounts::ap_id,
        ))
        .load(conn)?;
    for (post_id, id, username, domain, url, ap_id) in rows {
        let (acct, url) = match &domain {
            None => (
                username.clone(),
                url.unwrap_or_else(|| format!("{base}/@{username}")),
            ),
            Some(d) => (
                format!("{username}@{d}"),
                remote_profile(url, ap_id.clone()),
            ),
        };
        out.entry(post_id).or_default().push(MentionView {
            id,
            username,
            acct,
            url,
            ap_id,
            local: domain.is_none(),
        });
    }
    Ok(out)
}
