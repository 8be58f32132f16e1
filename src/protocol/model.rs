//! The model types every front end renders: plan, agents, concerns, handoffs, variations,
//! approvals, clarifications, checkpoints and QA runs. Pure data (serde only); the fields
//! follow the seeds (seed 001 concern and handoff schemas, seed 003 TodoList).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC timestamp in RFC 3339 form with milliseconds (`2026-11-21T10:02:00.000Z`).
/// Kept as text so the audit record hashes exactly what was written.
pub type Timestamp = String;

/// Defines a numbered id with a fixed prefix (`C-12`), serialized as its text form.
/// Bare numbers (`12`) are accepted when parsing, so `/ack 12` works.
macro_rules! numbered_id {
    ($name:ident, $prefix:literal, $what:literal) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub u64);

        impl $name {
            pub const PREFIX: &'static str = $prefix;
            pub const WHAT: &'static str = $what;
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}-{}", $prefix, self.0)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let digits = s
                    .strip_prefix($prefix)
                    .or_else(|| s.strip_prefix(&$prefix.to_ascii_lowercase()))
                    .and_then(|rest| rest.strip_prefix('-'))
                    .unwrap_or(s);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "'{s}' is not a {} id (expected {}-<number>)",
                        $what, $prefix
                    ));
                }
                digits
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0)
                    .map($name)
                    .ok_or_else(|| format!("'{s}' is not a valid {} id", $what))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

numbered_id!(ConcernId, "C", "concern");
numbered_id!(HandoffId, "H", "handoff");
numbered_id!(VariationId, "V", "variation");
numbered_id!(ApprovalId, "A", "approval");
numbered_id!(ClarificationId, "Q", "clarification");
numbered_id!(QaRunId, "QA", "QA run");

/// Who does a piece of work. Seed 003's names (`architect`, `coder`) are accepted as aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    ProjectManager,
    Designer,
    Implementer,
    Tester,
    Debugger,
    Reviewer,
    Human,
}

impl Role {
    pub const ALL: [Role; 7] = [
        Role::ProjectManager,
        Role::Designer,
        Role::Implementer,
        Role::Tester,
        Role::Debugger,
        Role::Reviewer,
        Role::Human,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::ProjectManager => "pm",
            Role::Designer => "designer",
            Role::Implementer => "implementer",
            Role::Tester => "tester",
            Role::Debugger => "debugger",
            Role::Reviewer => "reviewer",
            Role::Human => "human",
        }
    }

    /// The title used in commit trailers and documents (`Implementer`).
    pub fn title(self) -> &'static str {
        match self {
            Role::ProjectManager => "ProjectManager",
            Role::Designer => "Designer",
            Role::Implementer => "Implementer",
            Role::Tester => "Tester",
            Role::Debugger => "Debugger",
            Role::Reviewer => "Reviewer",
            Role::Human => "Human",
        }
    }

    /// Where a concern raised by this role goes first (seed 001's hierarchical concern flow).
    pub fn escalates_to(self) -> Role {
        match self {
            Role::Implementer | Role::Debugger => Role::Designer,
            Role::Tester | Role::Designer | Role::Reviewer => Role::ProjectManager,
            Role::ProjectManager | Role::Human => Role::Human,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key: String = s
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_lowercase();
        let role = match key.as_str() {
            "pm" | "projectmanager" | "manager" => Role::ProjectManager,
            "designer" | "architect" => Role::Designer,
            "implementer" | "coder" | "developer" => Role::Implementer,
            "tester" | "qa" => Role::Tester,
            "debugger" => Role::Debugger,
            "reviewer" => Role::Reviewer,
            "human" | "humanreviewer" | "governor" => Role::Human,
            _ => {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                return Err(match crate::protocol::suggest(s, names.iter().copied()) {
                    Some(best) => format!("unknown role '{s}' — did you mean {best}?"),
                    None => format!("unknown role '{s}' (roles: {})", names.join(", ")),
                });
            }
        };
        Ok(role)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "critical" | "crit" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity '{s}' (expected info, warning or critical)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Impact {
    Low,
    Medium,
    High,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::Low => "low",
            Impact::Medium => "medium",
            Impact::High => "high",
        }
    }
}

