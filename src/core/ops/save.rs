//! Save: freeze dispatch, flush and integrate the finished task branches, gate, commit the
//! documents (as of the gate's verdict), publish the checkpoint, prune the merged tasks'
//! worktrees, and verify after the merge (rolling the Save back when that fails).

use git2::{Oid, Repository};

use super::documents::commit_documents;
use super::gate::{gate, qa_gate, Verdict};
use super::integrate::{conflict_concern, flush_task, merge_task};
use super::outside::refuse_if_moved;
use super::progress::Progress;
use super::publish::{publish_checkpoint, Publishing};
use super::rollback::rollback_main;
use super::step::{git_action, names, oid, session, Finish, OpResult};
use super::task_history::{own_commits, task_history};
use crate::config::non_empty;
use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::core::{failpoint, qa, worktree};
use crate::git::{self, merge};
use crate::protocol::model::{
    ApprovalKind, Checkpoint, CheckpointKind, GitSession, Operation, OperationKind,
    OperationOutcome, QaDecision, Role, RollbackTarget, SessionStatus, Severity, TaskBranch,
};
use crate::protocol::{Command, Origin, ReplyData};

pub(super) fn save(core: &mut Core, op: &Operation, progress: &mut Progress) -> OpResult<Finish> {
    let sess = session(core)?;
    let repo = git::open(&core.ws.root)?;
    let main_before = oid(&op.main_before)?;
    let integrating = op.kind == OperationKind::Integrate;
    if integrating {
        progress.step(
            core,
            op,
            "integrating",
            format!("onto {} (main does not move)", sess.main),
        )?;
    } else {
        progress.step(
            core,
            op,
            "frozen",
            "task dispatch waits until the Save ends",
        )?;
    }
    for h in &op.held {
        progress.step(core, op, "held", h.clone())?;
    }
    failpoint::hit("save.frozen");

    // Main moved outside Overlord since it last moved it: the human decides first.
    refuse_if_moved(core, &repo, &sess, main_before)?;

    let tasks = flush(core, progress, &sess, op)?;
    let Integrated {
        mut integ,
        merged,
        conflicted,
    } = integrate(core, progress, &repo, &sess, op, main_before, &tasks)?;
    if merged.is_empty() {
        let taken_out = crate::protocol::model::on_main(&core.state.checkpoints).taken_out;
        let mut finish = nothing_integrated(&tasks, &conflicted, &taken_out);
        if integrating {
            finish.status = core.state.session;
        }
        return Ok(finish);
    }

    record_integration(core, progress, &repo, &sess, integ, &merged)?;
    failpoint::hit("save.integrated");

    // Gate.
    let verdict = match qa_gate(core, progress, &repo, &sess, op, integ, &merged)? {
        Ok(v) => v,
        Err(finish) => return Ok(finish),
    };
    failpoint::hit("save.gated");
    if integrating {
        return Ok(integrated(core, &sess, &merged, &conflicted, &verdict));
    }
    if let Some(held) = held_by_gate(core, progress, &sess, op, integ, &merged, &verdict)? {
        return Ok(held);
    }

    // The PM's documents, generated from the state now that the gate has spoken, go in with
    // the checkpoint: they describe its own QA run.
    integ = commit_documents_step(core, progress, &repo, &sess, op, integ, &merged, &verdict)?;

    // Publish.
    let tasks_in = merged;
    let cp = publish(
        core,
        progress,
        &repo,
        &sess,
        op,
        (main_before, integ),
        &tasks_in,
        &conflicted,
        &verdict,
    )?;
    let mut message = format!(
        "{} created: {} integrated, main at {}",
        cp.name,
        tasks_in.join(", "),
        git::short(&cp.commit)
    );
    if !conflicted.is_empty() {
        message.push_str(&format!(
            "; left out with conflicts: {}",
            names(conflicted.iter().map(|(t, _)| t.task.as_str()))
        ));
    }
    prune_merged_worktrees(core, progress, &tasks_in)?;

    // Post-merge verification.
    if let Some(rolled_back) = verify_after_merge(core, progress, &repo, &sess, op, integ, &cp)? {
        return Ok(rolled_back);
    }
    Ok(Finish {
        outcome: OperationOutcome::Checkpointed,
        message,
        checkpoint: Some(cp),
        status: SessionStatus::Active,
    })
}

