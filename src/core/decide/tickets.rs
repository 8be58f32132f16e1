//! The rules for tickets: filing a batch into the `ready-for-robot` queue (ids unique,
//! duplicates of open tickets skipped and named) and the human's batch approval
//! (`/approve tickets <ids|all>`), which makes the approved tickets plan tasks.

use std::collections::BTreeSet;

use super::outcome::{none, reject, unknown, Context, Outcome};
use crate::core::tickets::{file, task_of};
use crate::protocol::model::{
    Approval, ApprovalId, ApprovalKind, Decision, Task, TaskStatus, Ticket, TicketStatus,
    TICKETS_PHASE,
};
use crate::protocol::{EventKind, Origin, RejectCode, Rejection, State};

/// Whether a ticket is still open: queued, or approved and its task not done.
fn open(state: &State, t: &Ticket) -> bool {
    match t.status {
        TicketStatus::ReadyForRobot => true,
        TicketStatus::Approved => state
            .plan
            .as_ref()
            .and_then(|p| p.task(&t.id))
            .is_none_or(|task| task.status != TaskStatus::Done),
    }
}

/// `/ticket <file>`: the loaded tickets filed, each once.
pub(super) fn file_tickets(
    state: &State,
    origin: &Origin,
    path: &str,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    let drafts = match &ctx.tickets {
        Some(Ok(d)) => d,
        Some(Err(e)) => return Err(e.clone()),
        None => {
            return Err(reject(
                RejectCode::InvalidInput,
                format!("the tickets {path} were not loaded"),
            ))
        }
    };
    let actor = origin.actor();
    let mut taken: BTreeSet<String> = state.tickets.keys().cloned().collect();
    let mut filed: Vec<Ticket> = Vec::new();
    let mut skipped = Vec::new();
    let mut next = state.tickets.len() + 1;
    for d in drafts {
        let id = match &d.id {
            Some(id) => {
                if let Some(old) = state.tickets.get(id) {
                    return Err(reject(
                        RejectCode::Conflict,
                        format!(
                            "ticket {id} is already filed ({}: {}); give the new one another id — nothing was filed",
                            old.status.as_str(),
                            old.title
                        ),
                    ));
                }
                if filed.iter().any(|t| &t.id == id) {
                    return Err(reject(
                        RejectCode::InvalidInput,
                        format!("ticket id {id} appears twice in {path}; nothing was filed"),
                    ));
                }
                if state.plan.as_ref().is_some_and(|p| p.task(id).is_some()) {
                    return Err(reject(
                        RejectCode::Conflict,
                        format!("ticket id {id} is already a task of the plan; give the ticket another id — nothing was filed"),
                    ));
                }
                id.clone()
            }
            None => loop {
                let id = format!("T-{next}");
                next += 1;
                if !taken.contains(&id) && !drafts.iter().any(|d| d.id.as_deref() == Some(&id)) {
                    break id;
                }
            },
        };
        taken.insert(id.clone());
        let ticket = file(d, id, &actor, &ctx.now);
        let same = state
            .tickets
            .values()
            .filter(|t| open(state, t))
            .chain(filed.iter())
            .find(|t| t.dedup_key == ticket.dedup_key);
        match same {
            Some(t) => skipped.push(format!("{} duplicates {} ({})", ticket.id, t.id, t.title)),
            None => filed.push(ticket),
        }
    }
    let mut message = if filed.is_empty() {
        "no ticket filed".to_string()
    } else {
        let ids: Vec<&str> = filed.iter().map(|t| t.id.as_str()).collect();
        format!(
            "filed {} in the ready-for-robot queue: {} — the human approves with /approve tickets <ids|all>",
            crate::protocol::report::plural(filed.len(), "ticket"),
            ids.join(", ")
        )
    };
    if !skipped.is_empty() {
        message.push_str(&format!("; skipped {}", skipped.join("; ")));
    }
    let events = filed
        .into_iter()
        .map(|ticket| EventKind::TicketFiled { ticket })
        .collect();
    Ok(none(message, events))
}

