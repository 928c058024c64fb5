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

/// A key fetch that failed (the actor could not be had, or does not publish the key) is
/// not tried again for this long: the request is refused without a fetch.
pub const FAILED_KEY_FETCH_TTL: Duration = Duration::from_secs(5 * 60);

/// A known actor whose signature does not verify with its stored key is fetched again
/// (its key may have rotated) at most once in this long.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Key fetches (new signers and refetches) at most to one host in [`HOST_WINDOW`]: room
/// for a busy server's burst of new accounts (the federation benchmark's warm-up brings
/// 100 at once), while a requester naming key ids on someone else's server makes us send
/// at most two GETs a second there.
pub const HOST_KEY_FETCHES: u32 = 120;
pub const HOST_WINDOW: Duration = Duration::from_secs(60);

/// Key URLs and hosts remembered at most; expired entries go first when full.
const MAX_TRACKED: usize = 16_384;

#[derive(Default)]
pub struct SignerCache {
    inner: Mutex<Inner>,
    fetches: Mutex<Fetches>,
}

/// What the inbox's key fetches did lately, so that unsigned or badly signed requests
/// cannot make it send a GET each (issue #12, defect 8).
#[derive(Default)]
struct Fetches {
    /// Actor URL → when it was last fetched for a key, and whether that gave the key.
    urls: HashMap<String, (Instant, bool)>,
    /// Host → start of its current window, and the fetches made in it.
    hosts: HashMap<String, (Instant, u32)>,
}

/// Whether the inbox may fetch a signer's actor now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFetch {
    Allowed,
    /// The last fetch of this URL failed less than [`FAILED_KEY_FETCH_TTL`] ago.
    RecentlyFailed,
    /// This known actor was fetched less than [`REFETCH_INTERVAL`] ago.
    RecentlyFetched,
    /// [`HOST_KEY_FETCHES`] fetches to this host in the current [`HOST_WINDOW`].
    HostLimit,
}

#[derive(Default)]
struct Inner {
    /// Key id → the account that published it, the key's PEM, when it verified.
    accounts: HashMap<String, (Account, String, Instant)>,
    /// Counts invalidations. A request reads it before it looks its signer up, and its
    /// `put` is dropped if an invalidation came in between: otherwise an account read
    /// before a suspension could be put back after the cache was emptied.
    generation: u64,
}

impl SignerCache {
    /// The account that published the key `key_id`, and the key, if a request signed
    /// with it verified within [`TTL`].
    pub fn get(&self, key_id: &str) -> Option<(Account, String)> {
        let inner = self.inner.lock().ok()?;
        inner
            .accounts
            .get(key_id)
            .filter(|(_, _, at)| at.elapsed() < TTL)
            .map(|(a, pem, _)| (a.clone(), pem.clone()))
    }

    /// To read before looking a signer up, and to give to [`SignerCache::put`].
    pub fn generation(&self) -> u64 {
        self.inner.lock().map(|i| i.generation).unwrap_or(u64::MAX)
    }

    /// Keeps `account` and its key `pem` under `key_id`, unless the cache was
    /// invalidated since `generation` was read.
    pub fn put(&self, key_id: &str, account: &Account, pem: &str, generation: u64) {
        if let Ok(mut inner) = self.inner.lock() {
            if inner.generation != generation {
                return;
            }
            if inner.accounts.len() >= MAX {
                inner.accounts.clear();
            }
            inner.accounts.insert(
                key_id.to_owned(),
                (account.clone(), pem.to_owned(), Instant::now()),
            );
        }
    }

