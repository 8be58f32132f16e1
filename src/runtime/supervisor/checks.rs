//! The post-run checks of a task's worktree, off the supervisor's loop: commit what the agent
//! left (with Overlord's trailers), list the files the branch changed, look for the expected
//! artifacts, run the project's acceptance check and the task's acceptance commands (seed
//! 003), and classify a failure for its branch todo (with the branch's diff as diagnostics).

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::text::first_line;
use crate::core::shell::{ShellRun, Stopped};
use crate::protocol::model::{AcceptanceCheck, Agent, Expect, Task};

/// The post-run checks of a task's worktree.
#[derive(Debug, Default)]
pub(super) struct Check {
    pub(super) committed: Option<String>,
    /// Files the task's branch changed.
    pub(super) files: Vec<String>,
    pub(super) missing: Vec<String>,
    /// The first acceptance command that failed, when one did.
    pub(super) failure: Option<AcceptanceFailure>,
    pub(super) error: Option<String>,
    /// The agent's final answer.
    pub(super) result: Option<String>,
}

/// Commits what the agent left uncommitted (with Overlord's trailers); returns the commit.
fn commit_leftovers(
    dir: &Path,
    agent: &str,
    task: &Task,
    result: Option<&str>,
) -> Result<Option<String>, String> {
    let repo = git2::Repository::open(dir).map_err(|e| e.message().to_string())?;
    on_task_branch(&repo, task)?;
    let mut index = repo.index().map_err(|e| e.message().to_string())?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .and_then(|_| index.update_all(["*"], None))
        .and_then(|_| index.write())
        .map_err(|e| e.message().to_string())?;
    let tree = index.write_tree().map_err(|e| e.message().to_string())?;
    let head = repo
        .head()
        .and_then(|h| h.peel_to_commit())
        .map_err(|e| e.message().to_string())?;
    if head.tree_id() == tree {
        return Ok(None);
    }
    let mut message = format!("{}: {}\n", task.id, task.title);
    if let Some(r) = result.map(|r| first_line(r, 300)).filter(|r| !r.is_empty()) {
        message.push_str(&format!("\n{r}\n"));
    }
    message.push_str(&format!(
        "\nOverlord-Task: {}\nOverlord-Agent: {agent}\nOverlord-Role: {}\n",
        task.id,
        task.role.title()
    ));
    let author = crate::git::signature(Some(task.role)).map_err(|e| e.to_string())?;
    let committer = crate::git::signature(None).map_err(|e| e.to_string())?;
    let tree = repo.find_tree(tree).map_err(|e| e.message().to_string())?;
    let oid = repo
        .commit(Some("HEAD"), &author, &committer, &message, &tree, &[&head])
        .map_err(|e| e.message().to_string())?;
    Ok(Some(oid.to_string()))
}

/// The agent may write its worktree's `.git` file and admin folder (its `HEAD`): Overlord,
/// which commits unconfined, commits only in a linked worktree on the task's own branch (a
/// fix task's: its parent's), never on `main` or another branch the agent pointed it at.
fn on_task_branch(repo: &git2::Repository, task: &Task) -> Result<(), String> {
    let head = repo
        .find_reference("HEAD")
        .ok()
        .and_then(|h| h.symbolic_target().map(str::to_string))
        .unwrap_or_default();
    let ours = std::iter::once(&task.id)
        .chain(task.parent_id.as_ref())
        .any(|t| head.starts_with("refs/heads/session/") && head.ends_with(&format!("/task/{t}")));
    if repo.is_worktree() && ours {
        Ok(())
    } else {
        Err(format!(
            "the worktree is not on task {}'s branch (its HEAD: {}): nothing was committed",
            task.id,
            if head.is_empty() { "detached" } else { &head }
        ))
    }
}

/// Files the worktree's branch changed since it left `base`.
fn changed_files(dir: &Path, base: Option<&str>) -> Vec<String> {
    let Some(base) = base else { return Vec::new() };
    let Ok(repo) = git2::Repository::open(dir) else {
        return Vec::new();
    };
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let base = repo
        .revparse_single(base)
        .ok()
        .and_then(|o| o.peel_to_commit().ok());
    let (Some(head), Some(base)) = (head, base) else {
        return Vec::new();
    };
    let Ok(mb) = repo.merge_base(head.id(), base.id()) else {
        return Vec::new();
    };
    let (Ok(old), Ok(new)) = (repo.find_commit(mb).and_then(|c| c.tree()), head.tree()) else {
        return Vec::new();
    };
    let Ok(diff) = repo.diff_tree_to_tree(Some(&old), Some(&new), None) else {
        return Vec::new();
    };
    diff.deltas()
        .filter_map(|d| d.new_file().path().map(|p| p.display().to_string()))
        .take(Agent::MAX_FILES)
        .collect()
}

