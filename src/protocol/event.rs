//! Sequence-numbered events: the only way state changes. The core emits them; the reducer in
//! `state.rs` folds them; every front end renders the result. A gap in `seq` means "ask for a
//! fresh snapshot", never "patch it up".

use serde::{Deserialize, Serialize};

use super::model::{
    AcceptanceCheck, Agent, AgentProcess, AgentState, AlertLevel, Approval, ApprovalId, Checkpoint,
    Clarification, ClarificationId, Concern, ConcernId, Decision, GateResult, GitSession, Handoff,
    JanitorRun, Operation, OperationKind, OperationOutcome, Plan, PublishPlan, QaRun, QaRunId,
    Review, Role, RunTelemetry, SessionStatus, Task, TaskStatus, Ticket, Timestamp, Variation,
};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// 1, 2, 3, … with no gaps, across restarts.
    pub seq: u64,
    pub at: Timestamp,
    /// The audit sequence number of the command that caused it, if a command did.
    pub command_seq: Option<u64>,
    /// Who caused it (`Origin::actor`).
    pub actor: String,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    PlanImported {
        plan: Plan,
    },
    TaskStatusChanged {
        task: String,
        status: TaskStatus,
        note: Option<String>,
    },
    PhasePromoted {
        phase: String,
    },
    /// The human asked for a plan (`/plan <goal>`): the supervisor runs the planner.
    PlanRequested {
        goal: String,
    },
    /// A ticket entered the `ready-for-robot` queue (seed 002 §5.1).
    TicketFiled {
        ticket: Ticket,
    },
    /// The human approved a batch of tickets: their plan tasks (in the `tickets` phase) may
    /// run.
    TicketsApproved {
        tickets: Vec<String>,
        tasks: Vec<Task>,
    },
    /// The janitor ran; when it kept updates, `task` (done) hands its branch in for Save.
    JanitorRan {
        run: JanitorRun,
        task: Option<Task>,
    },
    ApprovalRequested {
        approval: Approval,
    },
    ApprovalDecided {
        id: ApprovalId,
        decision: Decision,
        note: Option<String>,
        conditions: Option<String>,
    },
    ConcernRaised {
        concern: Concern,
    },
    ConcernAcknowledged {
        id: ConcernId,
    },
    ConcernAssigned {
        id: ConcernId,
        to: String,
        response: Option<String>,
    },
    ConcernEscalated {
        id: ConcernId,
        to: Role,
        reason: String,
    },
    ConcernResolved {
        id: ConcernId,
        note: Option<String>,
    },
    /// The Discord message that shows the concern (the bridge edits it as the status moves).
    ConcernMessageLinked {
        id: ConcernId,
        message_id: String,
    },
    HandoffRecorded {
        handoff: Handoff,
    },
    VariationProposed {
        variation: Variation,
    },
    AgentRegistered {
        agent: Agent,
    },
    AgentPaused {
        agent: String,
    },
    /// The owner started the agent's CLI process (pid and start time: see `AgentProcess`).
    AgentProcessStarted {
        agent: String,
        process: AgentProcess,
    },
    /// The agent's CLI process and everything it started have ended (or were stopped).
    AgentProcessEnded {
        agent: String,
        pid: u32,
    },
    /// The supervisor moved an agent to a new state (started a task, finished, failed,
    /// rate-limited until a time, …). `task` replaces the agent's task.
    AgentStateChanged {
        agent: String,
        state: AgentState,
        task: Option<String>,
        detail: Option<String>,
        /// Which attempt at the task (1-based), when a run starts.
        attempt: Option<u32>,
        session_id: Option<String>,
        /// For `rate_limited`: when it resumes.
        until: Option<Timestamp>,
    },
    /// What an agent's CLI did since the last such event, coalesced (one per agent per
    /// flush, so a chatty CLI does not write an audit record per line): how many normalized
    /// events, the usage added, the last output and the files its tools touched.
    AgentActivity {
        agent: String,
        events: u64,
        tokens: u64,
        cost_micros: u64,
        last_output: Option<String>,
        files: Vec<String>,
        session_id: Option<String>,
    },
    /// What one run of an agent's CLI did (issue 21 §3): its tool calls and which failed,
    /// the files it touched (repo-relative), its tokens, cost (and where the cost came from)
    /// and model. Added up per task in the state (`task_telemetry`).
    AgentRunReported {
        agent: String,
        task: Option<String>,
        run: RunTelemetry,
    },
    /// A task added to a phase after the plan's import (seed 003 branch todo).
    TaskAdded {
        phase: String,
        task: Task,
    },
    /// Acceptance criteria added to a task after the import: the conditions of a
    /// high-impact variation approved with conditions (`why` says which).
    TaskCriteriaAdded {
        task: String,
        criteria: Vec<String>,
        checks: Vec<AcceptanceCheck>,
        why: String,
    },
    /// A Reviewer agent's verdict on a finished task's diff (the reviewer loop).
    ReviewRecorded {
        review: Review,
    },
    AgentResumed {
        agent: String,
    },
    /// The kill switch: dispatch stops and every agent is suspended.
    DispatchHalted {
        reason: Option<String>,
    },
    DispatchResumed,
    WorkAssigned {
        agent: String,
        text: String,
    },
    ClarificationRequested {
        clarification: Clarification,
    },
    ClarificationAnswered {
        id: ClarificationId,
        answer: String,
    },
    SessionStatusChanged {
        status: SessionStatus,
    },
    CheckpointCreated {
        checkpoint: Checkpoint,
    },
    /// The QA gates started on a tree (the run's id is taken here).
    QaStarted {
        run: QaRunId,
        tree: String,
        gates: Vec<String>,
        promotion: bool,
    },
    QaGateStarted {
        run: QaRunId,
        gate: String,
        /// The command line, when the gate runs one.
        command: Option<String>,
        /// Which of the repeated test runs this is (1-based), for the test gate.
        attempt: u32,
    },
    /// Tests done so far in the running gate, and the total when the runner announced it.
    QaGateProgress {
        run: QaRunId,
        gate: String,
        done: u64,
        total: Option<u64>,
    },
    QaGateFinished {
        run: QaRunId,
        result: GateResult,
    },
    QaRunRecorded {
        run: QaRun,
    },
    /// A git action Overlord took (commit, merge, ref update, tag, note), or a change of a
    /// protected branch it found (`external_commit`). Mirrored to `audit/git_actions.jsonl`.
    GitAction {
        action: String,
        reference: String,
        old: Option<String>,
        new: Option<String>,
        /// What was brought in (a task branch, a checkpoint), when there is one.
        source: Option<String>,
        /// Why: `save`, `rollback`, `flush`, `recovery`, `external`.
        trigger: String,
        detail: String,
    },
    /// The git session began: its id names the branches.
    GitSessionStarted {
        session: GitSession,
    },
    OperationStarted {
        operation: Operation,
    },
    /// A step of the running Save or rollback, for progress displays.
    OperationStep {
        id: u64,
        step: String,
        detail: String,
    },
    /// The refs about to move (written before they move).
    OperationPublishing {
        id: u64,
        plan: PublishPlan,
    },
    OperationFinished {
        id: u64,
        kind: OperationKind,
        outcome: OperationOutcome,
        message: String,
    },
    /// A metric crossed an alert level (or moved to another one): `key` names the alert
    /// (`coverage`, `agent_halted:<agent>`, …; see docs/metrics.md).
    MetricAlert {
        level: AlertLevel,
        key: String,
        message: String,
        /// The concern raised for it (or kept from the alert it replaces).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        concern: Option<ConcernId>,
    },
    /// The alert's figure came back: it no longer applies.
    MetricAlertCleared {
        key: String,
    },
    /// The daily digest was written to `.overlord/reports/` (and committed on the
    /// integration branch when there is one).
    DailyReportWritten {
        /// The UTC day (`YYYY-MM-DD`).
        date: String,
        /// `reports/DAILY_<date>.md`.
        path: String,
        /// The audit records exported with it (`reports/audit/AUDIT_<date>.jsonl`) go up to
        /// this record.
        through_seq: u64,
        /// The commit on the integration branch.
        commit: Option<String>,
        summary: String,
    },
    /// A human accepted that the audit trail lost records `from..=to` (`overlord-tui audit
    /// accept-loss`): every id counter and the event numbers go on after `ids_from`, so no id
    /// handed out before the loss is handed out again.
    AuditLossAccepted {
        from: u64,
        to: u64,
        ids_from: u64,
    },
    /// A task branch builds on commits a rollback took out of `main`.
    TaskBranchFlagged {
        task: String,
        branch: String,
        reason: String,
    },
}

