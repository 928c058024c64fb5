//! Verified signers kept in memory for a few seconds, so a busy peer's activities do not
//! each read the same account row again before their signature can be checked.
//!
//! An entry is only a shortcut to the account's key and state: a signature that does not
//! verify with the cached key falls back to the stored row and then to a fresh fetch, as
//! without the cache. What could make an entry wrong is dropped at once in this process:
//! the actor's own `Update` or `Delete` (key rotation, self-deletion) forgets it, and a
//! moderator's suspension or unsuspension empties the cache. Another process sharing the
//! database sees such changes within [`TTL`]. A request that read its signer before such
//! an invalidation does not put it back afterwards (see `Inner::generation`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::db::models::Account;

/// How long an entry is used.
pub const TTL: Duration = Duration::from_secs(10);

/// Entries at most; the cache is emptied when full.
const MAX: usize = 4096;

#[derive(Default)]
pub struct SignerCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    accounts: HashMap<String, (Account, Instant)>,
    /// Counts invalidations. A request reads it before it looks its signer up, and its
    /// `put` is dropped if an invalidation came in between: otherwise an account read
    /// before a suspension could be put back after the cache was emptied.
    generation: u64,
}

impl SignerCache {
    /// The account of the actor `ap_id`, if it was verified within [`TTL`].
    pub fn get(&self, ap_id: &str) -> Option<Account> {
        let inner = self.inner.lock().ok()?;
        inner
            .accounts
            .get(ap_id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(a, _)| a.clone())
    }

    /// To read before looking a signer up, and to give to [`SignerCache::put`].
    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// Keeps `account`, unless the cache was invalidated since `generation` was read.
    pub fn put(&self, account: &Account, generation: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner.generation != generation {
                return;
            }
            if inner.accounts.len() >= MAX {
                inner.accounts.clear();
            }
            inner
                .accounts
                .insert(account.ap_id.clone(), (account.clone(), Instant::now()));
        }
    }

    pub fn forget(&self, ap_id: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.accounts.remove(ap_id);
            inner.generation += 1;
        }
    }

    pub fn clear(&self) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.accounts.clear();
            inner.generation += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn account(ap_id: &str) -> Account {
        Account {
            id: 1,
            username: "a".into(),
            username_lower: "a".into(),
            domain: Some("x.example".into()),
            display_name: String::new(),
            bio: String::new(),
            ap_id: ap_id.into(),
            url: None,
            inbox_url: None,
            shared_inbox_url: None,
            followers_url: None,
            public_key_pem: String::new(),
            private_key_pem: None,
            password_hash: None,
            is_admin: false,
            is_moderator: false,
            suspended_at: None,
            last_fetched_at: None,
            created_at: chrono::NaiveDateTime::default(),
            updated_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn a_signer_read_before_an_invalidation_is_not_put_back() {
        let cache = SignerCache::default();
        let a = account("https://x.example/users/a");
        let before = cache.generation();
        cache.put(&a, before);
        assert!(cache.get(&a.ap_id).is_some());

        // A request read the account, then a suspension emptied the cache.
        let seen = cache.generation();
        cache.clear();
        cache.put(&a, seen);
        assert!(cache.get(&a.ap_id).is_none());

        // The same after the actor's own Update or Delete.
        let seen = cache.generation();
        cache.forget(&a.ap_id);
        cache.put(&a, seen);
        assert!(cache.get(&a.ap_id).is_none());

        cache.put(&a, cache.generation());
        assert!(cache.get(&a.ap_id).is_some());
    }
}
