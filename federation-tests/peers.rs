//! The interop tests' peers (the Fedify peer from npm, fediverse-pasture from PyPI, both
//! pinned) install themselves on first use, so the README's test command is all the set-up
//! a fresh machine needs (issue #14, item 12). The install runs once: a file lock makes
//! concurrent tests — threads of one test binary or separate processes (nextest) — wait for
//! the first, and each checks again after taking the lock.

use std::fs::File;
use std::path::Path;
use std::process::Command;

/// Runs `script` (bash) unless `installed()` already holds, under a lock on
/// `dir/.install.lock`. Panics, on one line plus the script's output, when it fails.
pub fn ensure(name: &str, dir: &Path, script: &str, installed: impl Fn() -> bool) {
    if installed() {
        return;
    }
    let lock = File::create(dir.join(".install.lock"))
        .unwrap_or_else(|e| panic!("cannot create the install lock of {name}: {e}"));
    lock.lock()
        .unwrap_or_else(|e| panic!("cannot lock the install of {name}: {e}"));
    if installed() {
        return;
    }
    eprintln!("installing {name} for the federation tests (once): bash {script}");
    let out = Command::new("bash")
        .arg(dir.join(script))
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash to install {name}: {e}"));
    assert!(
        out.status.success() && installed(),
        "installing {name} failed (bash {}):\n{}\n{}",
        dir.join(script).display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The lock is released when `lock` is dropped.
}