/// Which JSONL mirror an audit record belongs to (besides the database itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Command,
    Response,
    Concern,
    Handoff,
    Git,
    Event,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::Command,
        Topic::Response,
        Topic::Concern,
        Topic::Handoff,
        Topic::Git,
        Topic::Event,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Command => "command",
            Topic::Response => "response",
            Topic::Concern => "concern",
            Topic::Handoff => "handoff",
            Topic::Git => "git",
            Topic::Event => "event",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// The seeds' mirror file under `audit/`, if the topic has one.
    pub fn mirror_file(self) -> Option<&'static str> {
        match self {
            Topic::Command => Some("commands.jsonl"),
            Topic::Response => Some("responses.jsonl"),
            Topic::Concern => Some("concerns.jsonl"),
            Topic::Handoff => Some("handoffs.jsonl"),
            Topic::Git => Some("git_actions.jsonl"),
            Topic::Event => None,
        }
    }
}

impl EventKind {
    pub fn topic(&self) -> Topic {
        match self {
            EventKind::ConcernRaised { .. }
            | EventKind::ConcernAcknowledged { .. }
            | EventKind::ConcernAssigned { .. }
            | EventKind::ConcernEscalated { .. }
            | EventKind::ConcernResolved { .. }
            | EventKind::ConcernMessageLinked { .. } => Topic::Concern,
            EventKind::HandoffRecorded { .. } => Topic::Handoff,
            EventKind::GitAction { .. } | EventKind::CheckpointCreated { .. } => Topic::Git,
            _ => Topic::Event,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            EventKind::PlanImported { .. } => "plan_imported",
            EventKind::TaskStatusChanged { .. } => "task_status_changed",
            EventKind::PhasePromoted { .. } => "phase_promoted",
            EventKind::ApprovalRequested { .. } => "approval_requested",
            EventKind::ApprovalDecided { .. } => "approval_decided",
            EventKind::ConcernRaised { .. } => "concern_raised",
            EventKind::ConcernAcknowledged { .. } => "concern_acknowledged",
            EventKind::ConcernAssigned { .. } => "concern_assigned",
            EventKind::ConcernEscalated { .. } => "concern_escalated",
            EventKind::ConcernResolved { .. } => "concern_resolved",
            EventKind::ConcernMessageLinked { .. } => "concern_message_linked",
            EventKind::HandoffRecorded { .. } => "handoff_recorded",
            EventKind::VariationProposed { .. } => "variation_proposed",
            EventKind::AgentRegistered { .. } => "agent_registered",
            EventKind::AgentPaused { .. } => "agent_paused",
            EventKind::AgentProcessStarted { .. } => "agent_process_started",
            EventKind::AgentProcessEnded { .. } => "agent_process_ended",
            EventKind::AgentStateChanged { .. } => "agent_state_changed",
            EventKind::AgentActivity { .. } => "agent_activity",
            EventKind::AgentRunReported { .. } => "agent_run_reported",
            EventKind::TaskAdded { .. } => "task_added",
            EventKind::TicketFiled { .. } => "ticket_filed",
            EventKind::PlanRequested { .. } => "plan_requested",
            EventKind::TicketsApproved { .. } => "tickets_approved",
            EventKind::JanitorRan { .. } => "janitor_ran",
            EventKind::TaskCriteriaAdded { .. } => "task_criteria_added",
            EventKind::ReviewRecorded { .. } => "review_recorded",
            EventKind::AgentResumed { .. } => "agent_resumed",
            EventKind::DispatchHalted { .. } => "dispatch_halted",
            EventKind::DispatchResumed => "dispatch_resumed",
            EventKind::WorkAssigned { .. } => "work_assigned",
            EventKind::ClarificationRequested { .. } => "clarification_requested",
            EventKind::ClarificationAnswered { .. } => "clarification_answered",
            EventKind::SessionStatusChanged { .. } => "session_status_changed",
            EventKind::CheckpointCreated { .. } => "checkpoint_created",
            EventKind::QaRunRecorded { .. } => "qa_run_recorded",
            EventKind::QaStarted { .. } => "qa_started",
            EventKind::QaGateStarted { .. } => "qa_gate_started",
            EventKind::QaGateProgress { .. } => "qa_gate_progress",
            EventKind::QaGateFinished { .. } => "qa_gate_finished",
            EventKind::GitAction { .. } => "git_action",
            EventKind::GitSessionStarted { .. } => "git_session_started",
            EventKind::OperationStarted { .. } => "operation_started",
            EventKind::OperationStep { .. } => "operation_step",
            EventKind::OperationPublishing { .. } => "operation_publishing",
            EventKind::OperationFinished { .. } => "operation_finished",
            EventKind::TaskBranchFlagged { .. } => "task_branch_flagged",
            EventKind::MetricAlert { .. } => "metric_alert",
            EventKind::MetricAlertCleared { .. } => "metric_alert_cleared",
            EventKind::DailyReportWritten { .. } => "daily_report_written",
            EventKind::AuditLossAccepted { .. } => "audit_loss_accepted",
        }
    }
}
