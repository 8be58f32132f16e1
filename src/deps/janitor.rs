//! The janitor (seed 002 §4.2): on the branch `[janitor] branch` (default `chore/update-deps`),
//! in its own worktree under `.overlord/janitor/worktree`, each outdated dependency the
//! watchdog finds is updated one at a time, the project's tests run, and the update is
//! committed when they pass and reverted when they fail. What was kept, reverted and skipped
//! (and why) is written to `.overlord/janitor/REPORT.md` and returned.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::{Deserialize, Serialize};

use super::manifest::Ecosystem;
use super::registry::Registries;
use super::watchdog::{scan, Finding, FindingKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Updated, tests green, committed.
    Kept,
    /// Updated, tests red, undone.
    Reverted,
    /// Not attempted or the update itself failed.
    Skipped,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    pub ecosystem: Ecosystem,
    pub name: String,
    pub from: String,
    pub to: String,
    pub outcome: Outcome,
    pub why: String,
    /// The commit on the branch, for a kept update.
    pub commit: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JanitorReport {
    pub branch: String,
    pub worktree: String,
    pub base: String,
    pub updates: Vec<Update>,
    /// Packages the registries could not answer for.
    pub unknown: Vec<String>,
    pub report_file: String,
}

/// What a janitor run needs.
pub struct Janitor<'a> {
    pub root: &'a Path,
    pub overlord_dir: &'a Path,
    pub base: &'a str,
    pub branch: &'a str,
    pub test_command: &'a str,
    pub update_command: &'a str,
    pub registries: &'a Registries,
}

fn sh(dir: &Path, command: &str) -> Result<String, String> {
    let o = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(|e| format!("{command}: {e}"))?;
    let mut text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&o.stderr));
    if o.status.success() {
        Ok(text)
    } else {
        Err(format!("`{command}` exited {}: {}", o.status, tail(&text)))
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let o = Command::new("git")
        .args([
            "-c",
            "user.name=Overlord janitor",
            "-c",
            "user.email=janitor@overlord.invalid",
        ])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if o.status.success() {
        Ok(String::from_utf8_lossy(&o.stdout).trim().to_string())
    } else {
        Err(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr).trim()
        ))
    }
}

/// The last lines of a command's output, for the report.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// The command that moves one dependency to `version`.
fn update_command(template: &str, f: &Finding, manifest: &str, version: &str) -> Option<String> {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
    let template = if template.trim().is_empty() {
        match f.ecosystem {
            Ecosystem::Cargo if manifest.ends_with("Cargo.lock") => {
                "cargo update -p {name} --precise {version}"
            }
            Ecosystem::Cargo => "cargo add {name}@{version}",
            Ecosystem::Npm => "npm install {name}@{version}",
            Ecosystem::PyPI => return None,
        }
    } else {
        template
    };
    Some(
        template
            .replace("{name}", &quote(&f.name))
            .replace("{version}", &quote(version))
            .replace("{manifest}", &quote(manifest))
            .replace("{ecosystem}", f.ecosystem.name()),
    )
}

/// A requirements file's line for `name` rewritten to `==version` (the built-in update for
/// PyPI requirement files).
fn rewrite_requirement(
    dir: &Path,
    manifest: &str,
    name: &str,
    version: &str,
) -> Result<(), String> {
    let path = dir.join(manifest);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{manifest}: {e}"))?;
    let mut changed = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| match super::manifest::pep508(l) {
            Some((n, _)) if n == name => {
                changed = true;
                format!("{name}=={version}")
            }
            _ => l.to_string(),
        })
        .collect();
    if !changed {
        return Err(format!("{manifest}: no line for {name}"));
    }
    std::fs::write(&path, lines.join("\n") + "\n").map_err(|e| format!("{manifest}: {e}"))
}

