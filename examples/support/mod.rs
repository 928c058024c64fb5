//! What both benchmark programs share: finding the release server, and reading a process's
//! CPU time and memory from /proc.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::bail;

/// Linux's USER_HZ: the unit of utime/stime in /proc/PID/stat.
pub const CLOCK_TICKS_PER_SEC: f64 = 100.0;

pub fn target_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target")
}

/// The release server binary beside this example (target/release/tidings).
pub fn server_binary() -> anyhow::Result<PathBuf> {
    let beside = std::env::current_exe()?
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tidings"));
    let bin = beside
        .filter(|p| p.is_file())
        .unwrap_or_else(|| target_dir().join("release/tidings"));
    if !bin.is_file() {
        bail!(
            "{} not found: run `cargo build --release --bin tidings` first",
            bin.display()
        );
    }
    let built = std::fs::metadata(&bin)?.modified()?;
    if newest_mtime(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src")).is_some_and(|m| m > built) {
        eprintln!(
            "warning: {} is older than src/: `cargo build --release --bin tidings`",
            bin.display()
        );
    }
    Ok(bin)
}

pub fn newest_mtime(dir: &Path) -> Option<SystemTime> {
    let entries = std::fs::read_dir(dir).ok()?.filter_map(Result::ok);
    entries
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            if meta.is_dir() {
                newest_mtime(&e.path())
            } else {
                meta.modified().ok()
            }
        })
        .max()
}

/// A line of /proc/PID/status in kB (VmRSS, VmHWM).
pub fn proc_status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// User + system CPU seconds a process (or this one, with `None`) has used.
pub fn cpu_seconds(pid: Option<u32>) -> f64 {
    let path = pid.map_or("/proc/self/stat".to_owned(), |p| format!("/proc/{p}/stat"));
    let stat = std::fs::read_to_string(path).unwrap_or_default();
    // Fields after "(comm)": state is field 3, utime 14 and stime 15.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |s| s.1)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / CLOCK_TICKS_PER_SEC
}