/// How an integration ends: the integration branch holds the merges, gated; main did not
/// move. The session keeps its status (an integration never freezes dispatch).
fn integrated(
    core: &Core,
    sess: &GitSession,
    merged: &[String],
    conflicted: &[(TaskBranch, Vec<merge::Conflict>)],
    verdict: &Verdict,
) -> Finish {
    let run = &verdict.run;
    let why = run.reasons.join("; ");
    let (outcome, next) = match run.decision {
        QaDecision::AutoMerge if core.config.git.save.is_auto() => (
            OperationOutcome::Integrated,
            "it passed: Overlord Saves it (`[git] save = \"auto\"`)".to_string(),
        ),
        QaDecision::AutoMerge => (
            OperationOutcome::Integrated,
            "it passed: `/save` publishes it".to_string(),
        ),
        QaDecision::RequireHuman => (
            OperationOutcome::Integrated,
            format!("QA asks for the human ({why}): `/save` asks for the approval"),
        ),
        QaDecision::Fail => (OperationOutcome::GateFailed, format!("QA failed ({why})")),
    };
    let mut message = format!(
        "{} integrated on {} (main is still where it was); {} {}: {next}",
        merged.join(", "),
        sess.integration_branch(),
        run.id,
        run.decision.as_str()
    );
    if !conflicted.is_empty() {
        message.push_str(&format!(
            "; left out with conflicts: {}",
            names(conflicted.iter().map(|(t, _)| t.task.as_str()))
        ));
    }
    Finish {
        outcome,
        message,
        checkpoint: None,
        status: core.state.session,
    }
}

/// Flush: finished tasks' uncommitted output is committed on their branches. The tasks, with
/// their new tips.
fn flush(
    core: &mut Core,
    progress: &mut Progress,
    sess: &GitSession,
    op: &Operation,
) -> OpResult<Vec<TaskBranch>> {
    let mut tasks = op.tasks.clone();
    let mut flushed = 0;
    for tb in tasks.iter_mut() {
        if let Some(new) = flush_task(core, progress, sess, op, tb)? {
            tb.tip = new.to_string();
            flushed += 1;
        }
    }
    progress.step(
        core,
        op,
        "flushed",
        format!(
            "{} finished task branch{}, {flushed} with uncommitted output committed",
            tasks.len(),
            if tasks.len() == 1 { "" } else { "es" }
        ),
    )?;
    failpoint::hit("save.flushed");
    Ok(tasks)
}

/// What integrating the finished task branches gave: the integrated commit, the tasks merged
/// and those left out with their conflicts.
struct Integrated {
    integ: Oid,
    merged: Vec<String>,
    conflicted: Vec<(TaskBranch, Vec<merge::Conflict>)>,
}

