//! Time-ordered 64-bit ids, known before insert (so an ActivityPub id can be built from them)
//! and sortable by creation time, like Mastodon's snowflakes: milliseconds since the Unix
//! epoch in the high bits, a per-process sequence (randomly seeded) in the low 16 bits.

use std::sync::atomic::{AtomicU64, Ordering};

static SEQ: AtomicU64 = AtomicU64::new(0);
static SEEDED: std::sync::Once = std::sync::Once::new();

pub fn new_id() -> i64 {
    SEEDED.call_once(|| {
        let mut b = [0u8; 2];
        // Fall back to 0 if the RNG is unavailable; ids stay unique within the process.
        let _ = openssl::rand::rand_bytes(&mut b);
        SEQ.store(u16::from_le_bytes(b) as u64, Ordering::Relaxed);
    });
    let ms = chrono::Utc::now().timestamp_millis().max(0) as u64;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed) & 0xFFFF;
    ((ms << 16) | seq) as i64
}

/// The smallest id that could have been made at `ms` milliseconds after the epoch.
pub fn id_floor_for_millis(ms: i64) -> i64 {
    ms.max(0) << 16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_follow_time() {
        let before = chrono::Utc::now().timestamp_millis();
        let ids: Vec<i64> = (0..10_000).map(|_| new_id()).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), ids.len(), "ids repeat");
        assert!(ids.iter().all(|&id| id >= id_floor_for_millis(before)));
        assert!(ids.iter().all(|&id| id > 0));
    }
}
