//! Records the git commit the server is built from (`CRM_GIT_COMMIT`, shown by `--version` and
//! `/healthz`). A build outside a git checkout (a source tarball) may set `CRM_GIT_COMMIT`
//! itself; otherwise the commit is `unknown`.

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=CRM_GIT_COMMIT");
    let commit = std::env::var("CRM_GIT_COMMIT").ok().filter(|c| !c.trim().is_empty()).or_else(git_commit);
    println!("cargo:rustc-env=CRM_GIT_COMMIT={}", commit.as_deref().unwrap_or("unknown"));
}

/// The checkout's commit, `None` outside git.
fn git_commit() -> Option<String> {
    let git = |args: &[&str]| Command::new("git").args(args).output().ok().filter(|o| o.status.success());
    let dir = String::from_utf8(git(&["rev-parse", "--git-dir"])?.stdout).ok()?;
    let dir = std::path::Path::new(dir.trim());
    // A new commit or checkout changes HEAD or the ref it names.
    println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
    println!("cargo:rerun-if-changed={}", dir.join("refs/heads").display());
    let head = String::from_utf8(git(&["rev-parse", "--short=12", "HEAD"])?.stdout).ok()?;
    Some(head.trim().to_owned())
}