impl fmt::Display for Impact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Impact {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Ok(Impact::Low),
            "medium" | "med" => Ok(Impact::Medium),
            "high" => Ok(Impact::High),
            _ => Err(format!(
                "unknown impact '{s}' (expected low, medium or high)"
            )),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plan (seed 003 TodoList)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub id: String,
    pub title: String,
    pub source: String,
    pub imported_at: Timestamp,
    pub phases: Vec<Phase>,
}

impl Plan {
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.phases.iter().flat_map(|p| p.tasks.iter())
    }

    pub fn task(&self, id: &str) -> Option<&Task> {
        self.tasks().find(|t| t.id == id)
    }

    pub fn task_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.phases
            .iter_mut()
            .flat_map(|p| p.tasks.iter_mut())
            .find(|t| t.id == id)
    }

    pub fn phase(&self, id: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub name: String,
    pub tasks: Vec<Task>,
    #[serde(default)]
    pub promoted_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Todo,
    InProgress,
    Blocked,
    NeedsReview,
    Done,
    Failed,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 6] = [
        TaskStatus::Todo,
        TaskStatus::InProgress,
        TaskStatus::Blocked,
        TaskStatus::NeedsReview,
        TaskStatus::Done,
        TaskStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Todo => "todo",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Blocked => "blocked",
            TaskStatus::NeedsReview => "needs_review",
            TaskStatus::Done => "done",
            TaskStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.to_ascii_lowercase().replace('-', "_");
        TaskStatus::ALL
            .into_iter()
            .find(|t| t.as_str() == key)
            .ok_or_else(|| {
                let names: Vec<&str> = TaskStatus::ALL.iter().map(|t| t.as_str()).collect();
                format!("unknown task status '{s}' (expected {})", names.join(", "))
            })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    pub title: String,
    pub description: String,
    pub role: Role,
    pub priority: String,
    pub dependencies: Vec<String>,
    pub acceptance_criteria: Vec<String>,
    pub expected_artifacts: Vec<String>,
    pub status: TaskStatus,
    /// Seed 003 branch todos: a temporary debug task hangs off its parent.
    pub parent_id: Option<String>,
    pub is_temporary: bool,
    pub max_debug_attempts: Option<u32>,
    pub branch_reason: Option<String>,
    pub debug_instructions: Option<String>,
    pub timeout_seconds: Option<u64>,
    pub max_retries: Option<u32>,
    pub owner: Option<String>,
    pub commentary: Vec<String>,
}

// ---------------------------------------------------------------------------------------------
// Agents

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentState {
    Idle,
    Running,
    Waiting,
    Paused,
    RateLimited,
    Failed,
    Done,
}

impl AgentState {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentState::Idle => "idle",
            AgentState::Running => "running",
            AgentState::Waiting => "waiting",
            AgentState::Paused => "paused",
            AgentState::RateLimited => "rate_limited",
            AgentState::Failed => "failed",
            AgentState::Done => "done",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Agent {
    pub id: String,
    pub role: Role,
    pub adapter: String,
    pub task: Option<String>,
    pub state: AgentState,
    /// Paused by `/pause <agent>` (or by the kill switch); kept apart from `state` so that
    /// resuming returns the agent to what it was doing.
    pub paused: bool,
    pub assignment: Option<String>,
    pub registered_at: Timestamp,
    pub last_event_at: Option<Timestamp>,
    pub tokens: u64,
    pub cost_micros: u64,
    /// Why it is in its state (the failure message, the budget it exceeded, …).
    #[serde(default)]
    pub detail: Option<String>,
    /// The last thing it said or did (a text line, a tool call), for the swarm pane.
    #[serde(default)]
    pub last_output: Option<String>,
    /// Files its tool calls touched in the current task (at most [`Agent::MAX_FILES`]).
    #[serde(default)]
    pub files_touched: Vec<String>,
    /// The CLI's session (thread) id, to resume it for a clarification or new work.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Rate-limited until this time (the countdown).
    #[serde(default)]
    pub rate_limited_until: Option<Timestamp>,
    /// Normalized events seen from its CLI, all runs together.
    #[serde(default)]
    pub events: u64,
    /// Which attempt at its task the current run is (1-based).
    #[serde(default)]
    pub attempt: u32,
}

impl Agent {
    /// How many touched files the state keeps per agent.
    pub const MAX_FILES: usize = 64;

