//! The governor's decisions on approvals (`/approve`, `/defer`, `/reject`), how their target
//! is found (an approval id, a variation id, a kind or a phase), and the artifacts agents ask
//! the human to approve (`/request`).

use super::outcome::{none, reject, unknown, Context, Outcome};
use crate::protocol::model::{
    Approval, ApprovalId, ApprovalKind, Decision, Role, TaskStatus, Variation, VariationId,
};
use crate::protocol::report::ReplyData;
use crate::protocol::{Command, EventKind, Origin, RejectCode, Rejection, State};

/// Finds the approval a `/approve`, `/defer` or `/reject` target names: an approval id
/// (`A-3`), a variation id (`V-2`), a kind with exactly one pending approval (`plan`,
/// `design`, `test_plan`), or a phase with a pending promotion.
pub(super) fn approval_target<'s>(
    state: &'s State,
    target: &str,
) -> Result<&'s Approval, Rejection> {
    let upper = target.to_ascii_uppercase();
    if upper.starts_with("A-") {
        if let Ok(id) = target.parse::<ApprovalId>() {
            return state.approvals.get(&id).ok_or_else(|| {
                if id.0 >= 1 && id.0 <= state.counters.approvals {
                    return super::lookup::finished_earlier(target, "decided", "approvals");
                }
                let ids: Vec<String> = state.approvals.keys().map(|k| k.to_string()).collect();
                unknown("approval", target, ids.iter().map(String::as_str))
            });
        }
    }
    if upper.starts_with("V-") {
        if let Ok(id) = target.parse::<VariationId>() {
            let Some(v) = state.variations.get(&id) else {
                if id.0 >= 1 && id.0 <= state.counters.variations {
                    return Err(super::lookup::finished_earlier(
                        target,
                        "decided",
                        "variations",
                    ));
                }
                let ids: Vec<String> = state.variations.keys().map(|k| k.to_string()).collect();
                return Err(unknown("variation", target, ids.iter().map(String::as_str)));
            };
            return v
                .approval
                .and_then(|a| state.approvals.get(&a))
                .ok_or_else(|| {
                    reject(
                        RejectCode::InvalidTransition,
                        format!(
                            "variation {id} has {} impact and needs no human decision",
                            v.impact
                        ),
                    )
                });
        }
    }
    let pending_of = |pred: &dyn Fn(&Approval) -> bool| -> Vec<&'s Approval> {
        state
            .approvals
            .values()
            .filter(|a| a.is_pending() && pred(a))
            .collect()
    };
    let candidates = if let Ok(kind) = target.parse::<ApprovalKind>() {
        let found = pending_of(&|a| a.kind == kind);
        if found.is_empty() {
            return Err(reject(
                RejectCode::UnknownId,
                format!("no {kind} approval is pending"),
            ));
        }
        found
    } else {
        pending_of(&|a| a.kind == ApprovalKind::PhasePromotion && a.subject == target)
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        [] => {
            let mut known: Vec<String> = state
                .pending_approvals()
                .map(|a| a.id.to_string())
                .collect();
            known.extend(["plan", "design_spec", "test_plan"].map(String::from));
            Err(unknown(
                "approval target",
                target,
                known.iter().map(String::as_str),
            ))
        }
        many => {
            let ids: Vec<String> = many.iter().map(|a| a.id.to_string()).collect();
            Err(reject(
                RejectCode::InvalidInput,
                format!(
                    "several approvals match '{target}': {}; name one",
                    ids.join(", ")
                ),
            ))
        }
    }
}

fn still_pending(a: &Approval) -> Result<(), Rejection> {
    match a.decision {
        Some(d) if d.is_final() => Err(reject(
            RejectCode::InvalidTransition,
            format!(
                "{} ({} {}) was already {} by {}",
                a.id,
                a.kind,
                a.subject,
                d.as_str().replace('_', " "),
                a.decided_by.as_deref().unwrap_or("someone")
            ),
        )),
        _ => Ok(()),
    }
}

