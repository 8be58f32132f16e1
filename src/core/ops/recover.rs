//! Recovery: finishing or cleaning up an operation a killed process left in the audit
//! trail, from the refs as they are and the publish plan it recorded.

use git2::{Oid, Repository};

use super::publish::record_published;
use super::rollback::flag_task_branches;
use super::step::{finish_events, oid, protection, session, Finish, OpResult, ACTOR};
use crate::core::clock::now;
use crate::core::engine::{Core, CoreError};
use crate::git::{self, Publish, RefMoves};
use crate::protocol::model::{
    Checkpoint, CheckpointKind, GitSession, Operation, OperationKind, OperationOutcome,
    PublishPlan, SessionStatus,
};

/// Finishes or cleans up an operation a killed process left in the audit trail. The caller
/// holds the operation lock, so nothing else is running it. Returns what it did.
pub fn recover(core: &mut Core) -> Result<Option<String>, CoreError> {
    let Some(op) = core.state.operation.clone() else {
        return Ok(None);
    };
    let finish = match recover_refs(core, &op) {
        Ok(f) => f,
        Err(e) => Finish {
            outcome: OperationOutcome::Aborted,
            message: format!(
                "{} {} was interrupted and could not be inspected ({e}); main was left as found",
                op.kind, op.id
            ),
            checkpoint: None,
            status: SessionStatus::AwaitingReview,
        },
    };
    let message = finish.message.clone();
    finish_events(core, &op, &finish, Vec::new())?;
    Ok(Some(message))
}

/// Finds out how far an interrupted operation got with the refs, and finishes or takes back
/// the publish: how it ends.
pub(super) fn recover_refs(core: &mut Core, op: &Operation) -> OpResult<Finish> {
    if op.kind == OperationKind::Promotion {
        return super::promote::recover(core, op);
    }
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let interrupted = format!("{} {} was interrupted", op.kind, op.id);
    if let Some(branch) = op.rollback.as_ref().and_then(|r| r.branch.clone()) {
        return restored_branch(&repo, &branch, &interrupted);
    }
    let Some(plan) = op.publish.clone() else {
        return Ok(Finish {
            outcome: OperationOutcome::Aborted,
            message: format!("{interrupted} before publishing; main was not moved (run it again)"),
            checkpoint: None,
            status: SessionStatus::Active,
        });
    };
    let found = Found::read(&repo, &sess, op, &plan)?;
    if found.main_now == Some(found.moves.main_after) {
        return finish_publish(core, &repo, &sess, op, &plan, &found, &interrupted);
    }
    take_back(&repo, &found)?;
    let moved_elsewhere = found.main_now != Some(found.moves.main_before);
    Ok(Finish {
        outcome: OperationOutcome::Aborted,
        message: if moved_elsewhere {
            format!("{interrupted}; {} was moved by someone else meanwhile, so nothing was published (run it again)", sess.main)
        } else {
            format!(
                "{interrupted} before {} moved; cleaned up, main was not moved (run it again)",
                sess.main
            )
        },
        checkpoint: None,
        status: SessionStatus::Active,
    })
}

/// `/rollback --branch` interrupted: the branch is there or it is not.
fn restored_branch(repo: &Repository, branch: &str, interrupted: &str) -> OpResult<Finish> {
    let there = git::branch_tip(repo, branch)?;
    Ok(Finish {
        outcome: if there.is_some() {
            OperationOutcome::BranchCreated
        } else {
            OperationOutcome::Aborted
        },
        message: format!(
            "{interrupted}; branch {branch} {}",
            if there.is_some() {
                "exists"
            } else {
                "was not created"
            }
        ),
        checkpoint: None,
        status: SessionStatus::Active,
    })
}

/// Where the refs of an interrupted publish are now, and the moves its plan recorded.
struct Found {
    main_now: Option<Oid>,
    tag_now: Option<Oid>,
    notes_now: Option<Oid>,
    moves: RefMoves,
}

