//! Task worktrees: each task works in `.overlord/worktrees/<task>` on its own branch
//! `session/<session>/task/<task>`, set up by copying configured files (such as `.env`) and
//! running a configured command. Pruning never deletes uncommitted work: a dirty worktree is
//! refused with the list of files, for the caller to raise as a concern.

use std::path::{Path, PathBuf};
use std::time::Duration;

use git2::{BranchType, Repository, StatusOptions, WorktreeAddOptions, WorktreePruneOptions};

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("'{0}' cannot be part of a branch name (letters, digits, '.', '_' and '-' only; no '..', no leading '-' or '.', no '.lock' ending)")]
    BadName(String),
    #[error("the repository has no commits yet: commit something before starting tasks")]
    NoCommits,
    #[error("unknown base revision '{0}'")]
    UnknownBase(String),
    #[error("{path} exists and is not task {task}'s worktree; move it away first")]
    PathTaken { path: String, task: String },
    #[error("the worktree of task {task} has uncommitted work ({}); nothing was removed", .files.join(", "))]
    Uncommitted { task: String, files: Vec<String> },
    #[error("task {0} has no worktree")]
    NoWorktree(String),
    #[error("set-up of task {task}'s worktree failed: {message}")]
    Setup { task: String, message: String },
    #[error("{0}")]
    Git(String),
}

fn git(e: git2::Error) -> WorktreeError {
    WorktreeError::Git(e.message().to_string())
}

/// How a fresh worktree is prepared (`[worktrees]` in `.overlord/config.toml`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Setup {
    /// Files copied from the main work tree when present (e.g. `.env`).
    pub copy: Vec<String>,
    /// A shell command run in the new worktree (e.g. `npm ci`).
    pub command: Option<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskWorktree {
    pub task: String,
    pub branch: String,
    pub path: PathBuf,
    /// Whether this call created it (false: it was already there).
    pub created: bool,
}

/// One component of a branch name: what `git check-ref-format` accepts, narrowed to names
/// that are safe in paths and terminals.
pub fn check_component(name: &str) -> Result<(), WorktreeError> {
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !name.starts_with(['-', '.'])
        && !name.contains("..")
        && !name.ends_with(".lock")
        && !name.ends_with('.');
    if ok {
        Ok(())
    } else {
        Err(WorktreeError::BadName(name.escape_debug().to_string()))
    }
}

pub fn branch_name(session: &str, task: &str) -> Result<String, WorktreeError> {
    check_component(session)?;
    check_component(task)?;
    Ok(format!("session/{session}/task/{task}"))
}

pub fn worktree_path(root: &Path, task: &str) -> PathBuf {
    root.join(".overlord").join("worktrees").join(task)
}

/// The name git keeps the worktree under (`.git/worktrees/<name>`).
fn worktree_name(session: &str, task: &str) -> String {
    format!("{session}-{task}")
}

/// Creates (or finds) the worktree of `task`, branching from `base` when the branch is new.
pub fn create(
    repo: &Repository,
    root: &Path,
    session: &str,
    task: &str,
    base: &str,
    setup: &Setup,
) -> Result<TaskWorktree, WorktreeError> {
    let branch = branch_name(session, task)?;
    let path = worktree_path(root, task);
    if repo.head().ok().and_then(|h| h.target()).is_none() {
        return Err(WorktreeError::NoCommits);
    }
    if path.exists() {
        // Ours if it is a worktree on the task's branch.
        if let Ok(wt_repo) = Repository::open(&path) {
            let on_branch = wt_repo
                .head()
                .ok()
                .and_then(|h| h.shorthand().map(str::to_string));
            if wt_repo.is_worktree() && on_branch.as_deref() == Some(branch.as_str()) {
                return Ok(TaskWorktree {
                    task: task.to_string(),
                    branch,
                    path,
                    created: false,
                });
            }
        }
        return Err(WorktreeError::PathTaken {
            path: path.display().to_string(),
            task: task.to_string(),
        });
    }
    let reference = match repo.find_branch(&branch, BranchType::Local) {
        Ok(b) => b.into_reference(),
        Err(_) => {
            let commit = repo
                .revparse_single(base)
                .and_then(|o| o.peel_to_commit())
                .map_err(|_| WorktreeError::UnknownBase(base.to_string()))?;
            repo.branch(&branch, &commit, false)
                .map_err(git)?
                .into_reference()
        }
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| WorktreeError::Git(e.to_string()))?;
    }
    // libgit2 creates `.git/worktrees` with a plain mkdir: two worktrees added at once (the
    // supervisor prepares tasks in parallel) would race on it.
    std::fs::create_dir_all(repo.commondir().join("worktrees"))
        .map_err(|e| WorktreeError::Git(e.to_string()))?;
    let mut opts = WorktreeAddOptions::new();
    opts.reference(Some(&reference));
    repo.worktree(&worktree_name(session, task), &path, Some(&opts))
        .map_err(git)?;
    let wt = TaskWorktree {
        task: task.to_string(),
        branch,
        path,
        created: true,
    };
    let prepared = run_setup(root, &wt.task, &wt.path, setup).and_then(|()| {
        // With no set-up command of the project's own, a Node project's dependencies are
        // installed with its package manager (from the managers' shared stores).
        if setup.command.is_some() {
            return Ok(());
        }
        crate::core::qa::node::install_worktree(root, &wt.path, setup.timeout).map_err(|message| {
            WorktreeError::Setup {
                task: wt.task.clone(),
                message,
            }
        })
    });
    if let Err(e) = prepared {
        // A half-prepared worktree is worse than none: remove it (it has no work yet).
        let _ = remove(repo, session, &wt.task, &wt.path);
        return Err(e);
    }
    Ok(wt)
}

