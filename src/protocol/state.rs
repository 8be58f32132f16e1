//! The state every front end renders, and the one pure reducer that folds events into it.
//! Nothing here reads a clock or a file: the same events always give the same state, which
//! is what makes restarts, snapshots and `audit verify`'s replay check exact.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::event::{Event, EventKind};
use super::model::{
    Agent, AgentState, Alert, Approval, ApprovalId, ApprovalKind, Checkpoint, Clarification,
    ClarificationId, Concern, ConcernId, ConcernStatus, Counters, Decision, GateResult, GitSession,
    Handoff, Operation, Plan, QaRun, QaRunId, SessionStatus, Variation, VariationId,
};

/// The git action that records a protected main branch moved outside Overlord (not absorbed).
pub const OUTSIDE_MOVE: &str = "outside_move";
/// Overlord's notes ref (the same as `git::NOTES_REF`; the protocol does not depend on git).
const NOTES_REF: &str = "refs/notes/overlord";

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct State {
    /// The sequence number of the last event folded in.
    pub last_event_seq: u64,
    /// What each task's agent runs did, added up (`agent_run_reported`), kept after the task.
    #[serde(default)]
    pub task_telemetry: BTreeMap<String, crate::protocol::model::TaskTelemetry>,
    pub plan: Option<Plan>,
    pub agents: BTreeMap<String, Agent>,
    pub concerns: BTreeMap<ConcernId, Concern>,
    pub handoffs: Vec<Handoff>,
    pub variations: BTreeMap<VariationId, Variation>,
    pub approvals: BTreeMap<ApprovalId, Approval>,
    pub clarifications: BTreeMap<ClarificationId, Clarification>,
    pub checkpoints: Vec<Checkpoint>,
    pub qa_runs: Vec<QaRun>,
    /// The QA run in progress, gate by gate (for the console's QA pane).
    #[serde(default)]
    pub qa_live: Option<LiveQa>,
    /// The kill switch (`/pause all`).
    pub dispatch_halted: bool,
    pub session: SessionStatus,
    pub counters: Counters,
    /// The git session (branch names); set by the first Save or task worktree.
    #[serde(default)]
    pub git: Option<GitSession>,
    /// Where Overlord last left the protected main branch (Save, rollback, or an acknowledged
    /// outside commit); `audit verify --git` compares the repository with it.
    #[serde(default)]
    pub main_head: Option<String>,
    /// Where Overlord last left `refs/notes/overlord` (its `note` git actions); the owner puts
    /// the notes ref back there when it is rewritten outside Overlord.
    #[serde(default)]
    pub notes_head: Option<String>,
    /// The Save or rollback in progress.
    #[serde(default)]
    pub operation: Option<Operation>,
    /// The tasks the human approved to run: the plan's tasks when its approval was decided,
    /// and the tasks Overlord added to it since (branch todos). A re-imported plan's new
    /// tasks wait here for the new approval while the approved ones go on.
    #[serde(default)]
    pub approved_tasks: std::collections::BTreeSet<String>,
    /// The reviewer loop's reviews, oldest first (each task's rounds in order).
    #[serde(default)]
    pub reviews: Vec<crate::protocol::model::Review>,
    /// Task branches built on commits a rollback took out of `main`: task → reason.
    #[serde(default)]
    pub flagged_tasks: BTreeMap<String, String>,
    /// The metrics' alerts in force, by key (`metric_alert` until `metric_alert_cleared`).
    #[serde(default)]
    pub alerts: BTreeMap<String, Alert>,
    /// Agents' tokens and cost by UTC day (`YYYY-MM-DD` of the `agent_activity` events), for
    /// the health line's "spend today".
    #[serde(default)]
    pub spend_by_day: BTreeMap<String, DaySpend>,
    /// Filed tickets by id (seed 002 §5.1): the `ready-for-robot` queue and the approved.
    #[serde(default)]
    pub tickets: BTreeMap<String, super::model::Ticket>,
    /// The janitor's last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub janitor: Option<super::model::JanitorRun>,
}

/// Tokens and cost (micro-dollars) spent on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct DaySpend {
    pub tokens: u64,
    pub cost_micros: u64,
}