    /// A fresh agent record in `Idle`.
    pub fn new(id: &str, role: Role, adapter: &str, at: &str) -> Agent {
        Agent {
            id: id.to_string(),
            role,
            adapter: adapter.to_string(),
            task: None,
            state: AgentState::Idle,
            paused: false,
            assignment: None,
            registered_at: at.to_string(),
            last_event_at: None,
            tokens: 0,
            cost_micros: 0,
            detail: None,
            last_output: None,
            files_touched: Vec::new(),
            session_id: None,
            rate_limited_until: None,
            events: 0,
            attempt: 0,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Concerns (seed 001 concern object schema)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcernStatus {
    Open,
    Acknowledged,
    Assigned,
    Resolved,
}

impl ConcernStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcernStatus::Open => "open",
            ConcernStatus::Acknowledged => "acknowledged",
            ConcernStatus::Assigned => "assigned",
            ConcernStatus::Resolved => "resolved",
        }
    }
}

impl fmt::Display for ConcernStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concern {
    pub id: ConcernId,
    pub from: Role,
    pub to: Role,
    /// The agent that raised it, when an agent did.
    pub raised_by: Option<String>,
    pub severity: Severity,
    pub category: String,
    pub summary: String,
    pub details: Option<String>,
    pub task: Option<String>,
    pub timestamp: Timestamp,
    pub status: ConcernStatus,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub assigned_to: Option<String>,
    pub response: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolution: Option<String>,
    /// Every role the concern has been routed to, oldest first.
    pub escalations: Vec<Role>,
    /// When it was last routed up the chain (its unacknowledged-time clock restarts there).
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    pub discord_message_id: Option<String>,
}

impl Concern {
    /// A concern as it is raised: open, routed to `to` (its first escalation), nothing
    /// acknowledged, assigned or resolved yet.
    pub fn raised(
        id: ConcernId,
        from: Role,
        to: Role,
        severity: Severity,
        category: impl Into<String>,
        summary: impl Into<String>,
        at: impl Into<Timestamp>,
    ) -> Concern {
        Concern {
            id,
            from,
            to,
            raised_by: None,
            severity,
            category: category.into(),
            summary: summary.into(),
            details: None,
            task: None,
            timestamp: at.into(),
            status: ConcernStatus::Open,
            acknowledged_by: None,
            acknowledged_at: None,
            assigned_to: None,
            response: None,
            resolved_by: None,
            resolved_at: None,
            resolution: None,
            escalations: vec![to],
            escalated_at: None,
            discord_message_id: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Handoffs (seed 001 handoff record)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub id: HandoffId,
    pub from: Role,
    pub to: Role,
    pub purpose: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub summary: String,
    pub status: String,
    pub impact: Option<Impact>,
    pub task: Option<String>,
    pub agent: Option<String>,
    pub timestamp: Timestamp,
}

// ---------------------------------------------------------------------------------------------
// Variations and approvals

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approved,
    ApprovedWithConditions,
    Deferred,
    Rejected,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::ApprovedWithConditions => "approved_with_conditions",
            Decision::Deferred => "deferred",
            Decision::Rejected => "rejected",
        }
    }

