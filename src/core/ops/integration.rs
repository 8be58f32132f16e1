//! The integration worktree (`.overlord/integration`), where the gates run: checked out at
//! the commit to check, set up as task worktrees are.

use std::path::PathBuf;

use git2::{Oid, Repository};

use super::step::{OpError, OpResult};
use crate::core::engine::Core;
use crate::core::worktree;
use crate::protocol::model::GitSession;

/// The integration worktree, where the gates run (`.overlord/integration`).
pub(crate) fn integration_worktree(
    core: &Core,
    repo: &Repository,
    sess: &GitSession,
    commit: Oid,
) -> OpResult<PathBuf> {
    let path = core.ws.dir.join("integration");
    let branch = sess.integration_branch();
    let refname = format!("refs/heads/{branch}");
    let name = format!("overlord-integration-{}", sess.id);
    let usable = Repository::open(&path)
        .ok()
        .and_then(|r| r.head().ok().and_then(|h| h.name().map(str::to_string)))
        .is_some_and(|h| h == refname);
    if !usable {
        if path.exists() {
            std::fs::remove_dir_all(&path)
                .map_err(|e| OpError::Other(format!("{}: {e}", path.display())))?;
        }
        if let Ok(old) = repo.find_worktree(&name) {
            let mut o = git2::WorktreePruneOptions::new();
            o.valid(true).working_tree(true);
            let _ = old.prune(Some(&mut o));
        }
        let reference = repo.find_reference(&refname)?;
        let mut opts = git2::WorktreeAddOptions::new();
        opts.reference(Some(&reference));
        repo.worktree(&name, &path, Some(&opts))?;
    }
    let wt = Repository::open(&path)?;
    let target = wt.find_commit(commit)?;
    let mut co = git2::build::CheckoutBuilder::new();
    co.force().remove_untracked(true);
    wt.checkout_tree(target.as_object(), Some(&mut co))?;
    wt.set_head(&refname)?;
    if !usable {
        // A fresh checkout gets what task worktrees get (`.env`, `npm ci`, ...), so the
        // gates find the project as its own worktrees do.
        worktree::run_setup(
            &core.ws.root,
            "integration",
            &path,
            &core.config.worktrees.setup(),
        )
        .map_err(|e| OpError::Other(e.to_string()))?;
    }
    Ok(path)
}