/// How an acceptance command failed; with the task's open concerns it decides seed 003's
/// failure class and so who gets the branch todo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FailureKind {
    /// It ended, twice, without what was expected.
    Failed,
    /// The shell could not find or run it (exit 127 or 126): the worktree lacks what the
    /// criterion names.
    Missing,
    /// Stopped at its deadline.
    TimedOut,
    /// It failed, then passed when run again at once.
    Flaky,
}

/// A failed acceptance command, with the diagnostics its branch todo gets.
#[derive(Debug, Clone)]
pub(super) struct AcceptanceFailure {
    pub(super) kind: FailureKind,
    /// The criterion, the command, how it ended and the tail of its output.
    pub(super) report: String,
    /// The branch's changes against its base: the stat and a bounded patch.
    pub(super) diff: String,
}

/// The acceptance commands of a run: the project's check (`[agents] acceptance_command`),
/// then the task's criteria with a command, each with its deadline; logs go to `log_dir`.
pub(super) struct AcceptancePlan {
    pub(super) project: Option<String>,
    pub(super) project_timeout: Duration,
    pub(super) checks: Vec<AcceptanceCheck>,
    pub(super) timeout: Duration,
    pub(super) log_dir: PathBuf,
}

/// The post-run checks, in order: commit the leftovers, list the changed files, look for the
/// expected artifacts, run the acceptance commands (the first failure stops them).
pub(super) fn run_checks(
    dir: &Path,
    agent: &str,
    task: &Task,
    result: Option<String>,
    acceptance: AcceptancePlan,
    base: Option<String>,
) -> Check {
    let mut check = Check {
        result: result.clone(),
        ..Check::default()
    };
    match commit_leftovers(dir, agent, task, result.as_deref()) {
        Ok(c) => check.committed = c,
        Err(e) => {
            check.error = Some(format!("cannot commit the agent's work: {e}"));
            return check;
        }
    }
    check.files = changed_files(dir, base.as_deref());
    check.missing = task
        .expected_artifacts
        .iter()
        .filter(|a| !a.trim().is_empty() && !a.contains('*'))
        .filter(|a| !dir.join(a.trim()).exists())
        .cloned()
        .collect();
    if !check.missing.is_empty() {
        return check;
    }
    let _ = std::fs::create_dir_all(&acceptance.log_dir);
    let project = acceptance.project.map(|command| {
        let check = AcceptanceCheck {
            description: "the project's acceptance check".to_string(),
            command,
            expect: None,
        };
        (
            check,
            acceptance.project_timeout,
            format!("{}-check", task.id),
        )
    });
    let criteria = acceptance.checks.into_iter().enumerate().map(|(i, c)| {
        (
            c,
            acceptance.timeout,
            format!("{}-criterion-{}", task.id, i + 1),
        )
    });
    let env = [
        ("OVERLORD_TASK", task.id.as_str()),
        ("OVERLORD_AGENT", agent),
    ];
    for (criterion, timeout, log) in project.into_iter().chain(criteria) {
        match run_criterion(dir, &criterion, &env, timeout, &acceptance.log_dir, &log) {
            Ok(None) => {}
            Ok(Some((kind, report))) => {
                check.failure = Some(AcceptanceFailure {
                    kind,
                    report,
                    diff: branch_diff(dir, base.as_deref()),
                });
                break;
            }
            Err(e) => {
                check.error = Some(format!(
                    "cannot run the acceptance command `{}`: {e}",
                    criterion.command
                ));
                break;
            }
        }
    }
    check
}

