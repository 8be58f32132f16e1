//! The lifecycle rules: given the state and a command, either the events that carry it out
//! or a clear rejection. Pure: no clock (the time comes in `Context`), no I/O, nothing
//! changes here — the caller appends the events and folds them in.

use crate::protocol::model::{
    Agent, Approval, ApprovalId, ApprovalKind, Clarification, ClarificationId, Concern, ConcernId,
    ConcernStatus, Decision, Handoff, HandoffId, Impact, OperationKind, Plan, Role, TaskStatus,
    Variation, VariationId,
};
use crate::protocol::report::{HelpEntry, OperationReport, ReplyData, StatusReport};
use crate::protocol::{
    grammar, suggest, Command, EventKind, Origin, RejectCode, Rejection, State, Target,
};

/// What the decision needs from outside: the time, and a plan already read and validated
/// (for `/import`, which the caller loads before taking the write lock).
pub struct Context {
    pub now: String,
    /// Who may command from Discord (`[discord]`).
    pub discord: crate::config::DiscordConfig,
    pub plan: Option<Result<Plan, Rejection>>,
    /// For `/save` and `/rollback`: what the repository check found (the caller runs it,
    /// holding the operation lock, before taking the write lock).
    pub operation: Option<Result<super::ops::Prepared, Rejection>>,
}

#[derive(Debug)]
pub struct Outcome {
    pub events: Vec<EventKind>,
    pub message: String,
    pub data: ReplyData,
}

fn reject(code: RejectCode, message: impl Into<String>) -> Rejection {
    Rejection::new(code, message)
}

fn unknown<'a>(what: &str, id: &str, known: impl IntoIterator<Item = &'a str>) -> Rejection {
    let known: Vec<&str> = known.into_iter().collect();
    let message = if known.is_empty() {
        format!("unknown {what} '{id}' (there are none)")
    } else {
        format!("unknown {what} '{id}'")
    };
    reject(RejectCode::UnknownId, message).with_suggestion(suggest(id, known))
}

fn concern(state: &State, id: ConcernId) -> Result<&Concern, Rejection> {
    state.concerns.get(&id).ok_or_else(|| {
        let ids: Vec<String> = state.concerns.keys().map(|k| k.to_string()).collect();
        unknown("concern", &id.to_string(), ids.iter().map(String::as_str))
    })
}

fn agent<'s>(state: &'s State, id: &str) -> Result<&'s Agent, Rejection> {
    state
        .agents
        .get(id)
        .ok_or_else(|| unknown("agent", id, state.agents.keys().map(String::as_str)))
}

fn plan(state: &State) -> Result<&Plan, Rejection> {
    state.plan.as_ref().ok_or_else(|| {
        reject(
            RejectCode::InvalidTransition,
            "no plan has been imported yet (overlord-tui plan import FILE)",
        )
    })
}

fn task_exists(state: &State, task: &str) -> Result<(), Rejection> {
    let plan = plan(state)?;
    if plan.task(task).is_none() {
        let ids: Vec<&str> = plan.tasks().map(|t| t.id.as_str()).collect();
        return Err(unknown("task", task, ids));
    }
    Ok(())
}

fn none(message: impl Into<String>, events: Vec<EventKind>) -> Outcome {
    Outcome {
        events,
        message: message.into(),
        data: ReplyData::None,
    }
}

