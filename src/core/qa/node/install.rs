//! Installing a Node project's dependencies in one of Overlord's worktrees (the QA worktree,
//! task worktrees) with the detected package manager. The managers' own shared stores are
//! used (npm's cache, pnpm's content-addressed store, yarn's and bun's caches), so a second
//! worktree installs from them. A stamp in `node_modules` (the manager, package.json and the
//! lockfile) skips an install that would change nothing.

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::pm::{resolve, Resolved};
use super::project::NodeProject;
use crate::core::shell;

const STAMP: &str = "node_modules/.overlord-install";

/// The install as one reported step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstallStep {
    /// The command that ran (or would have).
    pub command: String,
    /// How the package manager was reached (`pnpm 9.15.0 through npx`).
    pub manager: String,
    /// `installed`, `up to date` or `failed`.
    pub outcome: String,
    pub duration_secs: f64,
    /// For a failure: why, with the output's last lines.
    pub message: Option<String>,
}

impl InstallStep {
    pub fn failed(&self) -> bool {
        self.outcome == "failed"
    }

    /// One line for people: `pnpm install --frozen-lockfile: installed in 12.3s (pnpm 9.15.0
    /// through npx)`.
    pub fn line(&self) -> String {
        let mut s = format!(
            "`{}`: {} in {:.1}s ({})",
            self.command, self.outcome, self.duration_secs, self.manager
        );
        if let Some(m) = &self.message {
            s.push_str(&format!(": {m}"));
        }
        s
    }
}

/// Where an install runs and what it may use.
pub struct InstallOptions<'a> {
    pub timeout: Option<Duration>,
    pub cancel: Option<&'a AtomicBool>,
    /// The whole output goes here.
    pub log: Option<&'a Path>,
}

/// `PATH` with the shim (when there is one) and the worktree's `node_modules/.bin` first.
pub fn path_with(resolved: Option<&Resolved>, dir: &Path) -> String {
    let mut parts = Vec::new();
    if let Some(s) = resolved.and_then(|r| r.shim_dir.as_ref()) {
        parts.push(s.to_string_lossy().to_string());
    }
    parts.push(dir.join("node_modules/.bin").to_string_lossy().to_string());
    if let Ok(p) = std::env::var("PATH") {
        parts.push(p);
    }
    parts.join(":")
}

fn stamp_of(project: &NodeProject, dir: &Path) -> String {
    let mut h = Sha256::new();
    h.update(project.pm.spec());
    h.update(std::fs::read(dir.join("package.json")).unwrap_or_default());
    if let Some(l) = &project.pm.lockfile {
        h.update(std::fs::read(dir.join(l)).unwrap_or_default());
    }
    hex::encode(h.finalize())
}

/// Installs the dependencies of `project` in `dir` with the package manager as `resolved`
/// reached it; `None` when there is nothing to install. The step says how long it took and,
/// when it failed, why (a package manager that cannot be had is a failed install too).
pub fn install(
    project: &NodeProject,
    dir: &Path,
    resolved: &Result<Resolved, String>,
    opts: &InstallOptions<'_>,
) -> Option<InstallStep> {
    if !project.has_dependencies() {
        return None;
    }
    let started = std::time::Instant::now();
    let command = project.pm.install_command();
    let resolved = match resolved {
        Ok(r) => r,
        Err(why) => {
            return Some(InstallStep {
                command,
                manager: project.pm.spec(),
                outcome: "failed".into(),
                duration_secs: started.elapsed().as_secs_f64(),
                message: Some(why.clone()),
            })
        }
    };
    let stamp = stamp_of(project, dir);
    let step = |outcome: &str, message: Option<String>| InstallStep {
        command: command.clone(),
        manager: resolved.how.clone(),
        outcome: outcome.to_string(),
        duration_secs: started.elapsed().as_secs_f64(),
        message,
    };
    if std::fs::read_to_string(dir.join(STAMP)).is_ok_and(|s| s.trim() == stamp) {
        return Some(step("up to date", None));
    }
    let path = path_with(Some(resolved), dir);
    let env = [
        ("PATH", path.as_str()),
        ("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0"),
        ("npm_config_update_notifier", "false"),
    ];
    let ran = shell::run_with(
        &command,
        dir,
        shell::Options {
            env: &env,
            timeout: opts.timeout,
            log: opts.log,
            cancel: opts.cancel,
            ..shell::Options::default()
        },
    );
    Some(match ran {
        Ok(r) if r.success() => {
            let _ = std::fs::write(dir.join(STAMP), &stamp);
            step("installed", None)
        }
        Ok(r) => step(
            "failed",
            Some(format!("{}: {}", r.describe(), r.tail_lines(5))),
        ),
        Err(e) => step("failed", Some(format!("cannot start: {e}"))),
    })
}

/// A fresh task worktree's dependencies (no `setup_command` configured): the package
/// manager reached and the install run; an error names the failed install.
pub fn install_worktree(root: &Path, dir: &Path, timeout: Option<Duration>) -> Result<(), String> {
    let Some(project) = NodeProject::read_dir(dir) else {
        return Ok(());
    };
    if !project.has_dependencies() {
        return Ok(());
    }
    let shims = root.join(".overlord/cache/node-bin");
    let resolved = resolve(&project.pm, dir, &shims);
    let opts = InstallOptions {
        timeout,
        cancel: None,
        log: None,
    };
    match install(&project, dir, &resolved, &opts) {
        Some(s) if s.failed() => Err(format!("the dependency install failed: {}", s.line())),
        _ => Ok(()),
    }
}