impl State {
    /// Folds one event in. Events arrive in `seq` order; an event whose `seq` is not the next
    /// one is a bug in the caller (the store guarantees order), so it is still applied but
    /// `last_event_seq` follows the event.
    pub fn apply(&mut self, event: &Event) {
        self.last_event_seq = event.seq;
        match &event.kind {
            EventKind::PlanImported { .. }
            | EventKind::TaskStatusChanged { .. }
            | EventKind::TaskAdded { .. }
            | EventKind::TaskCriteriaAdded { .. }
            | EventKind::ReviewRecorded { .. }
            | EventKind::PhasePromoted { .. } => self.fold_plan(event),
            EventKind::TicketFiled { ticket } => {
                self.tickets.insert(ticket.id.clone(), ticket.clone());
            }
            EventKind::TicketsApproved { tickets, tasks } => super::model::fold_approved_tickets(
                &mut self.tickets,
                &mut self.plan,
                &mut self.approved_tasks,
                tickets,
                tasks,
                &event.at,
            ),
            EventKind::JanitorRan { run, task } => super::model::fold_janitor(
                &mut self.janitor,
                &mut self.plan,
                &mut self.approved_tasks,
                run,
                task.as_ref(),
                &event.at,
            ),
            EventKind::ApprovalRequested { .. }
            | EventKind::ApprovalDecided { .. }
            | EventKind::VariationProposed { .. }
            | EventKind::HandoffRecorded { .. } => self.fold_approvals(event),
            EventKind::ConcernRaised { .. }
            | EventKind::ConcernAcknowledged { .. }
            | EventKind::ConcernAssigned { .. }
            | EventKind::ConcernEscalated { .. }
            | EventKind::ConcernResolved { .. }
            | EventKind::ConcernMessageLinked { .. } => self.fold_concerns(event),
            EventKind::AgentRegistered { .. }
            | EventKind::AgentPaused { .. }
            | EventKind::AgentProcessStarted { .. }
            | EventKind::AgentProcessEnded { .. }
            | EventKind::AgentResumed { .. }
            | EventKind::DispatchHalted { .. }
            | EventKind::DispatchResumed
            | EventKind::AgentStateChanged { .. }
            | EventKind::AgentActivity { .. }
            | EventKind::AgentRunReported { .. }
            | EventKind::WorkAssigned { .. } => self.fold_agents(event),
            EventKind::ClarificationRequested { .. } | EventKind::ClarificationAnswered { .. } => {
                self.fold_clarifications(event)
            }
            EventKind::QaStarted { .. }
            | EventKind::QaGateStarted { .. }
            | EventKind::QaGateProgress { .. }
            | EventKind::QaGateFinished { .. }
            | EventKind::QaRunRecorded { .. } => self.fold_qa(event),
            EventKind::SessionStatusChanged { .. }
            | EventKind::GitSessionStarted { .. }
            | EventKind::GitAction { .. }
            | EventKind::OperationStarted { .. }
            | EventKind::OperationStep { .. }
            | EventKind::OperationPublishing { .. }
            | EventKind::OperationFinished { .. }
            | EventKind::CheckpointCreated { .. }
            | EventKind::TaskBranchFlagged { .. } => self.fold_git(event),
            EventKind::MetricAlert { .. } | EventKind::MetricAlertCleared { .. } => {
                self.fold_alerts(event)
            }
            EventKind::DailyReportWritten { .. } | EventKind::PlanRequested { .. } => {}
            EventKind::AuditLossAccepted { ids_from, .. } => self.ids_go_on_after(*ids_from),
        }
        self.retire_after(&event.kind);
    }

    /// After a loss of audit records: ids and event numbers continue above any handed out.
    fn ids_go_on_after(&mut self, n: u64) {
        let c = &mut self.counters;
        for counter in [
            &mut c.concerns,
            &mut c.handoffs,
            &mut c.variations,
            &mut c.approvals,
            &mut c.clarifications,
            &mut c.qa_runs,
            &mut c.operations,
        ] {
            *counter = (*counter).max(n);
        }
        self.last_event_seq = self.last_event_seq.max(n);
    }