/// `/approve <target> [--conditions …] [note]`; approving a promotion carries it out (as
/// `/promote <phase>`).
pub(super) fn approve(
    state: &State,
    origin: &Origin,
    target: &str,
    conditions: &Option<String>,
    note: &Option<String>,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    let a = approval_target(state, target)?;
    still_pending(a)?;
    let decision = if conditions.is_some() {
        Decision::ApprovedWithConditions
    } else {
        Decision::Approved
    };
    let mut events = vec![EventKind::ApprovalDecided {
        id: a.id,
        decision,
        note: note.clone(),
        conditions: conditions.clone(),
    }];
    let tied = conditions_to_criteria(state, a, conditions.as_deref(), &mut events);
    if a.kind == ApprovalKind::PhasePromotion {
        // A promotion is approved by carrying it out, as the human's `/promote` does (the
        // promotion QA, the tag, the release branch; the approval is decided when it
        // succeeds), so an approval never says "promoted" when it was not.
        let phase = a.subject.clone();
        return super::plan::promote(
            state,
            origin,
            &Command::Promote {
                phase: phase.clone(),
            },
            &phase,
            ctx,
        );
    }
    let mut approved = a.clone();
    approved.decision = Some(decision);
    Ok(Outcome {
        events,
        message: format!(
            "{} ({} {}) {}{}",
            a.id,
            a.kind,
            a.subject,
            decision.as_str().replace('_', " "),
            if a.kind == ApprovalKind::Merge {
                format!("; /save publishes the tree {} checked", a.subject)
            } else {
                tied
            }
        ),
        data: ReplyData::Approval(Box::new(approved)),
    })
}

/// The tasks a variation is tied to: the task its proposing agent worked on when it was
/// proposed and the plan's tasks its `affects` names; else the task that agent works on now.
fn variation_tasks(state: &State, v: &Variation) -> Vec<String> {
    let Some(plan) = &state.plan else {
        return Vec::new();
    };
    // The task recorded when it was proposed (the proposing agent's, `holds`), and every
    // task `--affects` names.
    let mut tied: Vec<String> = v
        .task
        .iter()
        .chain(v.affects.iter())
        .filter(|t| plan.task(t).is_some())
        .cloned()
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    tied.retain(|t| seen.insert(t.clone()));
    if !tied.is_empty() {
        return tied;
    }
    v.agent
        .as_ref()
        .and_then(|a| state.agents.get(a))
        .and_then(|a| a.task.clone())
        .filter(|t| plan.task(t).is_some())
        .into_iter()
        .collect()
}

/// Approving a variation with conditions makes them acceptance criteria of the tasks it is
/// tied to (a backtick-quoted command one that runs after the task's agent finishes): adds
/// the events, says what it did for the reply.
fn conditions_to_criteria(
    state: &State,
    a: &Approval,
    conditions: Option<&str>,
    events: &mut Vec<EventKind>,
) -> String {
    let Some(conditions) = conditions.filter(|c| !c.trim().is_empty()) else {
        return String::new();
    };
    let Some(v) = (a.kind == ApprovalKind::Variation)
        .then(|| a.subject.parse::<VariationId>().ok())
        .flatten()
        .and_then(|id| state.variations.get(&id))
    else {
        return String::new();
    };
    let tasks = variation_tasks(state, v);
    if tasks.is_empty() {
        return format!(
            "; variation {} names no task of the plan (--affects <task>): its conditions are \
             recorded on it only",
            v.id
        );
    }
    let (criteria, checks) = crate::core::plan::conditions_as_criteria(conditions);
    let mut reopened = Vec::new();
    for task in &tasks {
        events.push(EventKind::TaskCriteriaAdded {
            task: task.clone(),
            criteria: criteria.clone(),
            checks: checks.clone(),
            why: format!(
                "the conditions of variation {} ({}) become acceptance criteria",
                v.id, a.id
            ),
        });
        // Work already finished has not met them yet: it runs again, with them.
        let finished = state
            .plan
            .as_ref()
            .and_then(|p| p.task(task))
            .is_some_and(|t| matches!(t.status, TaskStatus::Done | TaskStatus::NeedsReview));
        if finished {
            events.push(EventKind::TaskStatusChanged {
                task: task.clone(),
                status: TaskStatus::Todo,
                note: Some(format!(
                    "reopened: the conditions of variation {} are new acceptance criteria",
                    v.id
                )),
            });
            reopened.push(task.clone());
        }
    }
    format!(
        "; its conditions are acceptance criteria of {} ({} with a command){}",
        tasks.join(", "),
        checks.len(),
        if reopened.is_empty() {
            String::new()
        } else {
            format!("; reopened to meet them: {}", reopened.join(", "))
        }
    )
}

