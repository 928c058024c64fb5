//! Use-cases shared by web pages, the client API and (later) the inbox. Handlers call these
//! and never write queries themselves.

pub mod accounts;
pub mod crypto;
pub mod sessions;
pub mod stories;
pub mod views;

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;

/// Everything a use-case needs: the database and the instance's configuration.
#[derive(Clone)]
pub struct Services {
    pub db: Db,
    pub config: Arc<Config>,
    base_url: Arc<str>,
}

impl Services {
    pub fn new(db: Db, config: Config) -> Services {
        let base_url: Arc<str> = config.base_url().into();
        Services {
            db,
            config: Arc::new(config),
            base_url,
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
