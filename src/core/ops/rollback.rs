//! Rollback: a new commit on main with the checkpoint's tree (history kept), published as a
//! rollback checkpoint, with the task branches built on what it took out flagged; or, with
//! `--branch`, the checkpoint restored on a new branch and worktree.

use std::path::PathBuf;

use git2::{Oid, Repository};

use super::outside::refuse_if_moved;
use super::progress::Progress;
use super::publish::{publish_checkpoint, Publishing};
use super::step::{git_action, oid, protection, session, Finish, OpError, OpResult, ACTOR};
use crate::core::engine::Core;
use crate::core::failpoint;
use crate::git;
use crate::protocol::model::{
    Checkpoint, CheckpointKind, GitSession, Operation, OperationOutcome, Role, RollbackTarget,
    SessionStatus,
};
use crate::protocol::EventKind;

pub(super) fn rollback(
    core: &mut Core,
    op: &Operation,
    progress: &mut Progress,
) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let target = op
        .rollback
        .clone()
        .ok_or_else(|| OpError::Other("rollback without a target".into()))?;
    progress.step(
        core,
        op,
        "frozen",
        "task dispatch waits until the rollback ends",
    )?;
    failpoint::hit("rollback.frozen");
    if let Some(branch) = &target.branch {
        let path = restore_branch(core, &repo, &sess, &target, branch)?;
        return Ok(Finish {
            outcome: OperationOutcome::BranchCreated,
            message: format!(
                "{} restored on branch {branch} in {}; {} was not moved",
                target.checkpoint,
                core.ws.relative(&path),
                sess.main
            ),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }
    let main_before = oid(&op.main_before)?;
    refuse_if_moved(core, &repo, &sess, main_before)?;
    let target_tree = repo.find_commit(oid(&target.commit)?)?.tree_id();
    if repo.find_commit(main_before)?.tree_id() == target_tree {
        return Ok(Finish {
            outcome: OperationOutcome::NothingToSave,
            message: format!(
                "nothing to roll back: {} already has the tree of {}",
                sess.main, target.checkpoint
            ),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    }
    let (cp, flagged) =
        rollback_main(core, progress, &repo, &sess, op, &target, main_before, None)?;
    let status = if core.state.session == SessionStatus::AwaitingReview {
        SessionStatus::AwaitingReview
    } else {
        SessionStatus::Active
    };
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message: format!(
            "{} {} {} on {} (new commit {}; history kept){}",
            cp.name,
            if target.undoes.is_some() {
                "undoes"
            } else {
                "restores"
            },
            target.checkpoint,
            sess.main,
            git::short(&cp.commit),
            if flagged > 0 {
                format!("; {flagged} task branch(es) flagged")
            } else {
                String::new()
            }
        ),
        checkpoint: Some(cp),
        status,
    })
}

/// A new commit on main whose tree is the target's, tagged as a rollback checkpoint; task
/// branches built on the commits it takes out are flagged.
#[allow(clippy::too_many_arguments)]
pub(super) fn rollback_main(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    target: &RollbackTarget,
    parent: Oid,
    after_save: Option<&str>,
) -> OpResult<(Checkpoint, usize)> {
    let main_now = parent;
    let target_commit = oid(&target.commit)?;
    let tree = repo.find_commit(target_commit)?.tree_id();
    let what = if target.undoes.is_some() {
        format!("Undo rollback {}", target.checkpoint)
    } else {
        format!("Roll back to {}", target.checkpoint)
    };
    let restores = if target.undoes.is_some() {
        format!("the tree {} had before {}", sess.main, target.checkpoint)
    } else {
        format!("the tree of {}", target.checkpoint)
    };
    let message = format!(
        "{what}\n\n{}\n\nRestores {restores} ({}); {} before this commit was {}.\n\nOverlord-Rollback-To: {}\nOverlord-Rollback-Reason: {}\n{}",
        target.reason,
        git::short(&target.commit),
        sess.main,
        git::short(&main_now.to_string()),
        target.checkpoint,
        target.reason.replace('\n', " "),
        git::trailers(Role::ProjectManager, op.audit_id, &sess.id)
    );
    let author = git::signature(Some(Role::ProjectManager))?;
    let commit = git::commit(repo, tree, &[main_now], &message, &author)?;
    let trigger = if after_save.is_some() {
        "auto_rollback"
    } else {
        "rollback"
    };
    let cp = publish_checkpoint(
        core,
        progress,
        repo,
        sess,
        op,
        Publishing {
            expected_main: parent,
            new_main: commit,
            kind: CheckpointKind::Rollback,
            tag_message: format!("Overlord rollback: {what}\n\nReason: {}\n", target.reason),
            summary: format!("{what}: {}", target.reason),
            qa_run: None,
            tasks: Vec::new(),
            restores: Some(target.checkpoint.clone()),
            undoes: target.undoes.clone(),
            trigger,
        },
    )?;
    let flags = flag_task_branches(core, repo, sess, target_commit, main_now, &cp.name)?;
    let flagged = flags.len();
    for e in flags {
        progress.push(core, e)?;
    }
    Ok((cp, flagged))
}

/// Flags task branches whose history includes commits the rollback took out of main.
pub(super) fn flag_task_branches(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    target: Oid,
    old_main: Oid,
    rollback_name: &str,
) -> OpResult<Vec<EventKind>> {
    let Some(plan) = core.state.plan.clone() else {
        return Ok(Vec::new());
    };
    let mut events = Vec::new();
    for task in plan.tasks() {
        let branch = sess.task_branch(&task.id);
        let Some(tip) = git::branch_tip(repo, &branch)? else {
            continue;
        };
        let Ok(mb) = repo.merge_base(tip, old_main) else {
            continue;
        };
        let kept = mb == target || repo.graph_descendant_of(target, mb)?;
        if !kept {
            events.push(EventKind::TaskBranchFlagged {
                task: task.id.clone(),
                branch,
                reason: format!(
                    "builds on {} which {rollback_name} took out of {}; rework or rebase it",
                    git::short(&mb.to_string()),
                    sess.main
                ),
            });
        }
    }
    Ok(events)
}

/// `/rollback <checkpoint> --branch <name>`: the checkpoint on a new branch and worktree.
fn restore_branch(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    target: &RollbackTarget,
    branch: &str,
) -> OpResult<PathBuf> {
    let commit = repo.find_commit(oid(&target.commit)?)?;
    let refname = format!("refs/heads/{branch}");
    git::update_ref(
        repo,
        &protection(core, sess),
        None,
        &refname,
        commit.id(),
        None,
        &format!("overlord: restore {}", target.checkpoint),
    )?;
    let dir_name = branch.replace('/', "-");
    let path = core.ws.dir.join("restore").join(&dir_name);
    if path.exists() {
        return Err(OpError::Other(format!(
            "{} exists; move it away first",
            path.display()
        )));
    }
    std::fs::create_dir_all(path.parent().unwrap_or(&core.ws.dir))
        .map_err(|e| OpError::Other(e.to_string()))?;
    let reference = repo.find_reference(&refname)?;
    let mut opts = git2::WorktreeAddOptions::new();
    opts.reference(Some(&reference));
    repo.worktree(&format!("overlord-restore-{dir_name}"), &path, Some(&opts))?;
    core.emit(
        ACTOR,
        vec![git_action(
            "branch",
            &refname,
            None,
            Some(commit.id()),
            Some(target.checkpoint.clone()),
            "rollback",
            format!("worktree {}", core.ws.relative(&path)),
        )],
    )?;
    Ok(path)
}