/// Integrate: each task branch merged onto `main_before` in turn; a conflicting one is left
/// out with a concern.
fn integrate(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    main_before: Oid,
    tasks: &[TaskBranch],
) -> OpResult<Integrated> {
    let mut integ = main_before;
    let mut merged: Vec<String> = Vec::new();
    let mut conflicted = Vec::new();
    // An ancestor of main is not necessarily in its tree: a rollback may have taken it out.
    let taken_out = crate::protocol::model::on_main(&core.state.checkpoints).taken_out;
    let tips = tasks
        .iter()
        .map(|tb| oid(&tb.tip))
        .collect::<OpResult<Vec<Oid>>>()?;
    // Each task's own commits, walked once (never down the growing integration branch).
    let own = own_commits(repo, main_before, &tips)?;
    for (i, tb) in tasks.iter().enumerate() {
        let tip = tips[i];
        let own_i = own.as_ref().map(|o| o[i].as_slice());
        let history = task_history(repo, main_before, integ, tip, own_i)?;
        if history.bases.is_empty() {
            let detail = match taken_out.get(&tb.task) {
                Some(rollback) => format!(
                    "{}: nothing new since {rollback} took it out of {} (rework or rebase it to bring it back)",
                    tb.task, sess.main
                ),
                None => format!("{}: nothing new", tb.task),
            };
            progress.step(core, op, "skipped", detail)?;
            continue;
        }
        let outcome = merge_task(repo, sess, op, tb, &history, integ, tip)?;
        match outcome {
            Ok((commit, detail)) => {
                progress.push(
                    core,
                    git_action(
                        "merge",
                        &format!("refs/heads/{}", sess.integration_branch()),
                        Some(integ),
                        Some(commit),
                        Some(tb.branch.clone()),
                        "save",
                        format!("{}: {detail}", tb.task),
                    ),
                )?;
                progress.step(core, op, "merged", format!("{}: {detail}", tb.task))?;
                integ = commit;
                merged.push(tb.task.clone());
                failpoint::hit("save.merged");
            }
            Err(conflicts) => {
                let files: Vec<String> = conflicts
                    .iter()
                    .map(|c| format!("{} ({})", c.path, c.kind))
                    .collect();
                progress.step(
                    core,
                    op,
                    "conflict",
                    format!("{}: {}", tb.task, files.join(", ")),
                )?;
                conflicted.push((tb.clone(), conflicts));
            }
        }
    }
    if !conflicted.is_empty() {
        // The steps come before the concerns they explain.
        progress.flush(core)?;
    }
    for (tb, conflicts) in &conflicted {
        conflict_concern(core, tb, conflicts, &merged, op.kind);
    }
    Ok(Integrated {
        integ,
        merged,
        conflicted,
    })
}

/// How a Save that merged nothing ends.
fn nothing_integrated(
    tasks: &[TaskBranch],
    conflicted: &[(TaskBranch, Vec<merge::Conflict>)],
    taken_out: &std::collections::BTreeMap<String, String>,
) -> Finish {
    // Finished tasks whose code a rollback took out of main's tree (still in its history).
    let out: Vec<String> = tasks
        .iter()
        .filter_map(|t| taken_out.get(&t.task).map(|r| format!("{} ({r})", t.task)))
        .collect();
    let (outcome, message) = if conflicted.is_empty() {
        (
            OperationOutcome::NothingToSave,
            if tasks.is_empty() {
                "nothing to save: no task is done yet".to_string()
            } else if !out.is_empty() {
                format!(
                    "nothing to save: taken out of main by a rollback and nothing new on the branch since: {}; rework or rebase to bring it back{}",
                    out.join(", "),
                    if out.len() < tasks.len() {
                        "; the other finished tasks are on main"
                    } else {
                        ""
                    }
                )
            } else {
                "nothing to save: every finished task is already on main".to_string()
            },
        )
    } else {
        (
            OperationOutcome::Conflicted,
            format!(
                "nothing integrated: {} conflicted (see the concerns); main was not moved",
                names(conflicted.iter().map(|(t, _)| t.task.as_str()))
            ),
        )
    };
    Finish {
        outcome,
        message,
        checkpoint: None,
        status: SessionStatus::Active,
    }
}

/// The documents commit on top of `integ`, when the documents changed: the status documents
/// as of this checkpoint (its QA run `verdict`, the tasks `merged`) and the run's reports; the
/// new tip, which the integration branch then holds.
#[allow(clippy::too_many_arguments)]
fn commit_documents_step(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    integ: Oid,
    merged: &[String],
    verdict: &Verdict,
) -> OpResult<Oid> {
    let cp = crate::protocol::documents::Checkpointing {
        qa_run: verdict.run.id,
        approved_as: verdict.approved.as_deref(),
        tasks: merged,
        reports: false,
    };
    let Some(commit) = commit_documents(core, repo, sess, op, integ, &cp)? else {
        return Ok(integ);
    };
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    repo.reference(&integ_ref, commit, true, "overlord: save documents")?;
    progress.push(
        core,
        git_action(
            "commit",
            &integ_ref,
            Some(integ),
            Some(commit),
            None,
            "save",
            format!(
                "project documents (docs/PROJECT_*.md) and {}'s reports (docs/QA_REPORT.md, docs/TEST_RESULTS*.md) as of this checkpoint",
                verdict.run.id
            ),
        ),
    )?;
    progress.step(
        core,
        op,
        "documents",
        format!("docs/PROJECT_*.md and {}'s reports updated", verdict.run.id),
    )?;
    Ok(commit)
}