    /// Approved, conditionally approved and rejected are final; deferred can be decided again.
    pub fn is_final(self) -> bool {
        !matches!(self, Decision::Deferred)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variation {
    pub id: VariationId,
    pub proposed_by: Role,
    pub agent: Option<String>,
    pub title: String,
    pub impact: Impact,
    pub rationale: Option<String>,
    pub affects: Vec<String>,
    pub proposed_at: Timestamp,
    pub approval: Option<ApprovalId>,
    pub decision: Option<Decision>,
    pub conditions: Option<String>,
    pub comment: Option<String>,
    pub reviewed_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalKind {
    Plan,
    DesignSpec,
    TestPlan,
    Variation,
    PhasePromotion,
    /// A Save whose QA run asks for the human; the subject is the QA run.
    Merge,
}

impl ApprovalKind {
    pub const ALL: [ApprovalKind; 6] = [
        ApprovalKind::Plan,
        ApprovalKind::DesignSpec,
        ApprovalKind::TestPlan,
        ApprovalKind::Variation,
        ApprovalKind::PhasePromotion,
        ApprovalKind::Merge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalKind::Plan => "plan",
            ApprovalKind::DesignSpec => "design_spec",
            ApprovalKind::TestPlan => "test_plan",
            ApprovalKind::Variation => "variation",
            ApprovalKind::PhasePromotion => "phase_promotion",
            ApprovalKind::Merge => "merge",
        }
    }
}

impl fmt::Display for ApprovalKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApprovalKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.to_ascii_lowercase().replace('-', "_");
        Ok(match key.as_str() {
            "plan" => ApprovalKind::Plan,
            "design" | "design_spec" | "spec" => ApprovalKind::DesignSpec,
            "test_plan" | "tests" => ApprovalKind::TestPlan,
            "variation" => ApprovalKind::Variation,
            "promotion" | "phase_promotion" => ApprovalKind::PhasePromotion,
            "merge" => ApprovalKind::Merge,
            _ => {
                return Err(format!(
                    "unknown approval kind '{s}' (expected plan, design_spec, test_plan, variation, phase_promotion or merge)"
                ))
            }
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Approval {
    pub id: ApprovalId,
    pub kind: ApprovalKind,
    /// What is to be approved: the plan id, an artifact path, a variation id or a phase id.
    pub subject: String,
    pub summary: String,
    pub requested_by: String,
    pub requested_at: Timestamp,
    pub decision: Option<Decision>,
    pub decided_by: Option<String>,
    pub decided_at: Option<Timestamp>,
    pub note: Option<String>,
    pub conditions: Option<String>,
}

impl Approval {
    /// A new request, not yet decided.
    pub fn pending(
        id: ApprovalId,
        kind: ApprovalKind,
        subject: String,
        summary: String,
        requested_by: String,
        requested_at: Timestamp,
    ) -> Approval {
        Approval {
            id,
            kind,
            subject,
            summary,
            requested_by,
            requested_at,
            decision: None,
            decided_by: None,
            decided_at: None,
            note: None,
            conditions: None,
        }
    }

    pub fn is_pending(&self) -> bool {
        self.decision.is_none_or(|d| !d.is_final())
    }
}

// ---------------------------------------------------------------------------------------------
// Clarifications (seed 001 command flow: question, answer, linked by id)

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Clarification {
    pub id: ClarificationId,
    pub agent: String,
    pub question: String,
    pub asked_by: String,
    pub asked_at: Timestamp,
    pub answer: Option<String>,
    pub answered_at: Option<Timestamp>,
}

// ---------------------------------------------------------------------------------------------
// Checkpoints and QA runs (produced by the git and QA parts of the core)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointKind {
    Save,
    Rollback,
    Promotion,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// `checkpoint/<YYYYMMDD>-<NNN>`.
    pub name: String,
    pub kind: CheckpointKind,
    pub commit: String,
    pub created_at: Timestamp,
    pub qa_run: Option<QaRunId>,
    pub summary: String,
    /// For a rollback: the checkpoint whose tree was restored.
    pub restores: Option<String>,
    /// The annotated tag object (`refs/tags/<name>` points at it).
    #[serde(default)]
    pub tag_object: Option<String>,
    /// Where the main branch was before this checkpoint moved it.
    #[serde(default)]
    pub previous: Option<String>,
    /// The tasks a Save integrated.
    #[serde(default)]
    pub tasks: Vec<String>,
    /// The audit events behind it (also in the git note `refs/notes/overlord`).
    #[serde(default)]
    pub audit_ids: Vec<u64>,
    /// For `/rollback undo`: the rollback checkpoint this one reverses.
    #[serde(default)]
    pub undoes: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The git session and its long-running operations (Save, rollback)

/// The git side of a session: its id names the branches `session/<id>/…`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitSession {
    pub id: String,
    /// The protected branch Save moves (`main`, or as configured).
    pub main: String,
    pub started_at: Timestamp,
}

impl GitSession {
    pub fn integration_branch(&self) -> String {
        format!("session/{}/integration", self.id)
    }

    pub fn task_branch(&self, task: &str) -> String {
        format!("session/{}/task/{task}", self.id)
    }

    pub fn main_ref(&self) -> String {
        format!("refs/heads/{}", self.main)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Save,
    Rollback,
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationKind::Save => "Save",
            OperationKind::Rollback => "rollback",
        })
    }
}

/// A finished task's branch, as a Save found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskBranch {
    pub task: String,
    pub branch: String,
    pub tip: String,
    pub role: Role,
}

