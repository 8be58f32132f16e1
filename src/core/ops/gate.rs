//! The gates a Save runs: the QA gates on the integrated tree (or the human's approval of
//! exactly that tree), and a single command gate (the post-merge verification).

use std::time::Duration;

use git2::{Oid, Repository};

use super::integration::integration_worktree;
use super::progress::Progress;
use super::step::{Finish, OpError, OpResult};
use crate::core::clock::now;
use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::core::{qa, shell};
use crate::git;
use crate::protocol::model::{
    ApprovalKind, Decision, GateOutcome, GateResult, GitSession, Operation, OperationOutcome,
    QaDecision, QaRun, QaRunId, SessionStatus, Severity,
};
use crate::protocol::EventKind;

pub(super) struct Verdict {
    pub(super) run: QaRun,
    /// The merge approval a human gave for exactly this tree.
    pub(super) approved: Option<String>,
}

/// A QA run on `tree` whose merge the human approved.
fn approved_run(core: &Core, tree: &str) -> Option<(QaRun, String)> {
    let state = core.state();
    state.approvals.values().rev().find_map(|a| {
        let approved = matches!(
            a.decision,
            Some(Decision::Approved) | Some(Decision::ApprovedWithConditions)
        );
        if a.kind != ApprovalKind::Merge || !approved {
            return None;
        }
        state
            .qa_runs
            .iter()
            .find(|r| r.id.to_string() == a.subject && r.tree == tree)
            .map(|r| (r.clone(), a.id.to_string()))
    })
}

/// The QA gates on the integrated tree (or the human's approval of exactly this tree).
/// `Err(finish)`: the Save stops there (a malformed policy runs nothing).
#[allow(clippy::too_many_arguments)]
pub(super) fn qa_gate(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    integ: Oid,
    tasks: &[String],
) -> OpResult<Result<Verdict, Finish>> {
    let tree = repo.find_commit(integ)?.tree_id().to_string();
    if let Some((run, approval)) = approved_run(core, &tree) {
        progress.step(
            core,
            op,
            "gate",
            format!("{} on this tree was approved by the human ({approval}); the gates are not run again", run.id),
        )?;
        return Ok(Ok(Verdict {
            run,
            approved: Some(approval),
        }));
    }
    // Continuous integration gated exactly this tree last: a Save of it does not run the
    // gates again (a later run on any tree, or another decision, runs them).
    if let Some(run) = core
        .state
        .qa_runs
        .last()
        .filter(|r| r.tree == tree && r.decision == QaDecision::AutoMerge && !r.promotion)
        .cloned()
    {
        progress.step(
            core,
            op,
            "gate",
            format!(
                "{} passed on exactly this tree when it was integrated; the gates are not run again",
                run.id
            ),
        )?;
        return Ok(Ok(Verdict {
            run,
            approved: None,
        }));
    }
    let impact = qa::impact_of(core, tasks);
    let (ctx, warning) = match qa::QaContext::gather(core, false, impact) {
        Ok(x) => x,
        Err(why) => {
            progress.flush(core)?;
            raise(
                core,
                Severity::Warning,
                "qa_policy",
                "the QA policy is malformed: Save held".into(),
                why.clone(),
                None,
            );
            return Ok(Err(Finish {
                outcome: OperationOutcome::GateFailed,
                message: format!(
                    "the QA policy is malformed, so no gate ran and main was not moved:\n{why}"
                ),
                checkpoint: None,
                status: SessionStatus::Active,
            }));
        }
    };
    if let Some(w) = warning {
        progress.step(core, op, "gate", w)?;
    }
    progress.step(
        core,
        op,
        "gate",
        format!("QA gates on {}", git::short(&integ.to_string())),
    )?;
    let prepared = qa::prepare(&ctx, &integ.to_string());
    // Check the tree out only when some gate has a command to run in it. The steps so far
    // (the merges, the integration branch) are written before a command runs, so front ends
    // show them while it does; when none runs they go with the run's record (one
    // transaction, not two).
    let dir = if prepared.runs_anything() {
        progress.flush(core)?;
        integration_worktree(core, repo, sess, integ)?
    } else {
        core.ws.root.clone()
    };
    let id = QaRunId(core.state.counters.qa_runs + 1);
    let out = qa::run(
        &ctx,
        prepared,
        &dir,
        &integ.to_string(),
        &tree,
        id,
        &mut |ev| {
            if let Err(e) = progress.push(core, ev) {
                tracing::error!(error = %e, "could not record QA progress");
            }
        },
    )
    .map_err(OpError::Other)?;
    progress.push(
        core,
        EventKind::QaRunRecorded {
            run: out.run.clone(),
        },
    )?;
    progress.flush(core)?;
    qa::after_qa_run(core, &out.run, &format!("{} {} held", op.kind, op.id));
    Ok(Ok(Verdict {
        run: out.run,
        approved: None,
    }))
}

