//! The post-run checks of a task's worktree, off the supervisor's loop: commit what the agent
//! left (with Overlord's trailers), list the files the branch changed, look for the expected
//! artifacts and run the acceptance check.

use std::path::Path;
use std::time::Duration;

use super::text::first_line;
use crate::protocol::model::{Agent, Task};

/// The post-run checks of a task's worktree.
#[derive(Debug, Default)]
pub(super) struct Check {
    pub(super) committed: Option<String>,
    /// Files the task's branch changed.
    pub(super) files: Vec<String>,
    pub(super) missing: Vec<String>,
    /// `Some((passed, tail, timed_out))` when an acceptance check ran.
    pub(super) acceptance: Option<(bool, String, bool)>,
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

#[allow(clippy::too_many_arguments)]
/// The post-run checks, in order: commit the leftovers, list the changed files, look for the
/// expected artifacts, run the acceptance check (when there is one).
pub(super) fn run_checks(
    dir: &Path,
    agent: &str,
    task: &Task,
    result: Option<String>,
    acceptance: Option<String>,
    timeout: Duration,
    log: &Path,
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
    if let Some(cmd) = acceptance {
        if let Some(d) = log.parent() {
            let _ = std::fs::create_dir_all(d);
        }
        let env = [
            ("OVERLORD_TASK", task.id.as_str()),
            ("OVERLORD_AGENT", agent),
        ];
        match crate::core::shell::run_with(
            &cmd,
            dir,
            crate::core::shell::Options {
                env: &env,
                timeout: Some(timeout),
                log: Some(log),
                one_pipe: true,
                ..Default::default()
            },
        ) {
            Ok(run) => {
                let passed = run.success();
                let tail = format!("`{cmd}` {}:\n{}", run.describe(), tail_text(&run.tail, 40));
                check.acceptance = Some((passed, tail, run.stopped.is_some()));
            }
            Err(e) => check.error = Some(format!("cannot run the acceptance check `{cmd}`: {e}")),
        }
    }
    check
}

fn tail_text(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
