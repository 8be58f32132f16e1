//! The one `Command` type that every front end sends (console, CLI, Discord, agents and
//! scripts), who sent it (`Origin`), and what the core answers (`Reply`).

use serde::{Deserialize, Serialize};

use super::model::{
    ApprovalKind, ClarificationId, ConcernId, Impact, Role, Severity, TaskStatus, Timestamp,
};
use super::report::ReplyData;

/// `all` or one agent, for `/pause` and `/resume`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    All,
    Agent(String),
}

/// A concern as an agent raises it (seed 001's `log_concern`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConcernDraft {
    /// Defaults to the sender's role.
    pub from: Option<Role>,
    /// Defaults to the next role up the chain (`Role::escalates_to`).
    pub to: Option<Role>,
    pub severity: Severity,
    pub category: String,
    pub summary: String,
    pub details: Option<String>,
    pub task: Option<String>,
}

/// A hand-off between roles (seed 001's handoff record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandoffDraft {
    pub from: Role,
    pub to: Role,
    pub purpose: String,
    pub summary: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub impact: Option<Impact>,
    pub status: Option<String>,
    pub task: Option<String>,
}

/// A proposed change of scope, architecture or expected outcome (seed 001 "Variations").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariationDraft {
    pub from: Option<Role>,
    pub impact: Impact,
    pub title: String,
    pub rationale: Option<String>,
    pub affects: Vec<String>,
}

/// Every command of the product, human or agent. Parsed from and printed to the slash
/// grammar in `grammar.rs`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Command {
    Status,
    Help {
        command: Option<String>,
    },
    Clarify {
        agent: String,
        message: String,
    },
    /// An agent's answer to a clarification question.
    Answer {
        clarification: ClarificationId,
        text: String,
    },
    /// Redirect work; with a concern id first, assigns that concern to the agent.
    Assign {
        agent: String,
        concern: Option<ConcernId>,
        text: String,
    },
    Ack {
        concern: ConcernId,
    },
    Resolve {
        concern: ConcernId,
        note: Option<String>,
    },
    Approve {
        target: String,
        conditions: Option<String>,
        note: Option<String>,
    },
    Defer {
        target: String,
        note: Option<String>,
    },
    Reject {
        target: String,
        reason: String,
    },
    Promote {
        phase: String,
    },
    Pause {
        target: Target,
    },
    Resume {
        target: Target,
    },
    Save,
    /// Merge the finished task branches into the session's integration branch (main plus
    /// everything that passed) and run the QA gates there; main does not move. Overlord gives
    /// it whenever a task finishes (continuous integration); a human may too.
    Integrate,
    /// Restore a checkpoint (`undo`: reverse the latest rollback). With `branch`, the
    /// checkpoint is checked out on a new branch and worktree and `main` stays.
    Rollback {
        checkpoint: String,
        branch: Option<String>,
        reason: Option<String>,
    },
    /// `/adopt main`: accept the commits made on main outside Overlord (main moved or
    /// rewound by hand): Overlord's record of main moves to where main is now.
    AdoptMain,
    /// `/restore main`: put main back where Overlord left it, keeping the commits made
    /// outside Overlord on a new branch `outside/<date>-<n>`.
    RestoreMain,
    RaiseConcern(ConcernDraft),
    RecordHandoff(HandoffDraft),
    ProposeVariation(VariationDraft),
    RequestApproval {
        kind: ApprovalKind,
        subject: String,
        from: Option<Role>,
        summary: String,
    },
    ImportPlan {
        path: String,
    },
    /// File the tickets of a JSON file (seed 002 §5.1: one ticket, an array, or
    /// `{"tickets": [...]}`) into the `ready-for-robot` queue.
    FileTickets {
        path: String,
    },
    /// `/plan <goal>`: ask the planner role's agent for a plan (the supervisor runs it and
    /// imports the plan it writes, awaiting approval; `overlord-tui plan new` from a shell).
    NewPlan {
        goal: String,
    },
    /// `/approve tickets <ids|all>`: the human's batch approval; approved tickets become
    /// plan tasks. `["all"]` approves every queued ticket.
    ApproveTickets {
        tickets: Vec<String>,
    },
    RegisterAgent {
        id: String,
        role: Role,
        adapter: Option<String>,
        task: Option<String>,
    },
    SetTaskStatus {
        task: String,
        status: TaskStatus,
        note: Option<String>,
    },
    /// The Discord bridge records the message that shows a concern (to edit it later).
    LinkMessage {
        concern: ConcernId,
        message: String,
    },
    /// A line that did not parse, sent anyway so that its refusal is in the audit trail like
    /// any other refused command (the core answers it with `RejectCode::Usage`). `parse`
    /// never produces it; `print` gives back the line as it was typed.
    Malformed {
        line: String,
        error: String,
        suggestion: Option<String>,
    },
}