/// The integration branch (Overlord's own, unprotected) now holds the merges; their events
/// wait for the gate's transaction.
fn record_integration(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    integ: Oid,
    merged: &[String],
) -> OpResult<()> {
    let integ_ref = format!("refs/heads/{}", sess.integration_branch());
    let integ_old = git::ref_target(repo, &integ_ref)?;
    repo.reference(&integ_ref, integ, true, "overlord: save integration")?;
    progress.push(
        core,
        git_action(
            "update_ref",
            &integ_ref,
            integ_old,
            Some(integ),
            Some(merged.join(", ")),
            "save",
            format!("{} task branch(es) merged", merged.len()),
        ),
    )?;
    // Not flushed here: the gate's record (or its first step, before a command runs)
    // carries these events in the same transaction (the integration branch is Overlord's own;
    // main moves only after the publishing record).
    Ok(())
}

/// How the Save ends when the QA verdict holds it (asking the human, or failed); `None` when
/// it goes on to publish.
fn held_by_gate(
    core: &mut Core,
    progress: &mut Progress,
    sess: &GitSession,
    op: &Operation,
    integ: Oid,
    merged: &[String],
    verdict: &Verdict,
) -> OpResult<Option<Finish>> {
    let run = &verdict.run;
    match run.decision {
        QaDecision::AutoMerge => Ok(None),
        QaDecision::RequireHuman if verdict.approved.is_some() => Ok(None),
        QaDecision::RequireHuman => {
            progress.flush(core)?;
            let why = run.reasons.join("; ");
            let reply = core.execute(
                Origin::System,
                Command::RequestApproval {
                    kind: ApprovalKind::Merge,
                    subject: run.id.to_string(),
                    from: Some(Role::ProjectManager),
                    summary: format!(
                        "Save {}: merge {} ({}) into {}? QA {} asks for the human: {why}. Report: .overlord/qa/{}/QA_REPORT.md",
                        op.id,
                        merged.join(", "),
                        git::short(&integ.to_string()),
                        sess.main,
                        run.id,
                        run.id
                    ),
                },
            );
            let approval = match &reply.data {
                ReplyData::Approval(a) => a.id.to_string(),
                _ => {
                    tracing::error!(message = %reply.message, "could not request the merge approval");
                    "(not recorded)".to_string()
                }
            };
            // An automatic Save stops here: the human is told why, as a concern.
            if op.requested_by == Origin::System.actor() {
                raise(
                    core,
                    Severity::Warning,
                    "awaiting_human",
                    format!(
                        "automatic Save {} waits for the human: {why}",
                        op.id
                    ),
                    format!(
                        "QA {} on {} ({}) asks for the human: {why}. `/approve {approval}` then `/save` publishes exactly this tree. Report: .overlord/qa/{}/QA_REPORT.md",
                        run.id,
                        merged.join(", "),
                        git::short(&integ.to_string()),
                        run.id
                    ),
                    None,
                );
            }
            Ok(Some(Finish {
                outcome: OperationOutcome::AwaitingApproval,
                message: format!(
                    "QA {} asks for the human ({why}); main was not moved. `/approve {approval}` then `/save` publishes exactly this tree",
                    run.id
                ),
                checkpoint: None,
                status: SessionStatus::AwaitingReview,
            }))
        }
        QaDecision::Fail => {
            progress.flush(core)?;
            let why = run.reasons.join("; ");
            Ok(Some(Finish {
                outcome: OperationOutcome::GateFailed,
                message: format!(
                    "QA {} failed ({why}); main was not moved and the session awaits review",
                    run.id
                ),
                checkpoint: None,
                status: SessionStatus::AwaitingReview,
            }))
        }
    }
}

