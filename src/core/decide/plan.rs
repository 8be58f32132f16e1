//! The rules for the plan: importing it (progress kept across re-imports, approval asked
//! once), a task's status (dependencies first), and promoting a finished phase (the
//! governor's `/promote` is the approval and starts the promotion operation; an agent's asks
//! for it).

use super::lookup::{plan, task_exists, unfinished_tasks};
use super::outcome::{none, reject, unknown, Context, Outcome};
use crate::protocol::model::{
    on_main, Approval, ApprovalId, ApprovalKind, Phase, Plan, TaskStatus,
};
use crate::protocol::report::ReplyData;
use crate::protocol::{Command, EventKind, Origin, RejectCode, Rejection, State};

/// `/import <plan.json>`: the plan the caller loaded, with the progress of tasks that stay.
pub(super) fn import(
    state: &State,
    origin: &Origin,
    path: &str,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    let new_plan = match &ctx.plan {
        Some(Ok(p)) => p.clone(),
        Some(Err(e)) => return Err(e.clone()),
        None => {
            return Err(reject(
                RejectCode::InvalidInput,
                format!("the plan {path} was not loaded"),
            ))
        }
    };
    let mut new_plan = new_plan;
    if let Some(old) = &state.plan {
        keep_progress(&mut new_plan, old);
        // The approved tickets' phase stays with the plan that replaces this one.
        let tickets = crate::protocol::model::TICKETS_PHASE;
        if new_plan.phase(tickets).is_none() {
            new_plan
                .phases
                .extend(old.phases.iter().filter(|p| p.id == tickets).cloned());
        }
    }
    let tasks = new_plan.tasks().count();
    let phases = new_plan.phases.len();
    let mut events = vec![EventKind::PlanImported {
        plan: new_plan.clone(),
    }];
    let already = state
        .approvals
        .values()
        .any(|a| a.kind == ApprovalKind::Plan && a.subject == new_plan.id && a.is_pending());
    let counts = format!(
        "{}, {}",
        crate::protocol::report::plural(phases, "phase"),
        crate::protocol::report::plural(tasks, "task")
    );
    let mut message = format!("plan '{}' imported: {counts}", new_plan.title);
    if !already {
        let approval = Approval::pending(
            ApprovalId(state.counters.approvals + 1),
            ApprovalKind::Plan,
            new_plan.id.clone(),
            format!("plan '{}' ({counts})", new_plan.title),
            origin.actor(),
            ctx.now.clone(),
        );
        message.push_str(&format!("; awaits the human's approval as {}", approval.id));
        events.push(EventKind::ApprovalRequested { approval });
    }
    Ok(Outcome {
        events,
        message,
        data: ReplyData::Plan(Box::new(new_plan)),
    })
}

/// What forbids any promotion now: open critical concerns and ALERT or CRITICAL alerts in
/// force (seed 000: nothing is released while the swarm's integrity is in question).
fn promotion_blockers(state: &State) -> Vec<String> {
    let concerns = state
        .open_concerns()
        .filter(|c| c.severity == crate::protocol::model::Severity::Critical)
        .map(|c| format!("critical concern {} is open ({})", c.id, c.summary));
    let alerts = state
        .alerts_in_force()
        .into_iter()
        .filter(|a| a.level != crate::protocol::model::AlertLevel::Warn)
        .map(|a| {
            format!(
                "the {} alert {} is in force ({})",
                a.level, a.key, a.message
            )
        });
    concerns.chain(alerts).collect()
}

/// Re-importing keeps the progress of tasks that are still in the plan.
fn keep_progress(new_plan: &mut Plan, old: &Plan) {
    for phase in new_plan.phases.iter_mut() {
        if let Some(old_phase) = old.phase(&phase.id) {
            phase.promoted_at = old_phase.promoted_at.clone();
        }
        for t in phase.tasks.iter_mut() {
            if let Some(o) = old.task(&t.id) {
                t.status = o.status;
                t.commentary = o.commentary.clone();
                t.owner = o.owner.clone();
            }
        }
    }
}