/// `/defer <target> [note]`: not now, more data first.
pub(super) fn defer(
    state: &State,
    target: &str,
    note: &Option<String>,
) -> Result<Outcome, Rejection> {
    let a = approval_target(state, target)?;
    still_pending(a)?;
    if a.decision == Some(Decision::Deferred) {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("{} is already deferred", a.id),
        ));
    }
    Ok(none(
        format!("{} ({} {}) deferred", a.id, a.kind, a.subject),
        vec![EventKind::ApprovalDecided {
            id: a.id,
            decision: Decision::Deferred,
            note: note.clone(),
            conditions: None,
        }],
    ))
}

/// `/reject <target> <reason>`: sent back to who asked, with the reason.
pub(super) fn reject_approval(
    state: &State,
    target: &str,
    reason: &str,
) -> Result<Outcome, Rejection> {
    let a = approval_target(state, target)?;
    still_pending(a)?;
    let mut message = format!(
        "{} ({} {}) rejected and sent back to {}",
        a.id, a.kind, a.subject, a.requested_by
    );
    let mut events = vec![EventKind::ApprovalDecided {
        id: a.id,
        decision: Decision::Rejected,
        note: Some(reason.to_string()),
        conditions: None,
    }];
    events.extend(rework(state, a, reason, &mut message));
    Ok(none(message, events))
}

/// A rejected high-impact variation's task is flagged for rework: set back to todo (its work
/// so far is never integrated as it is), with the human's reason in its history.
fn rework(state: &State, a: &Approval, reason: &str, message: &mut String) -> Option<EventKind> {
    if a.kind != ApprovalKind::Variation {
        return None;
    }
    let v = state
        .variations
        .values()
        .find(|v| v.approval == Some(a.id))?;
    let task = state.plan.as_ref()?.task(v.task.as_deref()?)?;
    if matches!(task.status, TaskStatus::Todo | TaskStatus::Failed) {
        return None;
    }
    message.push_str(&format!(
        "; task {} goes back to todo for rework without it",
        task.id
    ));
    Some(EventKind::TaskStatusChanged {
        task: task.id.clone(),
        status: TaskStatus::Todo,
        note: Some(format!(
            "rework: variation {} ({}) was rejected: {reason}",
            v.id, v.title
        )),
    })
}

/// `/request <kind> <subject> [--from <role>] <summary>`: an artifact for the human to
/// approve (variations and promotions have their own commands).
pub(super) fn request(
    state: &State,
    origin: &Origin,
    kind: ApprovalKind,
    subject: &String,
    from: Option<Role>,
    summary: &str,
    now: &str,
) -> Result<Outcome, Rejection> {
    match kind {
        ApprovalKind::Variation => {
            return Err(reject(
                RejectCode::InvalidInput,
                "variations ask for approval through /propose --impact high",
            ))
        }
        ApprovalKind::PhasePromotion => {
            return Err(reject(
                RejectCode::InvalidInput,
                "promotions ask for approval through /promote <phase>",
            ))
        }
        _ => {}
    }
    if let Some(a) = state
        .approvals
        .values()
        .find(|a| a.kind == kind && &a.subject == subject && a.is_pending())
    {
        return Err(reject(
            RejectCode::InvalidTransition,
            format!("{kind} {subject} is already awaiting approval as {}", a.id),
        ));
    }
    let actor = origin.actor();
    let by = match from {
        Some(r) => format!("{actor} ({r})"),
        None => actor,
    };
    let approval = Approval::pending(
        ApprovalId(state.counters.approvals + 1),
        kind,
        subject.clone(),
        summary.to_string(),
        by,
        now.to_string(),
    );
    Ok(Outcome {
        message: format!("{kind} {subject} awaits approval as {}", approval.id),
        data: ReplyData::Approval(Box::new(approval.clone())),
        events: vec![EventKind::ApprovalRequested { approval }],
    })
}