/// `/approve tickets <ids|all>`: the tickets approved and their tasks added to the plan's
/// `tickets` phase, most urgent first. With no plan yet, the batch approval is the plan's
/// approval too (the human approved exactly these tasks).
pub(super) fn approve(state: &State, ids: &[String], ctx: &Context) -> Result<Outcome, Rejection> {
    let queued: Vec<&Ticket> = state.tickets.values().filter(|t| t.is_queued()).collect();
    let chosen: Vec<&Ticket> = if ids.len() == 1 && ids[0] == "all" {
        if queued.is_empty() {
            return Err(reject(
                RejectCode::InvalidTransition,
                "no ticket is waiting in the ready-for-robot queue (overlord-tui ticket add FILE)",
            ));
        }
        queued
    } else {
        let mut out = Vec::new();
        for id in ids {
            let Some(t) = state.tickets.get(id) else {
                return Err(unknown("ticket", id, queued.iter().map(|t| t.id.as_str())));
            };
            if !t.is_queued() {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("ticket {id} is already approved; nothing was changed"),
                ));
            }
            if !out.iter().any(|o: &&Ticket| o.id == t.id) {
                out.push(t);
            }
        }
        out
    };
    let mut chosen = chosen;
    chosen.sort_by_key(|t| t.priority.rank());
    let mut tasks: Vec<Task> = Vec::new();
    for t in &chosen {
        if state.plan.as_ref().is_some_and(|p| p.task(&t.id).is_some()) {
            return Err(reject(
                RejectCode::Conflict,
                format!(
                    "ticket {} has the id of a task of the plan; nothing was changed",
                    t.id
                ),
            ));
        }
        tasks.push(task_of(t).map_err(|e| reject(RejectCode::InvalidInput, e))?);
    }
    let ids: Vec<String> = chosen.iter().map(|t| t.id.clone()).collect();
    let list: Vec<String> = tasks
        .iter()
        .map(|t| format!("{} ({}, {})", t.id, t.role, t.priority))
        .collect();
    let mut message = format!(
        "approved {}: tasks in phase {TICKETS_PHASE}, most urgent first: {}",
        crate::protocol::report::plural(ids.len(), "ticket"),
        list.join(", ")
    );
    let mut events = vec![EventKind::TicketsApproved {
        tickets: ids.clone(),
        tasks,
    }];
    match &state.plan {
        None => {
            let approval = Approval::pending(
                ApprovalId(state.counters.approvals + 1),
                ApprovalKind::Plan,
                TICKETS_PHASE.to_string(),
                format!("the tickets plan ({})", ids.join(", ")),
                "overlord".to_string(),
                ctx.now.clone(),
            );
            let id = approval.id;
            events.push(EventKind::ApprovalRequested { approval });
            events.push(EventKind::ApprovalDecided {
                id,
                decision: Decision::Approved,
                note: Some(format!("approved with the tickets {}", ids.join(", "))),
                conditions: None,
            });
        }
        Some(p) if !plan_approved(state, &p.id) => {
            message.push_str(&format!(
                "; they run once the plan '{}' is approved",
                p.title
            ));
        }
        Some(_) => {}
    }
    Ok(none(message, events))
}

/// `/plan <goal>`: recorded; the supervisor runs the planner on it and imports the plan.
pub(super) fn plan_requested(goal: &str) -> Result<Outcome, Rejection> {
    if goal.trim().is_empty() {
        return Err(reject(
            RejectCode::Usage,
            "/plan needs a goal: /plan <what to build>",
        ));
    }
    Ok(none(
        format!("the planner is asked for a plan for \"{}\"; it will await your approval (the swarm runs the planner: serve, run or the console)", goal.trim()),
        vec![EventKind::PlanRequested {
            goal: goal.trim().to_string(),
        }],
    ))
}

fn plan_approved(state: &State, plan: &str) -> bool {
    state.approvals.values().any(|a| {
        a.kind == ApprovalKind::Plan
            && a.subject == plan
            && matches!(
                a.decision,
                Some(Decision::Approved | Decision::ApprovedWithConditions)
            )
    })
}
