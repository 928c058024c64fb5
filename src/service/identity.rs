//! The instance's identity — its domain and URL scheme — fixed in the database at first
//! start (issue #14, item 1). Every account and post is known to other servers by URLs
//! built from it, so a later command that names another domain is refused instead of
//! minting accounts nobody can reach.

use diesel::prelude::*;

use crate::config::Config;
use crate::db::schema::{accounts, instance_settings};
use crate::db::{Db, DbConn, write_tx};
use crate::error::AppError;

const DOMAIN: &str = "domain";
const SCHEME: &str = "scheme";

/// Whether a command may store the identity when the database has none yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Serving and creating accounts fix the identity.
    Store,
    /// Other commands (migrate) only read it.
    ReadOnly,
}

/// Where the identity in force came from (for the start-up log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from the database.
    Stored,
    /// Taken from the local accounts of a database made before the identity was stored.
    Accounts,
    /// From flags or defaults, and now stored.
    New,
    /// From flags or defaults, not stored (read-only command).
    Unsettled,
}

/// Puts the stored identity into `config`, or stores the configured one. Fails with one
/// line when flags name another identity than the database holds.
pub async fn settle(db: &Db, config: &mut Config, mode: Settle) -> anyhow::Result<Origin> {
    let wanted = (config.domain.clone(), config.scheme.clone());
    let given = (config.domain_given, config.scheme_given);
    let (domain, scheme, origin) = db
        .run(move |conn| {
            write_tx(conn, |conn| {
                decide(conn, wanted, given, mode).map_err(|e| AppError::bad_request(&e))
            })
        })
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.public_message()))?;
    config.domain = domain;
    config.scheme = scheme;
    Ok(origin)
}

fn decide(
    conn: &mut DbConn,
    (domain, scheme): (String, String),
    (domain_given, scheme_given): (bool, bool),
    mode: Settle,
) -> Result<(String, String, Origin), String> {
    let stored = (read(conn, DOMAIN)?, read(conn, SCHEME)?);
    let (have, origin) = match stored {
        (Some(d), Some(s)) => ((d, s), Origin::Stored),
        _ => match from_accounts(conn)? {
            Some(found) => (found, Origin::Accounts),
            None => {
                if mode == Settle::Store {
                    write(conn, DOMAIN, &domain)?;
                    write(conn, SCHEME, &scheme)?;
                    return Ok((domain, scheme, Origin::New));
                }
                return Ok((domain, scheme, Origin::Unsettled));
            }
        },
    };
    let (have_domain, have_scheme) = have;
    if domain_given && domain != have_domain {
        return Err(refusal("--domain", &domain, &have_scheme, &have_domain));
    }
    if scheme_given && scheme != have_scheme {
        return Err(refusal("--scheme", &scheme, &have_scheme, &have_domain));
    }
    if origin == Origin::Accounts && mode == Settle::Store {
        write(conn, DOMAIN, &have_domain)?;
        write(conn, SCHEME, &have_scheme)?;
    }
    Ok((have_domain, have_scheme, origin))
}

fn refusal(flag: &str, given: &str, scheme: &str, domain: &str) -> String {
    format!(
        "this database belongs to {scheme}://{domain}: {flag} {given} would change the address \
         of every account and post, which other servers know them by. Leave out {flag} (the \
         stored one is used), or give a new database for a new instance"
    )
}

/// The scheme and host of the oldest local account, for databases made before the
/// identity was stored.
fn from_accounts(conn: &mut DbConn) -> Result<Option<(String, String)>, String> {
    let ap_id: Option<String> = accounts::table
        .filter(accounts::domain.is_null())
        .order(accounts::id.asc())
        .select(accounts::ap_id)
        .first(conn)
        .optional()
        .map_err(|e| e.to_string())?;
    let Some(ap_id) = ap_id else { return Ok(None) };
    let url = url::Url::parse(&ap_id).map_err(|e| format!("local account id {ap_id}: {e}"))?;
    let host = url.host_str().unwrap_or_default();
    let domain = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    Ok(Some((domain, url.scheme().to_owned())))
}

fn read(conn: &mut DbConn, key: &str) -> Result<Option<String>, String> {
    instance_settings::table
        .find(key)
        .select(instance_settings::value)
        .first(conn)
        .optional()
        .map_err(|e| e.to_string())
}

fn write(conn: &mut DbConn, key: &str, value: &str) -> Result<(), String> {
    super::instance::put(conn, key, value).map_err(|e| e.to_string())
}
