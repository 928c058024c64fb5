//! The interop tests' peers (the Fedify peer from npm, fediverse-pasture from PyPI, both
//! pinned) install themselves on first use, so the README's test command is all the set-up
//! a fresh machine needs (issue #14, item 12). The install scripts take a file lock
//! (`flock`) and, with `--if-missing`, check again under it: concurrent tests — threads of
//! one test binary or separate processes (nextest) — wait for the first install.

use std::path::Path;
use std::process::Command;

/// Runs `bash dir/install.sh --if-missing` unless `installed()` already holds. Panics, with
/// the script's output, when the install fails.
pub fn ensure(name: &str, dir: &Path, installed: impl Fn() -> bool) {
    if installed() {
        return;
    }
    let script = dir.join("install.sh");
    eprintln!(
        "installing {name} for the federation tests (once): bash {}",
        script.display()
    );
    let out = Command::new("bash")
        .arg(&script)
        .arg("--if-missing")
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash to install {name}: {e}"));
    assert!(
        out.status.success() && installed(),
        "installing {name} failed (bash {}):\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
