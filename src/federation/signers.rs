//! Verified signers kept in memory for a few seconds, so a busy peer's activities do not
//! each read the same account row again before their signature can be checked.
//!
//! An entry is only a shortcut to the account's key and state: a signature that does not
//! verify with the cached key falls back to the stored row and then to a fresh fetch, as
//! without the cache. What could make an entry wrong is dropped at once in this process:
//! the actor's own `Update` or `Delete` (key rotation, self-deletion) forgets it, and a
//! moderator's suspension or unsuspension empties the cache. Another process sharing the
//! database sees such changes within [`TTL`].

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
    map: Mutex<HashMap<String, (Account, Instant)>>,
}

impl SignerCache {
    /// The account of the actor `ap_id`, if it was verified within [`TTL`].
    pub fn get(&self, ap_id: &str) -> Option<Account> {
        let map = self.map.lock().ok()?;
        map.get(ap_id)
            .filter(|(_, at)| at.elapsed() < TTL)
            .map(|(a, _)| a.clone())
    }

    pub fn put(&self, account: &Account) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= MAX {
                map.clear();
            }
            map.insert(account.ap_id.clone(), (account.clone(), Instant::now()));
        }
    }

    pub fn forget(&self, ap_id: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(ap_id);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.lock() {
            map.clear();
        }
    }
}