/// What a rollback restores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RollbackTarget {
    /// The checkpoint whose tree is restored (for `undo`: the rollback being reversed).
    pub checkpoint: String,
    /// The commit whose tree becomes `main`'s.
    pub commit: String,
    pub reason: String,
    /// Restore on this new branch (and worktree) instead of moving `main`.
    pub branch: Option<String>,
    pub undoes: Option<String>,
}

/// The refs an operation is about to move, written to the audit trail before they move so a
/// process killed half-way can be finished or cleaned up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishPlan {
    /// Where `main` is expected to be when it moves (it moves only from there).
    #[serde(default)]
    pub main_before: String,
    /// The new `main` commit.
    pub commit: String,
    pub tag: String,
    pub tag_object: String,
    pub notes_commit: String,
    pub notes_before: Option<String>,
    /// What the checkpoint will be (a Save's automatic rollback publishes a rollback).
    #[serde(default)]
    pub kind: Option<CheckpointKind>,
    #[serde(default)]
    pub restores: Option<String>,
}

/// A Save or rollback in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: u64,
    pub kind: OperationKind,
    pub requested_by: String,
    pub started_at: Timestamp,
    /// The audit event that started it (commits carry it as `Audit-ID`).
    pub audit_id: u64,
    pub main_before: String,
    pub tasks: Vec<TaskBranch>,
    pub rollback: Option<RollbackTarget>,
    pub publish: Option<PublishPlan>,
    /// Progress so far, one line per step, for front ends.
    pub steps: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationOutcome {
    /// A checkpoint was created and `main` moved.
    Checkpointed,
    /// A new branch and worktree hold the restored checkpoint; `main` did not move.
    BranchCreated,
    /// No finished task had anything to integrate.
    NothingToSave,
    /// Every finished branch conflicted; `main` did not move.
    Conflicted,
    /// The gate failed; `main` did not move and the session awaits review.
    GateFailed,
    /// The gates want the human (high impact, a failed gate, a promotion): `main` did not
    /// move and an approval of the QA run is pending; approving it and saving again publishes
    /// exactly the tree that was checked.
    AwaitingApproval,
    /// Stopped before any protected ref moved (an error, or an interrupted run cleaned up).
    Aborted,
}