    /// Forgets every key of the actor `ap_id`.
    pub fn forget(&self, ap_id: &str) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.accounts.retain(|_, (a, _, _)| a.ap_id != ap_id);
            inner.generation += 1;
        }
    }

    /// Asks to fetch the actor at `url` (on `host`) for its key; `known` when the actor is
    /// stored and its stored key failed. When allowed, the fetch is counted against the
    /// host and remembered (as successful until [`SignerCache::key_fetched`] says not).
    pub fn may_fetch_key(&self, url: &str, host: &str, known: bool) -> KeyFetch {
        self.may_fetch_key_at(url, host, known, Instant::now())
    }

    fn may_fetch_key_at(&self, url: &str, host: &str, known: bool, now: Instant) -> KeyFetch {
        let Ok(mut f) = self.fetches.lock() else {
            return KeyFetch::HostLimit;
        };
        if let Some((at, ok)) = f.urls.get(url) {
            let age = now.saturating_duration_since(*at);
            if !ok && age < FAILED_KEY_FETCH_TTL {
                return KeyFetch::RecentlyFailed;
            }
            if known && age < REFETCH_INTERVAL {
                return KeyFetch::RecentlyFetched;
            }
        }
        if f.hosts.len() >= MAX_TRACKED {
            f.hosts
                .retain(|_, (start, _)| now.saturating_duration_since(*start) < HOST_WINDOW);
            if f.hosts.len() >= MAX_TRACKED {
                f.hosts.clear();
            }
        }
        let window = f.hosts.entry(host.to_owned()).or_insert((now, 0));
        if now.saturating_duration_since(window.0) >= HOST_WINDOW {
            *window = (now, 0);
        }
        if window.1 >= HOST_KEY_FETCHES {
            return KeyFetch::HostLimit;
        }
        window.1 += 1;
        if f.urls.len() >= MAX_TRACKED {
            let keep = FAILED_KEY_FETCH_TTL.max(REFETCH_INTERVAL);
            f.urls
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < keep);
            if f.urls.len() >= MAX_TRACKED {
                f.urls.clear();
            }
        }
        f.urls.insert(url.to_owned(), (now, true));
        KeyFetch::Allowed
    }

    /// Records how the fetch allowed by [`SignerCache::may_fetch_key`] ended.
    pub fn key_fetched(&self, url: &str, ok: bool) {
        if let Ok(mut f) = self.fetches.lock()
            && let Some(entry) = f.urls.get_mut(url)
        {
            entry.1 = ok;
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
            approved: true,
            signup_reason: None,
            email: None,
            locale: None,
            silenced_at: None,
            disabled_at: None,
            invite_id: None,
        }
    }

    #[test]
    fn key_fetches_are_limited_per_url_and_host() {
        let cache = SignerCache::default();
        let t0 = Instant::now();
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        let url = "https://h.example/users/a";

        // A failed fetch is not repeated within the TTL, then it is.
        assert_eq!(
            cache.may_fetch_key_at(url, "h.example", false, t0),
            KeyFetch::Allowed
        );
        cache.key_fetched(url, false);
        assert_eq!(
            cache.may_fetch_key_at(url, "h.example", false, at(60)),
            KeyFetch::RecentlyFailed
        );
        let later = t0 + FAILED_KEY_FETCH_TTL;
        assert_eq!(
            cache.may_fetch_key_at(url, "h.example", false, later),
            KeyFetch::Allowed
        );
        cache.key_fetched(url, true);

        // A known actor is refetched once per interval.
        assert_eq!(
            cache.may_fetch_key_at(url, "h.example", true, later + Duration::from_secs(1)),
            KeyFetch::RecentlyFetched
        );
        assert_eq!(
            cache.may_fetch_key_at(url, "h.example", true, later + REFETCH_INTERVAL),
            KeyFetch::Allowed
        );

        // Distinct URLs on one host: at most HOST_KEY_FETCHES per window; other hosts
        // are not affected; the next window allows again.
        let host = "busy.example";
        let allowed = (0..HOST_KEY_FETCHES + 100)
            .filter(|i| {
                cache.may_fetch_key_at(&format!("https://{host}/k/{i}"), host, false, at(1))
                    == KeyFetch::Allowed
            })
            .count();
        assert_eq!(allowed, HOST_KEY_FETCHES as usize);
        assert_eq!(
            cache.may_fetch_key_at("https://other.example/k", "other.example", false, at(1)),
            KeyFetch::Allowed
        );
        let next = at(1) + HOST_WINDOW;
        assert_eq!(
            cache.may_fetch_key_at(&format!("https://{host}/k/x"), host, false, next),
            KeyFetch::Allowed
        );
    }

    #[test]
    fn a_signer_read_before_an_invalidation_is_not_put_back() {
        let cache = SignerCache::default();
        let a = account("https://x.example/users/a");
        let (k1, k2) = (
            "https://x.example/users/a#main-key",
            "https://x.example/users/a#k2",
        );
        let before = cache.generation();
        cache.put(k1, &a, "PEM1", before);
        cache.put(k2, &a, "PEM2", before);
        assert_eq!(cache.get(k1).map(|(_, pem)| pem).as_deref(), Some("PEM1"));
        assert_eq!(cache.get(k2).map(|(_, pem)| pem).as_deref(), Some("PEM2"));

        // A request read the account, then a suspension emptied the cache.
        let seen = cache.generation();
        cache.clear();
        cache.put(k1, &a, "PEM1", seen);
        assert!(cache.get(k1).is_none());

        // The same after the actor's own Update or Delete, which forgets all its keys.
        cache.put(k1, &a, "PEM1", cache.generation());
        cache.put(k2, &a, "PEM2", cache.generation());
        let seen = cache.generation();
        cache.forget(&a.ap_id);
        assert!(cache.get(k1).is_none() && cache.get(k2).is_none());
        cache.put(k1, &a, "PEM1", seen);
        assert!(cache.get(k1).is_none());

        cache.put(k1, &a, "PEM1", cache.generation());
        assert!(cache.get(k1).is_some());
    }
}
