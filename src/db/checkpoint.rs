//! SQLite: the WAL is copied back into the database file by a thread of its own.
//!
//! By default SQLite checkpoints inside the COMMIT that takes the WAL past 1,000 pages,
//! on the committing thread. Under a steady stream of writes that thread is the inbox's
//! one writer, and checkpoints took about an eighth of its time. Here a background thread
//! runs a PASSIVE checkpoint (it never waits for readers or writers) every
//! [`INTERVAL`], and connections only checkpoint themselves when the WAL has grown past
//! [`FALLBACK_PAGES`], should this thread fall behind.

use std::sync::{Arc, Weak};
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::r2d2::ManageConnection;

use super::Manager;

/// How often the WAL is checkpointed.
pub const INTERVAL: Duration = Duration::from_millis(500);

/// `wal_autocheckpoint` of every connection: past this many pages (about 64 MB) a commit
/// checkpoints by itself, as SQLite does by default at 1,000.
pub const FALLBACK_PAGES: u32 = 16_000;

/// Kept by every clone of the database handle; the thread ends once all are gone.
pub struct Alive;

/// Starts the checkpoint thread; it runs while the returned handle (or a clone) lives.
pub fn start(manager: &Manager) -> anyhow::Result<Arc<Alive>> {
    let mut conn = manager.connect()?;
    let alive = Arc::new(Alive);
    let weak: Weak<Alive> = Arc::downgrade(&alive);
    std::thread::Builder::new()
        .name("sqlite-checkpoint".into())
        .spawn(move || {
            // Checkpoints failing in a row (a database gone read-only): wait longer after
            // each, up to a minute, rather than logging twice a second.
            let mut failures: u32 = 0;
            loop {
                let wait = INTERVAL
                    .saturating_mul(1u32 << failures.min(7))
                    .min(Duration::from_secs(60));
                std::thread::sleep(wait);
                if weak.upgrade().is_none() {
                    return;
                }
                match conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    Ok(()) => failures = 0,
                    Err(e) => {
                        failures = failures.saturating_add(1);
                        tracing::warn!(error = %e, failures, "WAL checkpoint failed");
                    }
                }
            }
        })?;
    Ok(alive)
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use diesel::connection::SimpleConnection;

    use crate::db::Db;

    /// Without any commit large enough to checkpoint by itself, what is written reaches the
    /// database file (not only the WAL) soon after: the background checkpoint ran.
    #[test]
    fn the_wal_is_copied_into_the_database_file_in_the_background() {
        let dir = std::env::temp_dir().join(format!("tidings-ckpt-{}", crate::db::ids::new_id()));
        let path = dir.join("t.db");
        let db = Db::connect(&format!("sqlite://{}", path.display()), 2).unwrap();
        let mut conn = db.pool.get().unwrap();
        conn.batch_execute("CREATE TABLE filler (x BLOB)").unwrap();
        std::thread::sleep(super::INTERVAL * 2);
        let before = std::fs::metadata(&path).unwrap().len();
        // About 2 MB: far below the pages at which a commit would checkpoint itself.
        conn.batch_execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) \
             INSERT INTO filler SELECT randomblob(1000) FROM n",
        )
        .unwrap();
        assert!((2_000 * 1_000 / 4_096) < super::FALLBACK_PAGES as u64);
        let started = Instant::now();
        let grown = loop {
            let now = std::fs::metadata(&path).unwrap().len();
            if now >= before + 2_000_000 || started.elapsed() > std::time::Duration::from_secs(10) {
                break now;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        drop(conn);
        drop(db);
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            grown >= before + 2_000_000,
            "the database file stayed at {grown} bytes (was {before})"
        );
    }
}