impl Found {
    fn read(
        repo: &Repository,
        sess: &GitSession,
        op: &Operation,
        plan: &PublishPlan,
    ) -> OpResult<Found> {
        let main_ref = sess.main_ref();
        let tag_ref = format!("refs/tags/{}", plan.tag);
        let main_now = git::ref_target(repo, &main_ref)?;
        let tag_now = git::ref_target(repo, &tag_ref)?;
        let notes_now = git::ref_target(repo, git::NOTES_REF)?;
        let commit = oid(&plan.commit)?;
        let tag_object = oid(&plan.tag_object)?;
        let notes_after = oid(&plan.notes_commit)?;
        let notes_before = plan.notes_before.as_deref().map(oid).transpose()?;
        let main_before = oid(if plan.main_before.is_empty() {
            &op.main_before
        } else {
            &plan.main_before
        })?;
        Ok(Found {
            main_now,
            tag_now,
            notes_now,
            moves: RefMoves {
                main_ref,
                main_before,
                main_after: commit,
                tag_ref,
                tag_object,
                notes_before,
                notes_after,
            },
        })
    }
}

/// main moved: complete the tag and the note if they did not, then record it all.
fn finish_publish(
    core: &mut Core,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    plan: &PublishPlan,
    found: &Found,
    interrupted: &str,
) -> OpResult<Finish> {
    let moves = &found.moves;
    let authority = Publish::grant();
    let protection = protection(core, sess);
    if found.tag_now.is_none() {
        git::update_ref(
            repo,
            &protection,
            Some(&authority),
            &moves.tag_ref,
            moves.tag_object,
            None,
            "overlord: recovery",
        )?;
    }
    if found.notes_now == moves.notes_before {
        git::update_ref(
            repo,
            &protection,
            Some(&authority),
            git::NOTES_REF,
            moves.notes_after,
            moves.notes_before,
            "overlord: recovery",
        )?;
    }
    let checkpoint = recovered_checkpoint(core, op, plan, moves.main_before);
    let mut events = record_published(sess, moves, &checkpoint, "recovery");
    if let Err(e) = git::catch_up_user_tree(repo, &sess.main, moves.main_before, moves.main_after) {
        tracing::warn!(error = %e, "the work tree could not follow main after recovery");
    }
    if let Some(target) = op.rollback.as_ref() {
        events.extend(flag_task_branches(
            core,
            repo,
            sess,
            oid(&target.commit)?,
            moves.main_before,
            &plan.tag,
        )?);
    }
    core.emit(ACTOR, events)?;
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message: format!(
            "{interrupted} after {} moved; finished: {} recorded",
            sess.main, plan.tag
        ),
        checkpoint: Some(checkpoint),
        status: SessionStatus::Active,
    })
}

/// The checkpoint an interrupted operation published, as recovery records it.
fn recovered_checkpoint(
    core: &Core,
    op: &Operation,
    plan: &PublishPlan,
    main_before: Oid,
) -> Checkpoint {
    let kind = plan.kind.unwrap_or(match op.kind {
        OperationKind::Save | OperationKind::Integrate => CheckpointKind::Save,
        OperationKind::Rollback => CheckpointKind::Rollback,
        OperationKind::Promotion => CheckpointKind::Promotion,
    });
    let qa_run = core.state.qa_runs.last().map(|r| r.id);
    Checkpoint {
        name: plan.tag.clone(),
        kind,
        commit: plan.commit.clone(),
        created_at: now(),
        qa_run: if kind == CheckpointKind::Save {
            qa_run
        } else {
            None
        },
        summary: format!("recovered after an interrupted {}", op.kind),
        restores: plan
            .restores
            .clone()
            .or_else(|| op.rollback.as_ref().map(|r| r.checkpoint.clone())),
        tag_object: Some(plan.tag_object.clone()),
        previous: Some(main_before.to_string()),
        tasks: if kind == CheckpointKind::Save {
            op.tasks.iter().map(|t| t.task.clone()).collect()
        } else {
            Vec::new()
        },
        audit_ids: vec![op.audit_id],
        undoes: op.rollback.as_ref().and_then(|r| r.undoes.clone()),
    }
}

/// main did not move: take back whatever else did.
fn take_back(repo: &Repository, found: &Found) -> OpResult<()> {
    let moves = &found.moves;
    if found.tag_now == Some(moves.tag_object) {
        repo.find_reference(&moves.tag_ref)?.delete()?;
    }
    if found.notes_now == Some(moves.notes_after) {
        match moves.notes_before {
            Some(b) => {
                repo.reference_matching(
                    git::NOTES_REF,
                    b,
                    true,
                    moves.notes_after,
                    "overlord: recovery",
                )?;
            }
            None => repo.find_reference(git::NOTES_REF)?.delete()?,
        }
    }
    Ok(())
}