/// Finds the approval a `/approve`, `/defer` or `/reject` target names: an approval id
/// (`A-3`), a variation id (`V-2`), a kind with exactly one pending approval (`plan`,
/// `design`, `test_plan`), or a phase with a pending promotion.
fn approval_target<'s>(state: &'s State, target: &str) -> Result<&'s Approval, Rejection> {
    let upper = target.to_ascii_uppercase();
    if upper.starts_with("A-") {
        if let Ok(id) = target.parse::<ApprovalId>() {
            return state.approvals.get(&id).ok_or_else(|| {
                let ids: Vec<String> = state.approvals.keys().map(|k| k.to_string()).collect();
                unknown("approval", target, ids.iter().map(String::as_str))
            });
        }
    }
    if upper.starts_with("V-") {
        if let Ok(id) = target.parse::<VariationId>() {
            let Some(v) = state.variations.get(&id) else {
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

fn unfinished_tasks(plan: &Plan, phase: &str) -> Vec<String> {
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

fn help_text(entries: &[HelpEntry], one: bool) -> String {
    let mut out = String::new();
    if !one {
        out.push_str("Commands (the same in the console, the CLI and Discord):\n");
    }
    for e in entries {
        out.push_str(&format!("  {:<44} {}\n", e.usage, e.summary));
    }
    out
}

pub fn decide(
    state: &State,
    origin: &Origin,
    command: &Command,
    ctx: &Context,
) -> Result<Outcome, Rejection> {
    if let Origin::Discord { user_id, roles, .. } = origin {
        if !ctx.discord.authorizes(user_id, roles) {
            return Err(reject(
                RejectCode::Unauthorized,
                format!(
                    "{} may not command Overlord: ask for a reviewer role (`[discord] reviewer_role_ids`) or to be allow-listed (`allowed_user_ids`)",
                    origin.actor()
                ),
            ));
        }
    }
    if command.needs_human() && !origin.is_human() {
        return Err(reject(
            RejectCode::Unauthorized,
            format!(
                "/{} is a governance decision: only a human may take it ({} is not one)",
                command.name(),
                origin.actor()
            ),
        ));
    }
    let now = &ctx.now;
    let actor = origin.actor();
    Ok(match command {
        Command::Status => {
            let report = StatusReport::from_state(state, now);
            Outcome {
                events: vec![],
                message: report.headline(),
                data: ReplyData::Status(Box::new(report)),
            }
        }
        Command::Help { command } => {
            let entries: Vec<HelpEntry> = match command {
                Some(c) => grammar::help_entries(Some(c)),
                None => grammar::COMMANDS
                    .iter()
                    .filter(|s| s.human)
                    .flat_map(|s| grammar::help_entries(Some(s.name)))
                    .collect(),
            };
            Outcome {
                events: vec![],
                message: help_text(&entries, command.is_some()),
                data: ReplyData::Help(entries),
            }
        }
        Command::Clarify { agent: id, message } => {
            agent(state, id)?;
            let open = state
                .clarifications
                .values()
                .find(|c| &c.agent == id && c.answer.is_none());
            if let Some(c) = open {
                // Seed 001: one pending clarification per agent, to avoid loops.
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!(
                        "{id} has not answered {} yet (\"{}\"); one question at a time",
                        c.id, c.question
                    ),
                ));
            }
            let clarification = Clarification {
                id: ClarificationId(state.counters.clarifications + 1),
                agent: id.clone(),
                question: message.clone(),
                asked_by: actor,
                asked_at: now.clone(),
                answer: None,
                answered_at: None,
            };
            Outcome {
                message: format!("question {} sent to {id}", clarification.id),
                data: ReplyData::Clarification(Box::new(clarification.clone())),
                events: vec![EventKind::ClarificationRequested { clarification }],
            }
        }
        Command::Answer {
            clarification,
            text,
        } => {
            let Some(c) = state.clarifications.get(clarification) else {
                let ids: Vec<String> = state.clarifications.keys().map(|k| k.to_string()).collect();
                return Err(unknown(
                    "clarification",
                    &clarification.to_string(),
                    ids.iter().map(String::as_str),
                ));
            };
            if c.answer.is_some() {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("{clarification} was already answered"),
                ));
            }
            none(
                format!("{clarification} answered"),
                vec![EventKind::ClarificationAnswered {
                    id: *clarification,
                    answer: text.clone(),
                }],
            )
        }
        Command::Assign {
            agent: id,
            concern: cid,
            text,
        } => {
            agent(state, id)?;
            match cid {
                Some(cid) => {
                    let c = concern(state, *cid)?;
                    if c.status == ConcernStatus::Resolved {
                        return Err(reject(
                            RejectCode::InvalidTransition,
                            format!("{cid} is already resolved"),
                        ));
                    }
                    let work = if text.is_empty() {
                        format!("{cid}: {}", c.summary)
                    } else {
                        format!("{cid}: {text}")
                    };
                    none(
                        format!("{cid} assigned to {id}"),
                        vec![
                            EventKind::ConcernAssigned {
                                id: *cid,
                                to: id.clone(),
                                response: (!text.is_empty()).then(|| text.clone()),
                            },
                            EventKind::WorkAssigned {
                                agent: id.clone(),
                                text: work,
                            },
                        ],
                    )
                }
                None => none(
                    format!("work assigned to {id}"),
                    vec![EventKind::WorkAssigned {
                        agent: id.clone(),
                        text: text.clone(),
                    }],
                ),
            }
        }
        Command::Ack { concern: cid } => {
            let c = concern(state, *cid)?;
            match c.status {
                ConcernStatus::Open => none(
                    format!("{cid} acknowledged"),
                    vec![EventKind::ConcernAcknowledged { id: *cid }],
                ),
                ConcernStatus::Acknowledged => {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!(
                            "{cid} is already acknowledged (by {})",
                            c.acknowledged_by.as_deref().unwrap_or("someone")
                        ),
                    ))
                }
                ConcernStatus::Assigned => {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!(
                            "{cid} is already acknowledged and assigned to {}",
                            c.assigned_to.as_deref().unwrap_or("someone")
                        ),
                    ))
                }
                ConcernStatus::Resolved => {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!("{cid} is already resolved"),
                    ))
                }
            }
        }
        Command::Resolve { concern: cid, note } => {
            let c = concern(state, *cid)?;
            if c.status == ConcernStatus::Resolved {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!(
                        "{cid} is already resolved (by {})",
                        c.resolved_by.as_deref().unwrap_or("someone")
                    ),
                ));
            }
            none(
                format!("{cid} resolved"),
                vec![EventKind::ConcernResolved {
                    id: *cid,
                    note: note.clone(),
                }],
            )
        }
        Command::Approve {
            target,
            conditions,
            note,
        } => {
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
            if a.kind == ApprovalKind::PhasePromotion {
                let unfinished = unfinished_tasks(plan(state)?, &a.subject);
                if !unfinished.is_empty() {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!(
                            "phase {} cannot be promoted: unfinished tasks {}",
                            a.subject,
                            unfinished.join(", ")
                        ),
                    ));
                }
                events.push(EventKind::PhasePromoted {
                    phase: a.subject.clone(),
                });
            }
            let mut approved = a.clone();
            approved.decision = Some(decision);
            Outcome {
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
                        String::new()
                    }
                ),
                data: ReplyData::Approval(Box::new(approved)),
            }
        }
        Command::Defer { target, note } => {
            let a = approval_target(state, target)?;
            still_pending(a)?;
            if a.decision == Some(Decision::Deferred) {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("{} is already deferred", a.id),
                ));
            }
            none(
                format!("{} ({} {}) deferred", a.id, a.kind, a.subject),
                vec![EventKind::ApprovalDecided {
                    id: a.id,
                    decision: Decision::Deferred,
                    note: note.clone(),
                    conditions: None,
                }],
            )
        }
        Command::Reject { target, reason } => {
            let a = approval_target(state, target)?;
            still_pending(a)?;
            none(
                format!(
                    "{} ({} {}) rejected and sent back to {}",
                    a.id, a.kind, a.subject, a.requested_by
                ),
                vec![EventKind::ApprovalDecided {
                    id: a.id,
                    decision: Decision::Rejected,
                    note: Some(reason.clone()),
                    conditions: None,
                }],
            )
        }
        Command::Promote { phase } => {
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
            let unfinished = unfinished_tasks(p, phase);
            if !unfinished.is_empty() {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!(
                        "phase {phase} cannot be promoted: unfinished tasks {}",
                        unfinished.join(", ")
                    ),
                ));
            }
            let pending = state.approvals.values().find(|a| {
                a.kind == ApprovalKind::PhasePromotion && &a.subject == phase && a.is_pending()
            });
            if origin.is_human() {
                // The governor's /promote is the approval itself.
                let mut events = Vec::new();
                if let Some(a) = pending {
                    events.push(EventKind::ApprovalDecided {
                        id: a.id,
                        decision: Decision::Approved,
                        note: None,
                        conditions: None,
                    });
                }
                events.push(EventKind::PhasePromoted {
                    phase: phase.clone(),
                });
                none(format!("phase {phase} promoted"), events)
            } else {
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
                    actor,
                    now.clone(),
                );
                Outcome {
                    message: format!(
                        "promotion of {phase} awaits the human's approval as {}",
                        approval.id
                    ),
                    data: ReplyData::Approval(Box::new(approval.clone())),
                    events: vec![EventKind::ApprovalRequested { approval }],
                }
            }
        }
        Command::Pause { target } => match target {
            Target::All => {
                if state.dispatch_halted {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        "everything is already paused (the kill switch is on)",
                    ));
                }
                none(
                    format!(
                        "kill switch on: dispatch halted, {} agents suspended",
                        state.agents.len()
                    ),
                    vec![EventKind::DispatchHalted {
                        reason: Some(format!("/pause all by {actor}")),
                    }],
                )
            }
            Target::Agent(id) => {
                let a = agent(state, id)?;
                if a.paused {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!("{id} is already paused"),
                    ));
                }
                none(
                    format!("{id} paused"),
                    vec![EventKind::AgentPaused { agent: id.clone() }],
                )
            }
        },
        Command::Resume { target } => match target {
            Target::All => {
                if !state.dispatch_halted && !state.agents.values().any(|a| a.paused) {
                    return Err(reject(RejectCode::InvalidTransition, "nothing is paused"));
                }
                none(
                    "dispatch resumed, every agent resumed",
                    vec![EventKind::DispatchResumed],
                )
            }
            Target::Agent(id) => {
                let a = agent(state, id)?;
                if state.dispatch_halted {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!("the kill switch is on: /resume all first (then pause the others you want held), not just {id}"),
                    ));
                }
                if !a.paused {
                    return Err(reject(
                        RejectCode::InvalidTransition,
                        format!("{id} is not paused"),
                    ));
                }
                none(
                    format!("{id} resumed"),
                    vec![EventKind::AgentResumed { agent: id.clone() }],
                )
            }
        },
        Command::Save | Command::Rollback { .. } => {
            let kind = if matches!(command, Command::Save) {
                OperationKind::Save
            } else {
                OperationKind::Rollback
            };
            if let Some(op) = &state.operation {
                return Err(reject(
                    RejectCode::Conflict,
                    format!(
                        "{} {} is running (started {} by {}); wait for it to finish",
                        op.kind, op.id, op.started_at, op.requested_by
                    ),
                ));
            }
            let prepared = match &ctx.operation {
                Some(Ok(p)) => p,
                Some(Err(r)) => return Err(r.clone()),
                None => {
                    return Err(reject(
                        RejectCode::Unavailable,
                        format!(
                            "/{} needs the repository check first; nothing was changed",
                            command.name()
                        ),
                    ))
                }
            };
            let (events, op) =
                super::ops::start_events(state, kind, prepared, &origin.actor(), &ctx.now);
            let message = match (&op.rollback, kind) {
                (Some(t), _) => match &t.branch {
                    Some(b) => format!(
                        "rollback {} started: {} onto new branch {b}",
                        op.id, t.checkpoint
                    ),
                    None => format!("rollback {} started: restoring {}", op.id, t.checkpoint),
                },
                _ => format!(
                    "Save {} started: {} finished task branch{} to integrate",
                    op.id,
                    op.tasks.len(),
                    if op.tasks.len() == 1 { "" } else { "es" }
                ),
            };
            Outcome {
                events,
                message: message.clone(),
                data: ReplyData::Operation(Box::new(OperationReport {
                    id: op.id,
                    kind,
                    outcome: None,
                    checkpoint: None,
                    steps: Vec::new(),
                    message,
                })),
            }
        }
        Command::RaiseConcern(d) => {
            if d.category.trim().is_empty() {
                return Err(reject(
                    RejectCode::InvalidInput,
                    "a concern needs a category",
                ));
            }
            if let Some(t) = &d.task {
                task_exists(state, t)?;
            }
            let from = d.from.unwrap_or_else(|| origin.role());
            let to = d.to.unwrap_or_else(|| from.escalates_to());
            let id = ConcernId(state.counters.concerns + 1);
            let concern = Concern {
                raised_by: origin.agent(),
                details: d.details.clone(),
                task: d.task.clone(),
                ..Concern::raised(
                    id,
                    from,
                    to,
                    d.severity,
                    d.category.clone(),
                    d.summary.clone(),
                    now.clone(),
                )
            };
            let mut events = vec![EventKind::ConcernRaised {
                concern: concern.clone(),
            }];
            let mut message = format!("{id} raised ({} → {to}, {})", from, d.severity);
            if d.severity == crate::protocol::model::Severity::Critical && to != Role::Human {
                // Critical concerns reach the human at once.
                events.push(EventKind::ConcernEscalated {
                    id,
                    to: Role::Human,
                    reason: "critical concerns reach the human at once".into(),
                });
                message.push_str(", escalated to the human");
            }
            Outcome {
                events,
                message,
                data: ReplyData::Concern(Box::new(concern)),
            }
        }
        Command::RecordHandoff(d) => {
            if let Some(t) = &d.task {
                task_exists(state, t)?;
            }
            let handoff = Handoff {
                id: HandoffId(state.counters.handoffs + 1),
                from: d.from,
                to: d.to,
                purpose: d.purpose.clone(),
                inputs: d.inputs.clone(),
                outputs: d.outputs.clone(),
                summary: d.summary.clone(),
                status: d.status.clone().unwrap_or_else(|| "completed".into()),
                impact: d.impact,
                task: d.task.clone(),
                agent: origin.agent(),
                timestamp: now.clone(),
            };
            let mut events = vec![EventKind::HandoffRecorded {
                handoff: handoff.clone(),
            }];
            let mut message = format!("{} recorded ({} → {})", handoff.id, d.from, d.to);
            if d.impact == Some(Impact::High) {
                // Seed 001: a handoff tagged impact: high is a variation for the human.
                let (variation, approval) = variation_with_approval(
                    state,
                    d.from,
                    origin,
                    Impact::High,
                    d.purpose.clone(),
                    Some(d.summary.clone()),
                    d.outputs.clone(),
                    now,
                );
                message.push_str(&format!(
                    "; high impact: variation {} awaits the human as {}",
                    variation.id,
                    approval
                        .as_ref()
                        .map(|a| a.id.to_string())
                        .unwrap_or_default()
                ));
                events.push(EventKind::VariationProposed { variation });
                events.extend(approval.map(|approval| EventKind::ApprovalRequested { approval }));
            }
            Outcome {
                events,
                message,
                data: ReplyData::Handoff(Box::new(handoff)),
            }
        }
        Command::ProposeVariation(d) => {
            let from = d.from.unwrap_or_else(|| origin.role());
            let (variation, approval) = variation_with_approval(
                state,
                from,
                origin,
                d.impact,
                d.title.clone(),
                d.rationale.clone(),
                d.affects.clone(),
                now,
            );
            let message = match &approval {
                Some(a) => format!(
                    "variation {} proposed (high impact): awaits the human as {}",
                    variation.id, a.id
                ),
                None => format!(
                    "variation {} logged ({} impact: within the guard rails, no human review)",
                    variation.id, d.impact
                ),
            };
            let mut events = vec![EventKind::VariationProposed {
                variation: variation.clone(),
            }];
            events.extend(approval.map(|approval| EventKind::ApprovalRequested { approval }));
            Outcome {
                events,
                message,
                data: ReplyData::Variation(Box::new(variation)),
            }
        }
        Command::RequestApproval {
            kind,
            subject,
            from,
            summary,
        } => {
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
                .find(|a| a.kind == *kind && &a.subject == subject && a.is_pending())
            {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("{kind} {subject} is already awaiting approval as {}", a.id),
                ));
            }
            let by = match from {
                Some(r) => format!("{actor} ({r})"),
                None => actor,
            };
            let approval = Approval::pending(
                ApprovalId(state.counters.approvals + 1),
                *kind,
                subject.clone(),
                summary.clone(),
                by,
                now.clone(),
            );
            Outcome {
                message: format!("{kind} {subject} awaits approval as {}", approval.id),
                data: ReplyData::Approval(Box::new(approval.clone())),
                events: vec![EventKind::ApprovalRequested { approval }],
            }
        }
        Command::ImportPlan { path } => {
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
            // Re-importing keeps the progress of tasks that are still in the plan.
            if let Some(old) = &state.plan {
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
            let tasks = new_plan.tasks().count();
            let phases = new_plan.phases.len();
            let mut events = vec![EventKind::PlanImported {
                plan: new_plan.clone(),
            }];
            let already = state.approvals.values().any(|a| {
                a.kind == ApprovalKind::Plan && a.subject == new_plan.id && a.is_pending()
            });
            let mut message = format!(
                "plan '{}' imported: {phases} phases, {tasks} tasks",
                new_plan.title
            );
            if !already {
                let approval = Approval::pending(
                    ApprovalId(state.counters.approvals + 1),
                    ApprovalKind::Plan,
                    new_plan.id.clone(),
                    format!("plan '{}' ({phases} phases, {tasks} tasks)", new_plan.title),
                    actor,
                    now.clone(),
                );
                message.push_str(&format!("; awaits the human's approval as {}", approval.id));
                events.push(EventKind::ApprovalRequested { approval });
            }
            Outcome {
                events,
                message,
                data: ReplyData::Plan(Box::new(new_plan)),
            }
        }
        Command::RegisterAgent {
            id,
            role,
            adapter,
            task,
        } => {
            if id.eq_ignore_ascii_case("all") {
                return Err(reject(
                    RejectCode::InvalidInput,
                    "'all' is reserved (it means every agent in /pause all)",
                ));
            }
            if state.agents.contains_key(id) {
                return Err(reject(
                    RejectCode::InvalidTransition,
                    format!("agent {id} is already registered"),
                ));
            }
            if let Some(t) = task {
                task_exists(state, t)?;
            }
            let mut agent = Agent::new(id, *role, adapter.as_deref().unwrap_or("manual"), now);
            agent.task = task.clone();
            Outcome {
                message: format!("agent {id} registered ({role})"),
                data: ReplyData::Agent(Box::new(agent.clone())),
                events: vec![EventKind::AgentRegistered { agent }],
            }
        }
        Command::LinkMessage {
            concern: cid,
            message,
        } => {
            if !matches!(origin, Origin::System) {
                return Err(reject(
                    RejectCode::Unauthorized,
                    "/link is the Discord bridge's own record",
                ));
            }
            concern(state, *cid)?;
            if message.is_empty() || !message.bytes().all(|b| b.is_ascii_digit()) {
                return Err(reject(
                    RejectCode::InvalidInput,
                    format!("{message:?} is not a Discord message id"),
                ));
            }
            none(
                format!("{cid} is shown by Discord message {message}"),
                vec![EventKind::ConcernMessageLinked {
                    id: *cid,
                    message_id: message.clone(),
                }],
            )
        }
        Command::SetTaskStatus { task, status, note } => {
            task_exists(state, task)?;
            let p = plan(state)?;
            let t = p.task(task).ok_or_else(|| unknown("task", task, []))?;
            if t.status == *status {
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
            none(
                format!("{task}: {} → {status}", t.status),
                vec![EventKind::TaskStatusChanged {
                    task: task.clone(),
                    status: *status,
                    note: note.clone(),
                }],
            )
        }
    })
}

#[allow(clippy::too_many_arguments)]
fn variation_with_approval(
    state: &State,
    from: Role,
    origin: &Origin,
    impact: Impact,
    title: String,
    rationale: Option<String>,
    affects: Vec<String>,
    now: &str,
) -> (Variation, Option<Approval>) {
    let id = VariationId(state.counters.variations + 1);
    let approval = (impact == Impact::High).then(|| {
        Approval::pending(
            ApprovalId(state.counters.approvals + 1),
            ApprovalKind::Variation,
            id.to_string(),
            title.clone(),
            origin.actor(),
            now.to_string(),
        )
    });
    let variation = Variation {
        id,
        proposed_by: from,
        agent: origin.agent(),
        title,
        impact,
        rationale,
        affects,
        proposed_at: now.to_string(),
        approval: approval.as_ref().map(|a| a.id),
        decision: None,
        conditions: None,
        comment: None,
        reviewed_by: None,
        decided_at: None,
    };
    (variation, approval)
}