/// Copies the configured files into a fresh worktree and runs the set-up command there
/// (task worktrees, and the integration worktree the QA gates run in).
pub(crate) fn run_setup(
    root: &Path,
    task: &str,
    path: &Path,
    setup: &Setup,
) -> Result<(), WorktreeError> {
    let fail = |message: String| WorktreeError::Setup {
        task: task.to_string(),
        message,
    };
    for file in &setup.copy {
        let rel = Path::new(file);
        if rel.is_absolute()
            || rel
                .components()
                .any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(fail(format!(
                "'{file}' must be a path inside the repository"
            )));
        }
        let from = root.join(rel);
        if from.is_file() {
            let to = path.join(rel);
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| fail(e.to_string()))?;
            }
            std::fs::copy(&from, &to).map_err(|e| fail(format!("copying {file}: {e}")))?;
        }
    }
    let Some(command) = &setup.command else {
        return Ok(());
    };
    let run = super::shell::run(
        command,
        path,
        &[("OVERLORD_TASK", task)],
        setup.timeout,
        None,
    )
    .map_err(|e| fail(format!("cannot run `{command}`: {e}")))?;
    if run.success() {
        return Ok(());
    }
    Err(fail(format!(
        "`{command}` failed ({}): {}",
        run.describe(),
        run.tail_lines(5)
    )))
}

/// Files with uncommitted changes (modified, staged, or untracked and not ignored).
pub fn uncommitted(path: &Path) -> Result<Vec<String>, WorktreeError> {
    let repo = Repository::open(path).map_err(git)?;
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false);
    let statuses = repo.statuses(Some(&mut opts)).map_err(git)?;
    Ok(statuses
        .iter()
        .filter_map(|s| s.path().map(str::to_string))
        .collect())
}

/// Removes a finished or abandoned task's worktree (the branch stays). Refuses, removing
/// nothing, when it holds uncommitted work.
pub fn prune(
    repo: &Repository,
    root: &Path,
    session: &str,
    task: &str,
) -> Result<(), WorktreeError> {
    check_component(task)?;
    let path = worktree_path(root, task);
    if !path.exists() {
        return Err(WorktreeError::NoWorktree(task.to_string()));
    }
    let dirty = uncommitted(&path)?;
    if !dirty.is_empty() {
        return Err(WorktreeError::Uncommitted {
            task: task.to_string(),
            files: dirty,
        });
    }
    remove(repo, session, task, &path)
}

fn remove(repo: &Repository, session: &str, task: &str, path: &Path) -> Result<(), WorktreeError> {
    let wt = repo
        .find_worktree(&worktree_name(session, task))
        .map_err(git)?;
    let mut opts = WorktreePruneOptions::new();
    opts.valid(true).working_tree(true);
    wt.prune(Some(&mut opts)).map_err(git)?;
    if path.exists() {
        std::fs::remove_dir_all(path).map_err(|e| WorktreeError::Git(e.to_string()))?;
    }
    Ok(())
}