/// Publishes the integrated commit as the Save's checkpoint (`main_before` → `integ`).
#[allow(clippy::too_many_arguments)]
fn publish(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    (main_before, integ): (Oid, Oid),
    tasks_in: &[String],
    conflicted: &[(TaskBranch, Vec<merge::Conflict>)],
    verdict: &Verdict,
) -> OpResult<Checkpoint> {
    let run = &verdict.run;
    let summary = match &verdict.approved {
        Some(a) => format!("{} (approved by the human as {a})", qa::summary(run)),
        None => qa::summary(run),
    };
    let tag_message = format!(
        "Overlord checkpoint (Save {})\n\nTasks: {}\nQA {}: {}\n{}",
        op.id,
        tasks_in.join(", "),
        run.id,
        summary,
        conflict_line(conflicted)
    );
    publish_checkpoint(
        core,
        progress,
        repo,
        sess,
        op,
        Publishing {
            expected_main: main_before,
            new_main: integ,
            kind: CheckpointKind::Save,
            tag_message,
            summary: summary.clone(),
            qa_run: Some(run.id),
            tasks: tasks_in.to_vec(),
            restores: None,
            undoes: None,
            trigger: "save",
        },
    )
}

/// The merged tasks' worktrees are done with (flush left them clean); a worktree that
/// somehow has new work is kept and reported.
fn prune_merged_worktrees(
    core: &mut Core,
    progress: &mut Progress,
    tasks_in: &[String],
) -> OpResult<()> {
    for t in tasks_in {
        if worktree::worktree_path(&core.ws.root, t).exists() {
            progress.flush(core)?;
            let _ = core.prune_task_worktree(t);
        }
    }
    Ok(())
}

/// Post-merge verification (`[qa] verify_command`) on the new main. When it fails, the Save
/// is rolled back and a critical concern raised: how the Save then ends. `None` when it
/// passed or there is none.
fn verify_after_merge(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    integ: Oid,
    cp: &Checkpoint,
) -> OpResult<Option<Finish>> {
    let Some(verify) = non_empty(&core.config.qa.verify_command) else {
        return Ok(None);
    };
    let check = gate(
        core,
        progress,
        repo,
        sess,
        op,
        integ,
        Some(&verify),
        "post-merge verification",
    )?;
    failpoint::hit("save.verified");
    if check.decision != QaDecision::Fail {
        return Ok(None);
    }
    let why = check.reasons.join("; ");
    // Back to where this Save found main (named by its checkpoint when it has one).
    let target_name = core
        .state
        .checkpoints
        .iter()
        .rev()
        .find(|c| c.commit == op.main_before)
        .map(|c| c.name.clone())
        .unwrap_or_else(|| format!("main before {} ({})", cp.name, git::short(&op.main_before)));
    let target = RollbackTarget {
        checkpoint: target_name.clone(),
        commit: op.main_before.clone(),
        reason: format!("post-merge verification of {} failed: {why}", cp.name),
        branch: None,
        undoes: None,
    };
    let (back, _) = rollback_main(
        core,
        progress,
        repo,
        sess,
        op,
        &target,
        integ,
        Some(&cp.name),
    )?;
    progress.flush(core)?;
    raise(
        core,
        Severity::Critical,
        "regression",
        format!("{} failed post-merge verification and was rolled back", cp.name),
        format!(
            "`{verify}` failed on the new main ({why}). Overlord rolled main back to {target_name} as {} (a new commit; {} is still reachable). Output: .overlord/logs/qa-{}.log.",
            back.name, cp.name, check.id.0
        ),
        None,
    );
    Ok(Some(Finish {
        outcome: OperationOutcome::GateFailed,
        message: format!(
            "{} failed post-merge verification ({why}) and was rolled back automatically as {}; the session awaits review",
            cp.name, back.name
        ),
        checkpoint: Some(back),
        status: SessionStatus::AwaitingReview,
    }))
}

fn conflict_line(conflicted: &[(TaskBranch, Vec<merge::Conflict>)]) -> String {
    if conflicted.is_empty() {
        String::new()
    } else {
        format!(
            "Left out (conflicts): {}\n",
            names(conflicted.iter().map(|(t, _)| t.task.as_str()))
        )
    }
}
