//! Integrating finished task branches: flushing what an agent left uncommitted in its
//! worktree, then merging each branch into the integration branch on git objects only
//! (trivial conflicts resolved by policy; a conflicting branch is left out with a concern).

use git2::{Oid, Repository};

use super::progress::Progress;
use super::step::{git_action, OpError, OpResult};
use super::task_history::TaskHistory;
use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::core::worktree;
use crate::git::{self, merge};
use crate::protocol::model::{GitSession, Operation, OperationKind, Severity, TaskBranch};

/// Commits uncommitted output in a finished task's worktree; the new tip, if it did.
pub(super) fn flush_task(
    core: &mut Core,
    progress: &mut Progress,
    sess: &GitSession,
    op: &Operation,
    tb: &TaskBranch,
) -> OpResult<Option<Oid>> {
    let path = worktree::worktree_path(&core.ws.root, &tb.task);
    if !path.exists() {
        return Ok(None);
    }
    let dirty = worktree::uncommitted(&path).map_err(|e| OpError::Other(e.to_string()))?;
    if dirty.is_empty() {
        return Ok(None);
    }
    let wt = Repository::open(&path)?;
    let head = wt.head()?;
    if head.name() != Some(&format!("refs/heads/{}", tb.branch)) {
        return Err(OpError::Other(format!(
            "the worktree of {} is not on {}; nothing was committed",
            tb.task, tb.branch
        )));
    }
    let parent = head.peel_to_commit()?;
    let mut index = wt.index()?;
    index.add_all(["*"], git2::IndexAddOption::DEFAULT, None)?;
    index.update_all(["*"], None)?;
    index.write()?;
    let tree = index.write_tree()?;
    let message = format!(
        "chore({}): output left uncommitted when Save {} began\n\nFiles: {}\n\n{}",
        tb.task,
        op.id,
        dirty.join(", "),
        git::trailers(tb.role, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(tb.role))?;
    let committer = git::signature(None)?;
    let new = wt.commit(
        Some("HEAD"),
        &author,
        &committer,
        &message,
        &wt.find_tree(tree)?,
        &[&parent],
    )?;
    progress.push(
        core,
        git_action(
            "commit",
            &format!("refs/heads/{}", tb.branch),
            Some(parent.id()),
            Some(new),
            None,
            "flush",
            format!("{} file(s) the agent left uncommitted", dirty.len()),
        ),
    )?;
    progress.flush(core)?;
    Ok(Some(new))
}

/// The tree to merge the integration branch and a task's tip against: the tree of their
/// merge base; when they have several (a task branch that merged its dependencies, which
/// Save merged into the integration branch too: a criss-cross), the bases merged into one
/// virtual base as git's recursive strategy does — with just one of them, the changes behind
/// the others would count as made on both sides and conflict. If the bases themselves
/// conflict, the first alone.
fn base_tree(repo: &Repository, bases: &[Oid]) -> Result<Oid, git2::Error> {
    let tree_of = |c: Oid| -> Result<Oid, git2::Error> { Ok(repo.find_commit(c)?.tree_id()) };
    let Some(&first) = bases.first() else {
        return Err(git2::Error::from_str("no merge base"));
    };
    let mut virtual_base = tree_of(first)?;
    for &other in bases.iter().skip(1) {
        let under = repo.merge_base(first, other)?;
        let out = merge::merge_trees(
            repo,
            tree_of(under)?,
            virtual_base,
            tree_of(other)?,
            "base",
            "base",
        )?;
        match out.tree {
            Some(t) => virtual_base = t,
            None => return tree_of(first),
        }
    }
    Ok(virtual_base)
}

/// Merges one task branch into `integ` (its merge bases and the commits it brings in:
/// `history`): the merge commit and a one-line summary, or the conflicts.
pub(super) fn merge_task(
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    tb: &TaskBranch,
    history: &TaskHistory,
    integ: Oid,
    tip: Oid,
) -> OpResult<Result<(Oid, String), Vec<merge::Conflict>>> {
    let tree_of = |c: Oid| -> Result<Oid, git2::Error> { Ok(repo.find_commit(c)?.tree_id()) };
    let out = merge::merge_trees(
        repo,
        base_tree(repo, &history.bases)?,
        tree_of(integ)?,
        tree_of(tip)?,
        &sess.integration_branch(),
        &tb.branch,
    )?;
    let Some(tree) = out.tree else {
        return Ok(Err(out.conflicts));
    };
    let (lines, total) = git::commit_lines(repo, &history.commits, 50)?;
    let mut message = format!(
        "Merge task {} ({}) into {}\n\nBrings in {total} commit{}:\n",
        tb.task,
        tb.branch,
        sess.integration_branch(),
        if total == 1 { "" } else { "s" }
    );
    for l in &lines {
        message.push_str(&format!("  {l}\n"));
    }
    if total > lines.len() {
        message.push_str(&format!("  … and {} more\n", total - lines.len()));
    }
    let trivial: Vec<String> = out
        .trivial
        .iter()
        .map(|t| format!("{} ({})", t.path, t.kind))
        .collect();
    if !trivial.is_empty() {
        message.push_str("\nResolved by policy:\n");
        for t in &trivial {
            message.push_str(&format!("  {t}\n"));
        }
    }
    message.push('\n');
    message.push_str(&git::trailers(tb.role, op.audit_id, &sess.id));
    let author = git::signature(Some(tb.role))?;
    let commit = git::commit(repo, tree, &[integ, tip], &message, &author)?;
    let mut detail = format!("{total} commit{}", if total == 1 { "" } else { "s" });
    if !trivial.is_empty() {
        detail.push_str(&format!("; resolved by policy: {}", trivial.join(", ")));
    }
    Ok(Ok((commit, detail)))
}

pub(super) fn conflict_concern(
    core: &mut Core,
    tb: &TaskBranch,
    conflicts: &[merge::Conflict],
    merged: &[String],
    what: OperationKind,
) {
    let mut details = format!(
        "{} ({}) conflicts with the integration branch and was left out of this {what}, untouched.\n",
        tb.task, tb.branch
    );
    if !merged.is_empty() {
        details.push_str(&format!("Integrated before it: {}.\n", merged.join(", ")));
    }
    for c in conflicts {
        details.push_str(&format!("\n{} ({})\n", c.path, c.kind));
        for h in &c.hunks {
            details.push_str(h);
            details.push('\n');
        }
    }
    let files: Vec<&str> = conflicts.iter().map(|c| c.path.as_str()).collect();
    raise(
        core,
        Severity::Warning,
        "merge_conflict",
        format!(
            "{} conflicts on {}; left out of the {what}",
            tb.task,
            files.join(", ")
        ),
        details,
        Some(tb.task.clone()),
    );
}
