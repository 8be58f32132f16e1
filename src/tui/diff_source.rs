//! What the diff pane compares, and loading it (blocking: git2 and diffing, so the runner
//! calls [`load`] on a blocking thread, never on the UI loop).
//!
//! - A task: while its worktree exists, what the agent has on disk right now (committed or
//!   not) against where the task forked from the main branch; afterwards its branch against
//!   that fork point.
//! - The integration branch against the main branch (what the next Save would publish).
//! - Two checkpoints (or a checkpoint against where `main` was before it).

use std::path::Path;

use git2::Repository;

use super::diff_view::DiffView;
use crate::core::diff::{resolve, sides, Side};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffSource {
    /// A task's work against its fork point from `main` (the main branch's name).
    Task { task: String, main: String },
    /// The newest integration branch against the main branch.
    Integration { main: String },
    /// Any two revisions or checkpoint names.
    Revisions { from: String, to: String },
}

impl DiffSource {
    /// The pane's title for it.
    pub fn title(&self) -> String {
        match self {
            DiffSource::Task { task, main } => format!("task {task} vs {main}"),
            DiffSource::Integration { main } => format!("integration vs {main}"),
            DiffSource::Revisions { from, to } => format!("{} → {}", short(from), short(to)),
        }
    }

    /// The task whose worktree it follows live, if any.
    pub fn task(&self) -> Option<&str> {
        match self {
            DiffSource::Task { task, .. } => Some(task),
            _ => None,
        }
    }
}

/// A checkpoint name without its `checkpoint/` prefix, a commit id cut to 10.
fn short(name: &str) -> String {
    let name = name.trim_start_matches("checkpoint/");
    if name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        name[..10].to_string()
    } else {
        name.to_string()
    }
}

fn git(e: git2::Error) -> String {
    e.message().to_string()
}

fn commit_side(repo: &Repository, label: &str, id: git2::Oid) -> Result<Side, String> {
    let commit = repo.find_commit(id).map_err(git)?;
    Ok(Side::Tree {
        label: label.to_string(),
        commit: Some(id),
        tree: commit.tree_id(),
    })
}

/// Loads the diff `source` names in the repository at `root`.
pub fn load(root: &Path, source: &DiffSource) -> Result<DiffView, String> {
    let repo = Repository::open(root).map_err(|e| format!("cannot open the repository: {e}"))?;
    match source {
        DiffSource::Task { task, main } => {
            let wt = crate::core::worktree::worktree_path(root, task);
            if wt.join(".git").exists() {
                // Live: the worktree's files as they are, against the fork point.
                let wrepo = Repository::open(&wt)
                    .map_err(|e| format!("cannot open the worktree of {task}: {e}"))?;
                let head = wrepo
                    .head()
                    .ok()
                    .and_then(|h| h.target())
                    .ok_or_else(|| format!("the worktree of {task} has no commit"))?;
                let main_tip = wrepo
                    .revparse_single(main)
                    .map_err(|_| format!("there is no branch {main}"))?
                    .peel_to_commit()
                    .map_err(git)?
                    .id();
                let base = wrepo.merge_base(head, main_tip).map_err(git)?;
                let from = commit_side(&wrepo, &format!("{task} base"), base)?;
                return DiffView::load(&wrepo, &from, &Side::WorkTree).map_err(|e| e.to_string());
            }
            let (from, to) = sides(&repo, Some(task), None).map_err(|e| e.to_string())?;
            if matches!(to, Side::WorkTree) {
                return Err(format!("task {task} has no branch or worktree to show"));
            }
            DiffView::load(&repo, &from, &to).map_err(|e| e.to_string())
        }
        DiffSource::Integration { main } => {
            let to = resolve(&repo, "integration")
                .map_err(|_| "no integration branch yet: Save creates one".to_string())?;
            let from = resolve(&repo, main).map_err(|e| e.to_string())?;
            DiffView::load(&repo, &from, &to).map_err(|e| e.to_string())
        }
        DiffSource::Revisions { from, to } => {
            let (from, to) = sides(&repo, Some(from), Some(to)).map_err(|e| e.to_string())?;
            DiffView::load(&repo, &from, &to).map_err(|e| e.to_string())
        }
    }
}