/// `/task <task> <status> [note]`: starting or finishing a task waits for its dependencies.
pub(super) fn set_task_status(
    state: &State,
    task: &String,
    status: TaskStatus,
    note: &Option<String>,
) -> Result<Outcome, Rejection> {
    task_exists(state, task)?;
    let p = plan(state)?;
    let t = p.task(task).ok_or_else(|| unknown("task", task, []))?;
    if t.status == status {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("{task} is already {status}"),
        ));
    }
    if matches!(status, TaskStatus::InProgress | TaskStatus::Done) {
        let waiting: Vec<String> = t
            .dependencies
            .iter()
            .filter_map(|d| p.task(d))
            .filter(|d| d.status != TaskStatus::Done)
            .map(|d| format!("{} ({})", d.id, d.status))
            .collect();
        if !waiting.is_empty() {
            return Err(reject(
                RejectCode::InvalidTransition,
                format!(
                    "{task} cannot be {status}: it depends on {}",
                    waiting.join(", ")
                ),
            ));
        }
    }
    Ok(none(
        format!("{task}: {} → {status}", t.status),
        vec![EventKind::TaskStatusChanged {
            task: task.clone(),
            status,
            note: note.clone(),
        }],
    ))
}

/// `/promote <phase>`: the governor's `/promote` starts the promotion operation (QA with
/// the promotion policy on main's tip, then the version tag and the release branch:
/// `core::ops::promote`) once every rule holds — every reason named when one does not; an
/// agent's `/promote` asks the human.
pub(super) fn promote(
    state: &State,
    origin: &Origin,
    command: &Command,
    phase: &String,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    let now = ctx.now.as_str();
    let p = plan(state)?;
    let Some(ph) = p.phase(phase) else {
        return Err(unknown(
            "phase",
            phase,
            p.phases.iter().map(|p| p.id.as_str()),
        ));
    };
    if ph.promoted_at.is_some() {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("phase {phase} is already promoted"),
        ));
    }
    let mut reasons = Vec::new();
    let unfinished = unfinished_tasks(p, phase);
    if !unfinished.is_empty() {
        reasons.push(format!("unfinished tasks {}", unfinished.join(", ")));
    }
    reasons.extend(not_integrated(state, ph));
    let blockers = promotion_blockers(state);
    if !blockers.is_empty() {
        reasons.push(format!("{} (resolve it first)", blockers.join("; ")));
    }
    if origin.is_human() {
        match &ctx.operation {
            Some(Ok(prepared)) => reasons.extend(prepared.refusals.iter().cloned()),
            Some(Err(r)) if reasons.is_empty() => return Err(r.clone()),
            Some(Err(r)) => reasons.push(
                r.message
                    .trim_end_matches("; nothing was changed")
                    .to_string(),
            ),
            None => {
                return Err(reject(
                    RejectCode::Unavailable,
                    "/promote needs the repository check first; nothing was changed",
                ))
            }
        }
    }
    if !reasons.is_empty() {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "phase {phase} cannot be promoted: {}; nothing was changed",
                reasons.join("; ")
            ),
        ));
    }
    let pending = state
        .approvals
        .values()
        .find(|a| a.kind == ApprovalKind::PhasePromotion && &a.subject == phase && a.is_pending());
    if origin.is_human() {
        // The governor's /promote is the approval itself (decided when the promotion
        // succeeds: `core::ops::promote`); it runs as an operation.
        return super::operations::start(state, origin, command, ctx);
    }
    if let Some(a) = pending {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "the promotion of {phase} is already awaiting the human as {}",
                a.id
            ),
        ));
    }
    let approval = Approval::pending(
        ApprovalId(state.counters.approvals + 1),
        ApprovalKind::PhasePromotion,
        phase.clone(),
        format!("promote phase {phase} ({})", ph.name),
        origin.actor(),
        now.to_string(),
    );
    Ok(Outcome {
        message: format!(
            "promotion of {phase} awaits the human's approval as {}: the human's `/promote {phase}` approves and carries it out",
            approval.id
        ),
        data: ReplyData::Approval(Box::new(approval.clone())),
        events: vec![EventKind::ApprovalRequested { approval }],
    })
}

/// The phase's finished tasks that `main` does not hold (not Saved yet, or taken out by a
/// rollback since), from the checkpoint timeline.
fn not_integrated(state: &State, phase: &Phase) -> Option<String> {
    let on = on_main(&state.checkpoints);
    let missing: Vec<String> = phase
        .tasks
        .iter()
        .filter(|t| t.status == TaskStatus::Done && !t.is_temporary)
        .filter(|t| !on.tasks.contains_key(&t.id))
        .map(|t| match on.taken_out.get(&t.id) {
            Some(rollback) => format!("{} (taken out of main by {rollback})", t.id),
            None => format!("{} (done but not Saved yet: /save integrates it)", t.id),
        })
        .collect();
    (!missing.is_empty()).then(|| format!("not integrated on main: {}", missing.join(", ")))
}
