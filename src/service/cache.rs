//! A micro-cache for the lists everyone reads (front page, tag pages, profiles).
//!
//! An entry lives at most [`TTL`] and is dropped as soon as this process commits any
//! write, so a person always sees their own change at once. Writes made by *other*
//! processes sharing a PostgreSQL database show within [`TTL`]. The cache is safe to lose:
//! it holds only copies of what the database says.

use std::any::Any;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::db::write_generation;

pub const TTL: Duration = Duration::from_secs(1);
const MAX_ENTRIES: usize = 1024;

struct Entry {
    at: Instant,
    generation: u64,
    value: Arc<dyn Any + Send + Sync>,
}

#[derive(Default)]
pub struct ListCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl ListCache {
    /// The cached value for `key`, if fresh: shared, not copied (a page of stories is
    /// tens of kilobytes of strings; copying it was a tenth of a cached page's CPU).
    pub fn get<T: Send + Sync + 'static>(&self, key: &str) -> Option<Arc<T>> {
        let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let e = map.get(key)?;
        if e.generation != write_generation() || e.at.elapsed() > TTL {
            return None;
        }
        e.value.clone().downcast::<T>().ok()
    }

    /// Stores a value read at `generation` (taken before the read, so a write that lands
    /// during the read makes the entry stale at once).
    pub fn put<T: Send + Sync + 'static>(&self, key: String, generation: u64, value: Arc<T>) {
        let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            let now = write_generation();
            map.retain(|_, e| e.generation == now && e.at.elapsed() <= TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(
            key,
            Entry {
                at: Instant::now(),
                generation,
                value,
            },
        );
    }
}

/// Reads through the cache: `load` runs only on a miss.
pub async fn cached<T, F, Fut>(
    cache: &ListCache,
    key: String,
    load: F,
) -> Result<Arc<T>, crate::error::AppError>
where
    T: Send + Sync + 'static,
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, crate::error::AppError>>,
{
    if let Some(v) = cache.get::<T>(&key) {
        return Ok(v);
    }
    let generation = write_generation();
    let v = Arc::new(load().await?);
    cache.put(key, generation, v.clone());
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_expire_on_writes() {
        let c = ListCache::default();
        c.put("k".into(), write_generation(), Arc::new(7u32));
        assert_eq!(c.get::<u32>("k").as_deref(), Some(&7));
        assert_eq!(c.get::<String>("k"), None, "typed");
        crate::db::WRITE_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Release);
        assert_eq!(c.get::<u32>("k"), None);
    }
}