/// Runs a gate command on `commit`'s tree and records the QA run.
#[allow(clippy::too_many_arguments)]
pub(super) fn gate(
    core: &mut Core,
    progress: &mut Progress,
    repo: &Repository,
    sess: &GitSession,
    op: &Operation,
    commit: Oid,
    command: Option<&str>,
    gate_name: &str,
) -> OpResult<QaRun> {
    let id = QaRunId(core.state.counters.qa_runs + 1);
    let started = now();
    let tree = repo.find_commit(commit)?.tree_id().to_string();
    let (result, decision, reasons) = match command {
        None => (
            GateResult {
                gate: gate_name.to_string(),
                threshold: None,
                measured: None,
                outcome: GateOutcome::NotMeasured,
                reason: Some("no command is configured".into()),
                required: true,
                errored: false,
            },
            QaDecision::AutoMerge,
            vec!["no gate configured".to_string()],
        ),
        Some(cmd) => {
            progress.step(
                core,
                op,
                "gate",
                format!(
                    "{gate_name}: `{cmd}` on {}",
                    git::short(&commit.to_string())
                ),
            )?;
            progress.flush(core)?;
            let dir = integration_worktree(core, repo, sess, commit)?;
            let log = core.ws.log_dir().join(format!("qa-{}.log", id.0));
            let _ = std::fs::create_dir_all(core.ws.log_dir());
            let timeout = Duration::from_secs(core.config.qa.timeout_secs.max(1));
            let run = shell::run(
                cmd,
                &dir,
                &[
                    ("OVERLORD_GATE", gate_name),
                    ("OVERLORD_SESSION", sess.id.as_str()),
                ],
                Some(timeout),
                Some(&log),
            )
            .map_err(|e| OpError::Other(format!("cannot run `{cmd}`: {e}")))?;
            let ok = run.success();
            let measured = format!("{} in {:.1}s", run.describe(), run.elapsed.as_secs_f64());
            let reason = if ok {
                None
            } else {
                Some(format!("`{cmd}` {}: {}", run.describe(), run.tail_lines(3)))
            };
            (
                GateResult {
                    gate: gate_name.to_string(),
                    threshold: Some("exit 0".into()),
                    measured: Some(measured.clone()),
                    outcome: if ok {
                        GateOutcome::Pass
                    } else {
                        GateOutcome::Fail
                    },
                    reason: reason.clone(),
                    required: true,
                    errored: run.status.is_none(),
                },
                if ok {
                    QaDecision::AutoMerge
                } else {
                    QaDecision::Fail
                },
                vec![reason.unwrap_or_else(|| format!("`{cmd}` passed ({measured})"))],
            )
        }
    };
    let run = QaRun {
        id,
        tree,
        started_at: started,
        finished_at: now(),
        gates: vec![result],
        decision,
        reasons,
        commit: Some(commit.to_string()),
        metrics: Default::default(),
        flaky: Vec::new(),
        promotion: false,
        record_sha256: None,
    };
    progress.push(core, EventKind::QaRunRecorded { run: run.clone() })?;
    if command.is_some() {
        progress.flush(core)?;
    }
    Ok(run)
}
