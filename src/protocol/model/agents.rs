//! Agents: who they are, what they are doing, and what they have spent.

use serde::{Deserialize, Serialize};

use super::ids::Timestamp;
use super::roles::Role;

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
    /// Files its tool calls touched in its current (or, once it is done, its last) task,
    /// repo-relative (at most [`Agent::MAX_FILES`]).
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
    /// The CLI process of its current run, while one runs: who speaks for this agent on the
    /// socket (its descendants are the agent, whatever their environment says), and what a
    /// restart after a crash must stop.
    #[serde(default)]
    pub process: Option<AgentProcess>,
}

/// An agent's CLI process as the owner started it. The pid alone could be reused after the
/// process ends; the start time (`/proc/<pid>/stat` field 22, in clock ticks since boot) pins
/// it to this one process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProcess {
    pub pid: u32,
    pub start_ticks: u64,
    /// The task it works on, when it is a task run.
    #[serde(default)]
    pub task: Option<String>,
    /// The worktree it runs in.
    #[serde(default)]
    pub worktree: Option<String>,
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
            process: None,
        }
    }
}
