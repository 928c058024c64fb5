//! Use-cases shared by web pages, the client API and (later) the inbox. Handlers call these
//! and never write queries themselves.

pub mod account_admin;
pub mod accounts;
pub mod bookmarks;
pub mod boosts;
pub mod cache;
pub mod conversations;
pub mod crypto;
pub mod domain_blocks;
pub mod follows;
pub mod identity;
pub mod instance;
pub mod invites;
pub mod media;
pub mod mentions;
pub mod moderation;
pub mod notification_feed;
pub mod notification_groups;
pub mod notifications;
pub mod oauth;
pub mod polls;
pub mod posts;
pub mod reactions;
pub mod relationships;
pub mod replies;
pub mod reports;
pub mod search;
pub mod sessions;
pub mod signup;
pub mod stories;
pub mod timelines;
pub mod views;
pub mod visibility;
pub mod votes;

use std::sync::Arc;

use diesel::prelude::*;

use crate::config::Config;
use crate::db::models::Post;
use crate::db::schema::posts as posts_t;
use crate::db::{Db, DbConn};
use crate::error::AppError;

/// Everything a use-case needs: the database and the instance's configuration.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    base_url: Arc<str>,
    /// Short-lived copies of the public lists (see `cache`).
    pub lists: Arc<cache::ListCache>,
    /// The HTTP client of federation (fetches and deliveries).
    pub http: reqwest::Client,
    /// Applies verified inbox activities in batches (group commit).
    pub inbox: crate::federation::inbox::InboxWriter,
    /// The instance actor's key pair once read or made (see `federation::store`).
    pub(crate) instance_key: Arc<tokio::sync::OnceCell<crate::federation::store::InstanceKey>>,
    /// Remote signers verified in the last seconds (see `federation::signers`).
    pub signers: Arc<crate::federation::signers::SignerCache>,
    /// Bounds the password hashes in flight (see `crypto::PasswordGate`).
    pub passwords: Arc<crypto::PasswordGate>,
    /// The instance's settings as last read (see `instance`).
    pub instance: Arc<instance::InstanceCache>,
    /// Counters and histograms for `/metrics` (see `crate::metrics`).
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Blocked and allowed servers as last read (see `domain_blocks`).
    pub domains: Arc<domain_blocks::DomainCache>,
    /// The media folder and the bound on images processed at once (see `media`).
    pub media: Arc<media::MediaWork>,
}

impl Services {
    pub fn new(db: Db, config: Config) -> Services {
        let base_url: Arc<str> = config.base_url().into();
        let extra_roots = config
            .extra_ca_pem
            .as_deref()
            .map(|pem| reqwest::Certificate::from_pem_bundle(pem).expect("checked in Config"))
            .unwrap_or_default();
        let http = crate::federation::fetch::client_with_roots(
            config.allow_private_addresses,
            config.resolve.clone(),
            extra_roots,
        );
        let media = Arc::new(media::MediaWork::new(config.media_dir.clone()));
        Services {
            media,
            http,
            db,
            config: Arc::new(config),
            base_url,
            lists: Arc::default(),
            inbox: Default::default(),
            instance_key: Arc::default(),
            signers: Arc::default(),
            passwords: Arc::new(crypto::PasswordGate::for_this_machine()),
            instance: Arc::default(),
            metrics: Arc::default(),
            domains: Arc::default(),
        }
    }

    /// `scheme://domain` of this instance.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn actor_id(&self, username: &str) -> String {
        format!("{}/users/{}", self.base_url, username)
    }

    pub fn story_ap_id(&self, id: i64) -> String {
        format!("{}/stories/{}", self.base_url, id)
    }
}

/// One page of a list, with the key of the next page when there is one (keyset pagination).
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_before: Option<i64>,
}

pub const PAGE_SIZE: i64 = 20;

/// Locks a post's row for the rest of the write transaction (so concurrent votes, reactions
/// and replies on one post queue up) and returns it. A deleted or removed post cannot be
/// acted on: 410 Gone.
pub(crate) fn lock_post(conn: &mut DbConn, id: i64) -> Result<Post, AppError> {
    let touched = diesel::update(posts_t::table.find(id))
        .set(posts_t::id.eq(posts_t::id))
        .execute(conn)?;
    if touched == 0 {
        return Err(AppError::not_found());
    }
    let post = posts_t::table.find(id).first::<Post>(conn)?;
    if post.deleted_at.is_some() || post.removed_at.is_some() {
        return Err(AppError::gone());
    }
    Ok(post)
}
