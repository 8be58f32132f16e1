//! The "promotion candidate" notice: once per phase, when every task of a phase that is not
//! promoted yet is integrated on main and the last QA run on main's tip is green, the human
//! is told (an info concern, which also goes to Discord) that `/promote <phase>` may run.
//! Checked when an operation publishes a checkpoint, so it is not repeated at every poll; a
//! concern already raised for the phase (open or resolved) is never raised again; the
//! phase's promotion resolves it.

use crate::core::concern::raise;
use crate::core::engine::Core;
use crate::git;
use crate::protocol::model::{on_main, QaDecision, Severity, TaskStatus};

/// The concern category of the notice.
pub const CATEGORY: &str = "promotion_candidate";

pub(super) fn notice(core: &mut Core) {
    let state = &core.state;
    let Some(plan) = state.plan.clone() else {
        return;
    };
    let Some(main) = state.main_head.clone() else {
        return;
    };
    // The run on main's tip: the one the checkpoint at main was gated by (its documents are
    // committed on top of the gated tree), else a run on that very commit.
    let gated = state
        .checkpoints
        .iter()
        .rev()
        .find(|c| c.commit == main)
        .and_then(|c| c.qa_run);
    let Some(run) = state
        .qa_runs
        .iter()
        .rev()
        .find(|r| Some(r.id) == gated || r.commit.as_deref() == Some(main.as_str()))
        .cloned()
    else {
        return;
    };
    if run.decision == QaDecision::Fail || !run.failed_gates().is_empty() {
        return;
    }
    let on = on_main(&state.checkpoints);
    let mut ready = Vec::new();
    for phase in plan.phases.iter().filter(|p| p.promoted_at.is_none()) {
        let tasks: Vec<&str> = phase
            .tasks
            .iter()
            .filter(|t| !t.is_temporary)
            .map(|t| t.id.as_str())
            .collect();
        let integrated = phase
            .tasks
            .iter()
            .filter(|t| !t.is_temporary)
            .all(|t| t.status == TaskStatus::Done && on.tasks.contains_key(&t.id));
        let noticed = state
            .concerns
            .values()
            .any(|c| c.category == CATEGORY && c.summary.starts_with(&summary(&phase.id)));
        if !tasks.is_empty() && integrated && !noticed {
            ready.push((phase.id.clone(), tasks.join(", ")));
        }
    }
    for (phase, tasks) in ready {
        raise(
            core,
            Severity::Info,
            CATEGORY,
            format!("{} for promotion", summary(&phase)),
            format!(
                "Every task of phase {phase} is integrated on main ({tasks}) and {} on main's tip {} is green. `/promote {phase}` runs the QA with the promotion policy there, then tags the version and moves the release branch ([git] version_tag, release_branch).",
                run.id,
                git::short(&main)
            ),
            None,
        );
    }
}

/// The open notice for `phase`, which its promotion resolves.
pub(super) fn open_notice(
    state: &crate::protocol::State,
    phase: &str,
) -> Option<crate::protocol::model::ConcernId> {
    state
        .open_concerns()
        .find(|c| c.category == CATEGORY && c.summary.starts_with(&summary(phase)))
        .map(|c| c.id)
}

fn summary(phase: &str) -> String {
    format!("phase {phase} is ready")
}