/// One acceptance command, run again once when it fails (not when it timed out or was not
/// found) to tell a flaky one: `None` when it passes, else how it failed and the report.
fn run_criterion(
    dir: &Path,
    c: &AcceptanceCheck,
    env: &[(&str, &str)],
    timeout: Duration,
    log_dir: &Path,
    log: &str,
) -> std::io::Result<Option<(FailureKind, String)>> {
    let (passed, run) = run_once(dir, c, env, timeout, &log_dir.join(format!("{log}.log")))?;
    if passed {
        return Ok(None);
    }
    let code = run.status.and_then(|s| s.code());
    let kind = if run.stopped == Some(Stopped::TimedOut) {
        FailureKind::TimedOut
    } else if matches!(code, Some(126 | 127)) {
        FailureKind::Missing
    } else {
        let rerun_log = log_dir.join(format!("{log}-rerun.log"));
        let (again, _) = run_once(dir, c, env, timeout, &rerun_log)?;
        if again {
            FailureKind::Flaky
        } else {
            FailureKind::Failed
        }
    };
    let expect = c
        .expect
        .as_ref()
        .map_or_else(|| "exit 0".to_string(), |e| e.to_string());
    let mut report = format!(
        "Acceptance criterion: {}\nCommand: `{}` (expected {expect}), run in the worktree: {}",
        c.description,
        c.command,
        run.describe()
    );
    if kind == FailureKind::Flaky {
        report.push_str(" — then it passed when run again: the result is not deterministic");
    }
    report.push_str(&format!(
        "\nOutput (last lines):\n{}",
        match tail_text(&run.tail, 40) {
            t if t.trim().is_empty() => "(no output)".to_string(),
            t => t,
        }
    ));
    Ok(Some((kind, report)))
}

/// Runs the command once (output logged to `log`): whether it passed, and the run.
fn run_once(
    dir: &Path,
    c: &AcceptanceCheck,
    env: &[(&str, &str)],
    timeout: Duration,
    log: &Path,
) -> std::io::Result<(bool, ShellRun)> {
    // Text to find is looked for line by line too, so output longer than the kept tail
    // still counts.
    let mut seen = false;
    let mut on_line = |line: &str| {
        if let Some(Expect::Contains(t)) = &c.expect {
            seen |= line.contains(t.as_str());
        }
    };
    let run = crate::core::shell::run_with(
        &c.command,
        dir,
        crate::core::shell::Options {
            env,
            timeout: Some(timeout),
            log: Some(log),
            one_pipe: true,
            on_line: Some(&mut on_line),
            ..Default::default()
        },
    )?;
    let code = run.status.and_then(|s| s.code());
    let passed = match &c.expect {
        Some(Expect::Contains(_)) if seen => code == Some(0),
        e => Expect::passes(e.as_ref(), code, &run.tail),
    };
    Ok((passed, run))
}

/// The branch's changes since it left `base`: `git diff --stat` and the patch, cut at a
/// bound so a large change does not flood the branch todo.
fn branch_diff(dir: &Path, base: Option<&str>) -> String {
    const PATCH_MAX: usize = 12 * 1024;
    let Some(base_name) = base else {
        return String::new();
    };
    let Ok(repo) = git2::Repository::open(dir) else {
        return String::new();
    };
    let render = || -> Result<String, git2::Error> {
        let head = repo.head()?.peel_to_commit()?;
        let base = repo.revparse_single(base_name)?.peel_to_commit()?;
        let mb = repo.merge_base(head.id(), base.id())?;
        let old = repo.find_commit(mb)?.tree()?;
        let diff = repo.diff_tree_to_tree(Some(&old), Some(&head.tree()?), None)?;
        let stats = diff.stats()?.to_buf(git2::DiffStatsFormat::FULL, 80)?;
        let mut out = format!(
            "Changes of this branch against {base_name}:\n{}",
            String::from_utf8_lossy(&stats)
        );
        let mut patch = String::new();
        let mut cut = false;
        diff.print(git2::DiffFormat::Patch, |_, _, line| {
            if patch.len() >= PATCH_MAX {
                cut = true;
                return false;
            }
            if matches!(line.origin(), '+' | '-' | ' ') {
                patch.push(line.origin());
            }
            patch.push_str(&String::from_utf8_lossy(line.content()));
            true
        })
        .or_else(|e| if cut { Ok(()) } else { Err(e) })?;
        out.push('\n');
        out.push_str(&patch);
        if cut {
            out.push_str(&format!("\n… (patch cut at {} KiB)\n", PATCH_MAX / 1024));
        }
        Ok(out)
    };
    render().unwrap_or_default()
}

fn tail_text(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