impl Janitor<'_> {
    /// The worktree on the branch, made (or reset to the branch) for this run.
    fn worktree(&self) -> Result<PathBuf, String> {
        let wt = self.overlord_dir.join("janitor").join("worktree");
        if wt.exists() {
            git(
                self.root,
                &["worktree", "remove", "--force", &wt.to_string_lossy()],
            )
            .or_else(|_| {
                std::fs::remove_dir_all(&wt)
                    .map(|_| String::new())
                    .map_err(|e| e.to_string())
            })?;
            let _ = git(self.root, &["worktree", "prune"]);
        }
        let exists = git(
            self.root,
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &format!("refs/heads/{}", self.branch),
            ],
        )
        .is_ok();
        let wt_s = wt.to_string_lossy().to_string();
        if exists {
            git(
                self.root,
                &["worktree", "add", "--quiet", &wt_s, self.branch],
            )?;
        } else {
            git(
                self.root,
                &[
                    "worktree",
                    "add",
                    "--quiet",
                    "-b",
                    self.branch,
                    &wt_s,
                    self.base,
                ],
            )?;
        }
        Ok(wt)
    }

    pub fn run(&self) -> Result<JanitorReport, String> {
        let wt = self.worktree()?;
        let watch = scan(&wt, self.registries);
        let mut updates = Vec::new();
        let outdated: Vec<&Finding> = watch
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::Outdated)
            .collect();
        for f in outdated {
            updates.push(self.one(&wt, f));
        }
        let report = JanitorReport {
            branch: self.branch.to_string(),
            worktree: wt
                .strip_prefix(self.root)
                .unwrap_or(&wt)
                .to_string_lossy()
                .to_string(),
            base: self.base.to_string(),
            updates,
            unknown: watch.unknown,
            report_file: ".overlord/janitor/REPORT.md".into(),
        };
        let md = markdown(&report);
        let file = self.overlord_dir.join("janitor").join("REPORT.md");
        std::fs::write(&file, md).map_err(|e| format!("{}: {e}", file.display()))?;
        Ok(report)
    }

    /// One update: apply, test, keep or revert.
    fn one(&self, wt: &Path, f: &Finding) -> Update {
        let to = f.latest.clone().unwrap_or_default();
        let mut u = Update {
            ecosystem: f.ecosystem,
            name: f.name.clone(),
            from: f.current.clone(),
            to: to.clone(),
            outcome: Outcome::Skipped,
            why: String::new(),
            commit: None,
        };
        let manifest = f.manifests.first().cloned().unwrap_or_default();
        let applied = match update_command(self.update_command, f, &manifest, &to) {
            Some(cmd) => sh(wt, &cmd).map(|_| ()),
            None if manifest.contains("requirements") => {
                rewrite_requirement(wt, &manifest, &f.name, &to)
            }
            None => Err(format!(
                "no built-in update for {manifest}: set [janitor] update_command"
            )),
        };
        if let Err(e) = applied {
            u.why = format!("the update failed: {e}");
            self.revert(wt);
            return u;
        }
        if git(wt, &["status", "--porcelain"])
            .map(|s| s.is_empty())
            .unwrap_or(true)
        {
            u.why = "the update changed nothing".into();
            return u;
        }
        match sh(wt, self.test_command) {
            Ok(_) => {
                let msg = format!("chore: update {} to {to}", f.name);
                let committed = git(wt, &["add", "-A"])
                    .and_then(|_| git(wt, &["commit", "--quiet", "-m", &msg]))
                    .and_then(|_| git(wt, &["rev-parse", "HEAD"]));
                match committed {
                    Ok(c) => {
                        u.outcome = Outcome::Kept;
                        u.why = "the tests pass".into();
                        u.commit = Some(c);
                    }
                    Err(e) => {
                        u.why = format!("could not be committed: {e}");
                        self.revert(wt);
                    }
                }
            }
            Err(e) => {
                u.outcome = Outcome::Reverted;
                u.why = format!("the tests fail: {e}");
                self.revert(wt);
            }
        }
        u
    }

    fn revert(&self, wt: &Path) {
        let _ = git(wt, &["reset", "--hard", "--quiet"]);
        let _ = git(wt, &["clean", "-fdq"]);
    }
}

/// `.overlord/janitor/REPORT.md`.
pub fn markdown(r: &JanitorReport) -> String {
    let mut s = format!(
        "# Janitor report\n\nBranch `{}` (from `{}`), worktree `{}`.\n\n",
        r.branch, r.base, r.worktree
    );
    if r.updates.is_empty() {
        s.push_str("No outdated dependency was found.\n");
    } else {
        s.push_str("| package | from | to | outcome | why |\n|---|---|---|---|---|\n");
        for u in &r.updates {
            let outcome = match u.outcome {
                Outcome::Kept => "kept",
                Outcome::Reverted => "reverted",
                Outcome::Skipped => "skipped",
            };
            s.push_str(&format!(
                "| {} {} | {} | {} | {outcome} | {} |\n",
                u.ecosystem.registry(),
                u.name,
                u.from,
                u.to,
                u.why.replace('|', "\\|").replace('\n', " ")
            ));
        }
    }
    for x in &r.unknown {
        s.push_str(&format!("\nNot checked: {x}\n"));
    }
    s
}