impl Command {
    /// The slash name of the command (`resolve` for `/resolve`).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Help { .. } => "help",
            Command::Clarify { .. } => "clarify",
            Command::Answer { .. } => "answer",
            Command::Assign { .. } => "assign",
            Command::Ack { .. } => "ack",
            Command::Resolve { .. } => "resolve",
            Command::Approve { .. } => "approve",
            Command::Defer { .. } => "defer",
            Command::Reject { .. } => "reject",
            Command::Promote { .. } => "promote",
            Command::Pause { .. } => "pause",
            Command::Resume { .. } => "resume",
            Command::Save => "save",
            Command::Integrate => "integrate",
            Command::Rollback { .. } => "rollback",
            Command::AdoptMain => "adopt",
            Command::RestoreMain => "restore",
            Command::RaiseConcern(_) => "raise",
            Command::RecordHandoff(_) => "handoff",
            Command::ProposeVariation(_) => "propose",
            Command::RequestApproval { .. } => "request",
            Command::ImportPlan { .. } => "import",
            Command::FileTickets { .. } => "ticket",
            Command::NewPlan { .. } => "plan",
            Command::ApproveTickets { .. } => "approve",
            Command::RegisterAgent { .. } => "agent",
            Command::SetTaskStatus { .. } => "task",
            Command::LinkMessage { .. } => "link",
            Command::Malformed { .. } => "malformed",
        }
    }

    /// Commands that only read; they are answered but not written to the audit trail.
    pub fn is_query(&self) -> bool {
        matches!(self, Command::Status | Command::Help { .. })
    }

    /// Governance decisions that only a human may take.
    pub fn needs_human(&self) -> bool {
        matches!(
            self,
            Command::Approve { .. }
                | Command::ApproveTickets { .. }
                | Command::Defer { .. }
                | Command::Reject { .. }
                | Command::Rollback { .. }
                | Command::Save
                | Command::AdoptMain
                | Command::RestoreMain
        )
    }
}

/// Who sent a command. The core decides what an origin may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "via", rename_all = "snake_case")]
pub enum Origin {
    Console {
        user: String,
    },
    Cli {
        user: String,
    },
    /// A Discord member: the core checks the id and roles against `[discord]`.
    Discord {
        user_id: String,
        name: String,
        #[serde(default)]
        roles: Vec<String>,
    },
    Agent {
        agent: String,
        role: Option<Role>,
    },
    System,
}

impl Origin {
    /// A short name for the actor, used in records (`cli:alice`, `agent:implementer-2`).
    pub fn actor(&self) -> String {
        match self {
            Origin::Console { user } => format!("console:{user}"),
            Origin::Cli { user } => format!("cli:{user}"),
            Origin::Discord { name, user_id, .. } => format!("discord:{name}({user_id})"),
            Origin::Agent { agent, .. } => format!("agent:{agent}"),
            Origin::System => "system".to_string(),
        }
    }

    /// The role this origin speaks for.
    pub fn role(&self) -> Role {
        match self {
            Origin::Agent { role, .. } => role.unwrap_or(Role::Implementer),
            Origin::System => Role::ProjectManager,
            _ => Role::Human,
        }
    }

    /// The agent's name, when an agent sent it.
    pub fn agent(&self) -> Option<String> {
        match self {
            Origin::Agent { agent, .. } => Some(agent.clone()),
            _ => None,
        }
    }

    pub fn is_human(&self) -> bool {
        matches!(
            self,
            Origin::Console { .. } | Origin::Cli { .. } | Origin::Discord { .. }
        )
    }
}

/// A command as the core accepted it: the record written to `audit/commands.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandRecord {
    pub at: Timestamp,
    pub origin: Origin,
    /// The command in the text grammar, as a person would type it.
    pub line: String,
    pub command: Command,
}

/// Why the core refused a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectCode {
    /// The text did not parse.
    Usage,
    /// An id (concern, agent, approval, phase, task, checkpoint) that does not exist.
    UnknownId,
    /// A lifecycle rule forbids it (resolving a resolved concern, …).
    InvalidTransition,
    /// The sender may not do this.
    Unauthorized,
    /// The input is malformed (a plan that does not validate, …).
    InvalidInput,
    /// The part of the core that would carry it out is not running.
    Unavailable,
    /// The store failed; nothing was written.
    Storage,
    /// Something in the way: another operation running, a dirty work tree, a locked index.
    Conflict,
    /// An accepted operation (Save, rollback) ran but did not reach its goal.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub code: RejectCode,
    pub message: String,
    pub suggestion: Option<String>,
}

impl Rejection {
    pub fn new(code: RejectCode, message: impl Into<String>) -> Self {
        Rejection {
            code,
            message: message.into(),
            suggestion: None,
        }
    }

    pub fn with_suggestion(mut self, suggestion: Option<String>) -> Self {
        self.suggestion = suggestion;
        self
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        if let Some(s) = &self.suggestion {
            write!(f, " — did you mean {s}?")?;
        }
        Ok(())
    }
}

/// The core's answer to one command: the record written to `audit/responses.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reply {
    /// The audit sequence number of the command record (0 for queries, which are not
    /// recorded).
    pub command_seq: u64,
    pub ok: bool,
    pub message: String,
    pub error: Option<Rejection>,
    /// Sequence numbers of the events the command produced.
    pub events: Vec<u64>,
    pub data: ReplyData,
}

impl Reply {
    pub fn rejected(rejection: Rejection) -> Self {
        Reply {
            command_seq: 0,
            ok: false,
            message: rejection.to_string(),
            error: Some(rejection),
            events: Vec::new(),
            data: ReplyData::None,
        }
    }
}