    /// Folds in the plan: imported, a task added or its status changed, a phase promoted.
    fn fold_plan(&mut self, event: &Event) {
        let at = &event.at;
        let actor = &event.actor;
        match &event.kind {
            EventKind::PlanImported { plan } => self.plan = Some(plan.clone()),
            EventKind::TaskStatusChanged { task, status, note } => {
                if let Some(t) = self.plan.as_mut().and_then(|p| p.task_mut(task)) {
                    t.status = *status;
                    if let Some(note) = note {
                        t.commentary.push(format!("{at} {actor}: {note}"));
                    }
                }
            }
            EventKind::TaskAdded { phase, task } => {
                if let Some(p) = self
                    .plan
                    .as_mut()
                    .and_then(|p| p.phases.iter_mut().find(|p| &p.id == phase))
                {
                    if !p.tasks.iter().any(|t| t.id == task.id) {
                        p.tasks.push(task.clone());
                    }
                    // Added to the running plan by Overlord (a branch todo): it runs with it.
                    self.approved_tasks.insert(task.id.clone());
                }
            }
            EventKind::TaskCriteriaAdded {
                task,
                criteria,
                checks,
                why,
            } => {
                if let Some(t) = self.plan.as_mut().and_then(|p| p.task_mut(task)) {
                    t.acceptance_criteria.extend(criteria.iter().cloned());
                    t.acceptance_checks.extend(checks.iter().cloned());
                    t.commentary.push(format!("{at} {actor}: {why}"));
                }
            }
            EventKind::ReviewRecorded { review } => {
                if let Some(t) = self.plan.as_mut().and_then(|p| p.task_mut(&review.task)) {
                    let mut line = format!(
                        "{at} {actor}: review {} by {}: {}",
                        review.round, review.reviewer, review.verdict
                    );
                    for f in review.finding_lines() {
                        line.push_str(&format!("\n  {f}"));
                    }
                    t.commentary.push(line);
                }
                self.reviews.push(review.clone());
            }
            EventKind::PhasePromoted { phase } => {
                if let Some(p) = self
                    .plan
                    .as_mut()
                    .and_then(|p| p.phases.iter_mut().find(|p| &p.id == phase))
                {
                    p.promoted_at = Some(at.clone());
                }
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in approvals asked and decided (a decided variation takes the decision too),
    /// variations proposed, hand-offs recorded.
    fn fold_approvals(&mut self, event: &Event) {
        let at = &event.at;
        let actor = &event.actor;
        match &event.kind {
            EventKind::ApprovalRequested { approval } => {
                self.counters.approvals = self.counters.approvals.max(approval.id.0);
                self.approvals.insert(approval.id, approval.clone());
            }
            EventKind::ApprovalDecided {
                id,
                decision,
                note,
                conditions,
            } => {
                let Some(a) = self.approvals.get_mut(id) else {
                    return;
                };
                a.decision = Some(*decision);
                a.decided_by = Some(actor.clone());
                a.decided_at = Some(at.clone());
                a.note = note.clone();
                a.conditions = conditions.clone();
                let (kind, subject) = (a.kind, a.subject.clone());
                let approved = matches!(
                    decision,
                    Decision::Approved | Decision::ApprovedWithConditions
                );
                if kind == ApprovalKind::Plan && approved {
                    if let Some(plan) = self.plan.as_ref().filter(|p| p.id == subject) {
                        self.approved_tasks = plan.tasks().map(|t| t.id.clone()).collect();
                    }
                }
                // Phase promotions follow with their own `PhasePromoted` event.
                if kind == ApprovalKind::Variation {
                    if let Some(v) = subject
                        .parse::<VariationId>()
                        .ok()
                        .and_then(|v| self.variations.get_mut(&v))
                    {
                        v.decision = Some(*decision);
                        v.conditions = conditions.clone();
                        v.comment = note.clone();
                        v.reviewed_by = Some(actor.clone());
                        v.decided_at = Some(at.clone());
                    }
                }
            }
            EventKind::VariationProposed { variation } => {
                self.counters.variations = self.counters.variations.max(variation.id.0);
                self.variations.insert(variation.id, variation.clone());
            }
            EventKind::HandoffRecorded { handoff } => {
                self.counters.handoffs = self.counters.handoffs.max(handoff.id.0);
                self.handoffs.push(handoff.clone());
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in concerns raised, acknowledged, assigned, escalated, resolved, and the Discord
    /// message that shows one.
    fn fold_concerns(&mut self, event: &Event) {
        let at = &event.at;
        let actor = &event.actor;
        match &event.kind {
            EventKind::ConcernRaised { concern } => {
                self.counters.concerns = self.counters.concerns.max(concern.id.0);
                self.concerns.insert(concern.id, concern.clone());
            }
            EventKind::ConcernAcknowledged { id } => {
                if let Some(c) = self.concerns.get_mut(id) {
                    c.status = ConcernStatus::Acknowledged;
                    c.acknowledged_by = Some(actor.clone());
                    c.acknowledged_at = Some(at.clone());
                }
            }
            EventKind::ConcernAssigned { id, to, response } => {
                if let Some(c) = self.concerns.get_mut(id) {
                    if c.acknowledged_at.is_none() {
                        c.acknowledged_by = Some(actor.clone());
                        c.acknowledged_at = Some(at.clone());
                    }
                    c.status = ConcernStatus::Assigned;
                    c.assigned_to = Some(to.clone());
                    c.response = response.clone();
                }
            }
            EventKind::ConcernEscalated { id, to, .. } => {
                if let Some(c) = self.concerns.get_mut(id) {
                    c.to = *to;
                    c.escalations.push(*to);
                    c.escalated_at = Some(at.clone());
                }
            }
            EventKind::ConcernResolved { id, note } => {
                if let Some(c) = self.concerns.get_mut(id) {
                    c.status = ConcernStatus::Resolved;
                    c.resolved_by = Some(actor.clone());
                    c.resolved_at = Some(at.clone());
                    c.resolution = note.clone();
                }
            }
            EventKind::ConcernMessageLinked { id, message_id } => {
                if let Some(c) = self.concerns.get_mut(id) {
                    c.discord_message_id = Some(message_id.clone());
                }
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in agents registered, paused and resumed (one by one or by the kill switch), their
    /// state, activity, spend and assigned work.
    fn fold_agents(&mut self, event: &Event) {
        let at = &event.at;
        match &event.kind {
            EventKind::AgentRegistered { agent } => {
                let mut agent = agent.clone();
                agent.paused = agent.paused || self.dispatch_halted;
                self.agents.insert(agent.id.clone(), agent);
            }
            EventKind::AgentPaused { agent } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.paused = true;
                    a.last_event_at = Some(at.clone());
                }
            }
            EventKind::AgentProcessStarted { agent, process } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.process = Some(process.clone());
                }
            }
            EventKind::AgentProcessEnded { agent, pid } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    if a.process.as_ref().is_some_and(|p| p.pid == *pid) {
                        a.process = None;
                    }
                }
            }
            EventKind::AgentResumed { agent } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.paused = false;
                    a.last_event_at = Some(at.clone());
                }
            }
            EventKind::DispatchHalted { .. } => {
                self.dispatch_halted = true;
                for a in self.agents.values_mut() {
                    a.paused = true;
                }
            }
            EventKind::DispatchResumed => {
                self.dispatch_halted = false;
                for a in self.agents.values_mut() {
                    a.paused = false;
                }
            }
            EventKind::AgentStateChanged {
                agent,
                state,
                task,
                detail,
                attempt,
                session_id,
                until,
            } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    // A new task starts a new list; the end of one keeps its files in view.
                    if task.is_some() && a.task != *task {
                        a.files_touched.clear();
                    }
                    a.state = *state;
                    a.task = task.clone();
                    a.detail = detail.clone();
                    if let Some(n) = attempt {
                        a.attempt = *n;
                    }
                    if session_id.is_some() {
                        a.session_id = session_id.clone();
                    }
                    a.rate_limited_until = until.clone();
                    a.last_event_at = Some(at.clone());
                }
                if *state == AgentState::Running {
                    if let Some(t) = task
                        .as_ref()
                        .and_then(|t| self.plan.as_mut().and_then(|p| p.task_mut(t)))
                    {
                        t.owner = Some(agent.clone());
                    }
                }
            }
            EventKind::AgentActivity {
                agent,
                events,
                tokens,
                cost_micros,
                last_output,
                files,
                session_id,
            } => {
                if *tokens > 0 || *cost_micros > 0 {
                    let day = self
                        .spend_by_day
                        .entry(at.get(..10).unwrap_or(at).to_string())
                        .or_default();
                    day.tokens = day.tokens.saturating_add(*tokens);
                    day.cost_micros = day.cost_micros.saturating_add(*cost_micros);
                }
                if let Some(a) = self.agents.get_mut(agent) {
                    a.events += events;
                    a.tokens += tokens;
                    a.cost_micros += cost_micros;
                    if last_output.is_some() {
                        a.last_output = last_output.clone();
                    }
                    for f in files {
                        if !a.files_touched.contains(f) && a.files_touched.len() < Agent::MAX_FILES
                        {
                            a.files_touched.push(f.clone());
                        }
                    }
                    if session_id.is_some() {
                        a.session_id = session_id.clone();
                    }
                    a.last_event_at = Some(at.clone());
                }
            }
            EventKind::AgentRunReported {
                task: Some(task),
                run,
                ..
            } => {
                self.task_telemetry
                    .entry(task.clone())
                    .or_default()
                    .add(run);
            }
            EventKind::WorkAssigned { agent, text } => {
                if let Some(a) = self.agents.get_mut(agent) {
                    a.assignment = Some(text.clone());
                    a.last_event_at = Some(at.clone());
                }
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in questions to agents and their answers.
    fn fold_clarifications(&mut self, event: &Event) {
        let at = &event.at;
        match &event.kind {
            EventKind::ClarificationRequested { clarification } => {
                self.counters.clarifications = self.counters.clarifications.max(clarification.id.0);
                self.clarifications
                    .insert(clarification.id, clarification.clone());
                if let Some(a) = self.agents.get_mut(&clarification.agent) {
                    a.last_event_at = Some(at.clone());
                }
            }
            EventKind::ClarificationAnswered { id, answer } => {
                if let Some(c) = self.clarifications.get_mut(id) {
                    c.answer = Some(answer.clone());
                    c.answered_at = Some(at.clone());
                }
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in QA runs: started, gate by gate, recorded.
    fn fold_qa(&mut self, event: &Event) {
        match &event.kind {
            EventKind::QaStarted {
                run,
                tree,
                gates,
                promotion,
            } => {
                self.counters.qa_runs = self.counters.qa_runs.max(run.0);
                self.qa_live = Some(LiveQa {
                    run: *run,
                    tree: tree.clone(),
                    promotion: *promotion,
                    gates: gates.clone(),
                    running: None,
                    finished: Vec::new(),
                });
            }
            EventKind::QaGateStarted {
                run, gate, attempt, ..
            } => {
                if let Some(l) = self.qa_live.as_mut().filter(|l| l.run == *run) {
                    l.running = Some(LiveGate {
                        gate: gate.clone(),
                        attempt: *attempt,
                        done: 0,
                        total: None,
                    });
                }
            }
            EventKind::QaGateProgress {
                run,
                gate,
                done,
                total,
            } => {
                if let Some(g) = self
                    .qa_live
                    .as_mut()
                    .filter(|l| l.run == *run)
                    .and_then(|l| l.running.as_mut())
                    .filter(|g| &g.gate == gate)
                {
                    g.done = *done;
                    g.total = *total;
                }
            }
            EventKind::QaGateFinished { run, result } => {
                if let Some(l) = self.qa_live.as_mut().filter(|l| l.run == *run) {
                    if l.running.as_ref().is_some_and(|g| g.gate == result.gate) {
                        l.running = None;
                    }
                    l.finished.retain(|g| g.gate != result.gate);
                    l.finished.push(result.clone());
                }
            }
            EventKind::QaRunRecorded { run } => {
                self.counters.qa_runs = self.counters.qa_runs.max(run.id.0);
                if self.qa_live.as_ref().is_some_and(|l| l.run == run.id) {
                    self.qa_live = None;
                }
                self.qa_runs.push(run.clone());
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in the git session, the main branch, Saves and rollbacks in progress, checkpoints and
    /// flagged task branches.
    fn fold_git(&mut self, event: &Event) {
        match &event.kind {
            EventKind::SessionStatusChanged { status } => self.session = *status,
            EventKind::GitSessionStarted { session } => self.git = Some(session.clone()),
            // A move found outside Overlord is recorded, never absorbed: main_head stays
            // until the human's `/adopt main` or `/restore main`.
            EventKind::GitAction {
                reference,
                new,
                action,
                ..
            } if self.git.as_ref().map(|g| g.main_ref()).as_deref() == Some(reference.as_str())
                && action != OUTSIDE_MOVE =>
            {
                self.main_head = new.clone();
            }
            EventKind::GitAction { reference, new, .. } if reference == NOTES_REF => {
                self.notes_head = new.clone();
            }
            EventKind::OperationStarted { operation } => {
                self.counters.operations = self.counters.operations.max(operation.id);
                self.operation = Some(operation.clone());
            }
            EventKind::OperationStep { id, step, detail } => {
                if let Some(op) = self.operation.as_mut().filter(|o| o.id == *id) {
                    op.steps.push(step_line(step, detail));
                }
            }
            EventKind::OperationPublishing { id, plan } => {
                if let Some(op) = self.operation.as_mut().filter(|o| o.id == *id) {
                    op.publish = Some(plan.clone());
                }
            }
            EventKind::OperationFinished { id, .. }
                if self.operation.as_ref().is_some_and(|o| o.id == *id) =>
            {
                self.operation = None;
            }
            EventKind::CheckpointCreated { checkpoint } => {
                self.checkpoints.push(checkpoint.clone())
            }
            EventKind::TaskBranchFlagged { task, reason, .. } => {
                self.flagged_tasks.insert(task.clone(), reason.clone());
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// Folds in the metrics' alerts raised and cleared.
    fn fold_alerts(&mut self, event: &Event) {
        match &event.kind {
            EventKind::MetricAlert {
                level,
                key,
                message,
                concern,
            } => {
                self.alerts.insert(
                    key.clone(),
                    Alert {
                        level: *level,
                        key: key.clone(),
                        message: message.clone(),
                        concern: *concern,
                    },
                );
            }
            EventKind::MetricAlertCleared { key } => {
                self.alerts.remove(key);
            }
            // The other families fold the other events.
            _ => {}
        }
    }

    /// The metrics' alerts in force, most severe first, then by key.
    pub fn alerts_in_force(&self) -> Vec<&Alert> {
        let mut out: Vec<&Alert> = self.alerts.values().collect();
        out.sort_by(|a, b| Alert::most_severe_first(a, b));
        out
    }

    /// Agents that are working: registered, not paused, not finished or failed.
    pub fn active_agents(&self) -> impl Iterator<Item = &Agent> {
        self.agents.values().filter(|a| {
            !a.paused
                && matches!(
                    a.state,
                    AgentState::Running | AgentState::Waiting | AgentState::RateLimited
                )
        })
    }

    /// No new work is dispatched: the kill switch, or a Save or rollback running.
    pub fn dispatch_frozen(&self) -> bool {
        self.dispatch_halted
            || matches!(
                self.session,
                SessionStatus::Saving | SessionStatus::RollingBack
            )
    }

    pub fn open_concerns(&self) -> impl Iterator<Item = &Concern> {
        self.concerns
            .values()
            .filter(|c| c.status != ConcernStatus::Resolved)
    }

    pub fn pending_approvals(&self) -> impl Iterator<Item = &Approval> {
        self.approvals.values().filter(|a| a.is_pending())
    }
}

/// One line of an operation's progress, as `Operation::steps` keeps it.
pub fn step_line(step: &str, detail: &str) -> String {
    if detail.is_empty() {
        step.to_string()
    } else {
        format!("{step}: {detail}")
    }
}

/// A QA run while its gates run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveQa {
    pub run: QaRunId,
    pub tree: String,
    pub promotion: bool,
    /// The gates it will run, in order.
    pub gates: Vec<String>,
    pub running: Option<LiveGate>,
    pub finished: Vec<GateResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveGate {
    pub gate: String,
    pub attempt: u32,
    pub done: u64,
    pub total: Option<u64>,
}