impl OperationOutcome {
    pub fn is_success(self) -> bool {
        matches!(
            self,
            OperationOutcome::Checkpointed
                | OperationOutcome::BranchCreated
                | OperationOutcome::NothingToSave
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    NotMeasured,
    /// Measured and reported, but the policy sets no threshold for it.
    Reported,
}

impl GateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Pass => "pass",
            GateOutcome::Fail => "fail",
            GateOutcome::NotMeasured => "not measured",
            GateOutcome::Reported => "reported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub gate: String,
    pub threshold: Option<String>,
    pub measured: Option<String>,
    pub outcome: GateOutcome,
    pub reason: Option<String>,
    /// Whether the outcome counts in the decision (a gate with no threshold, or drift with no
    /// earlier checkpoint to compare with, is reported only).
    #[serde(default = "yes")]
    pub required: bool,
    /// The gate could not complete (a timeout, a runner that stopped mid-run): the decision
    /// is `fail` whatever the policy says of failed gates.
    #[serde(default)]
    pub errored: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QaDecision {
    AutoMerge,
    RequireHuman,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaRun {
    pub id: QaRunId,
    pub tree: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub gates: Vec<GateResult>,
    pub decision: QaDecision,
    pub reasons: Vec<String>,
    /// The commit the gates ran on.
    #[serde(default)]
    pub commit: Option<String>,
    /// The figures drift and the metrics are computed from.
    #[serde(default)]
    pub metrics: QaMetrics,
    /// Tests whose outcome differed between the repeated runs (quarantined in the report).
    #[serde(default)]
    pub flaky: Vec<String>,
    /// A phase promotion run (the promotion policy applied).
    #[serde(default)]
    pub promotion: bool,
    /// SHA-256 of the run's stored record (`.overlord/qa/<id>/run.json`), so `qa show` can
    /// tell whether the evidence was changed after the fact.
    #[serde(default)]
    pub record_sha256: Option<String>,
}

impl QaRun {
    /// The gates that failed, in order.
    pub fn failed_gates(&self) -> Vec<&str> {
        self.gates
            .iter()
            .filter(|g| g.outcome == GateOutcome::Fail)
            .map(|g| g.gate.as_str())
            .collect()
    }
}

impl QaDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            QaDecision::AutoMerge => "auto_merge",
            QaDecision::RequireHuman => "require_human",
            QaDecision::Fail => "fail",
        }
    }
}

/// The numbers a QA run measured (absent: not measured).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QaMetrics {
    pub tests_total: Option<u64>,
    pub tests_passed: Option<u64>,
    pub tests_failed: Option<u64>,
    pub tests_skipped: Option<u64>,
    /// Passed out of passed + failed, in percent.
    pub pass_rate: Option<f64>,
    /// Seconds the first test run took.
    pub test_duration_secs: Option<f64>,
    pub coverage: Option<f64>,
    pub reproducibility: Option<f64>,
    pub lint_errors: Option<u64>,
    pub lint_warnings: Option<u64>,
    pub build_passed: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Alerts raised by the metrics (issue 9; `metrics::evaluate` decides them)

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    Warn,
    Alert,
    Critical,
}

impl AlertLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertLevel::Warn => "warn",
            AlertLevel::Alert => "alert",
            AlertLevel::Critical => "critical",
        }
    }
}

impl fmt::Display for AlertLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AlertLevel::Warn => "WARN",
            AlertLevel::Alert => "ALERT",
            AlertLevel::Critical => "CRITICAL",
        })
    }
}

/// One alert of the metrics: `key` names what it is about (stable, one alert per key), `message` why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    pub level: AlertLevel,
    pub key: String,
    pub message: String,
    /// The concern that put it in the human's queue (ALERT and CRITICAL; see docs/metrics.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concern: Option<ConcernId>,
}

impl Alert {
    /// The order alerts are shown and recorded in: most severe first, then by key.
    pub fn most_severe_first(a: &Alert, b: &Alert) -> std::cmp::Ordering {
        b.level.cmp(&a.level).then_with(|| a.key.cmp(&b.key))
    }
}

/// Where the session is in its Save cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    #[default]
    Active,
    Saving,
    RollingBack,
    AwaitingReview,
}

/// Counters for ids handed out so far; part of the state so that ids never repeat.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counters {
    pub concerns: u64,
    pub handoffs: u64,
    pub variations: u64,
    pub approvals: u64,
    pub clarifications: u64,
    pub qa_runs: u64,
    #[serde(default)]
    pub operations: u64,
}

/// Free-form key/value metadata kept sorted so serialization is canonical.
pub type Meta = BTreeMap<String, String>;
