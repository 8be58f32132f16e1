//! Finding what a command names in the state (a concern, an agent, the plan, a task), or a
//! rejection that lists the ids there are.

use super::outcome::{reject, unknown};
use crate::protocol::model::{Agent, Concern, ConcernId, Plan, TaskStatus};
use crate::protocol::{RejectCode, Rejection, State};

pub(super) fn concern(state: &State, id: ConcernId) -> Result<&Concern, Rejection> {
    state.concerns.get(&id).ok_or_else(|| {
        if id.0 >= 1 && id.0 <= state.counters.concerns {
            return finished_earlier(&id.to_string(), "resolved", "concerns");
        }
        let ids: Vec<String> = state.concerns.keys().map(|k| k.to_string()).collect();
        unknown("concern", &id.to_string(), ids.iter().map(String::as_str))
    })
}

/// An id handed out that the live state no longer holds: only finished items leave it
/// (`protocol::retention`), so it was `how` long ago; its history says how it ended.
pub(super) fn finished_earlier(id: &str, how: &str, kind: &str) -> Rejection {
    reject(
        RejectCode::InvalidTransition,
        format!("{id} was {how} earlier (overlord-tui history {kind} shows how it ended)"),
    )
}

pub(super) fn agent<'s>(state: &'s State, id: &str) -> Result<&'s Agent, Rejection> {
    state
        .agents
        .get(id)
        .ok_or_else(|| unknown("agent", id, state.agents.keys().map(String::as_str)))
}

pub(super) fn plan(state: &State) -> Result<&Plan, Rejection> {
    state.plan.as_ref().ok_or_else(|| {
        reject(
            RejectCode::InvalidTransition,
            "no plan has been imported yet (overlord-tui plan import FILE)",
        )
    })
}

pub(super) fn task_exists(state: &State, task: &str) -> Result<(), Rejection> {
    let plan = plan(state)?;
    if plan.task(task).is_none() {
        let ids: Vec<&str> = plan.tasks().map(|t| t.id.as_str()).collect();
        return Err(unknown("task", task, ids));
    }
    Ok(())
}

/// The tasks of `phase` not done yet, as `id (status)`: what stops its promotion.
pub(super) fn unfinished_tasks(plan: &Plan, phase: &str) -> Vec<String> {
    plan.phase(phase)
        .map(|p| {
            p.tasks
                .iter()
                .filter(|t| t.status != TaskStatus::Done)
                .map(|t| format!("{} ({})", t.id, t.status))
                .collect()
        })
        .unwrap_or_default()
}
