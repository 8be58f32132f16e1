//! The plan (seed 003 TodoList): phases, tasks and their status.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::Timestamp;
use super::roles::Role;

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
    /// The criteria with a command (seed 003): run in the task's worktree after the agent
    /// finishes; one that fails fails the acceptance. Also listed in `acceptance_criteria`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acceptance_checks: Vec<AcceptanceCheck>,
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

impl Task {
    /// A task to do with nothing else set: no dependencies, criteria, artifacts or limits
    /// (what a ticket or the janitor fills in before adding it).
    pub fn new(
        id: impl Into<String>,
        title: impl Into<String>,
        description: impl Into<String>,
        role: Role,
        priority: impl Into<String>,
    ) -> Task {
        Task {
            id: id.into(),
            title: title.into(),
            description: description.into(),
            role,
            priority: priority.into(),
            dependencies: Vec::new(),
            acceptance_criteria: Vec::new(),
            acceptance_checks: Vec::new(),
            expected_artifacts: Vec::new(),
            status: TaskStatus::Todo,
            parent_id: None,
            is_temporary: false,
            max_debug_attempts: None,
            branch_reason: None,
            debug_instructions: None,
            timeout_seconds: None,
            max_retries: None,
            owner: None,
            commentary: Vec::new(),
        }
    }
}

/// An acceptance criterion with a command: what it checks, the `sh -c` command run in the
/// task's worktree, and what counts as passing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcceptanceCheck {
    pub description: String,
    pub command: String,
    /// `None`: the command exits 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect: Option<Expect>,
}

/// What an acceptance command must do to pass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Exit with this code.
    Exit(i32),
    /// Exit 0 and print this text (stdout or stderr).
    Contains(String),
}

impl Expect {
    /// From a TodoList's `expect`: a number or `"exit N"` is an exit code, other text must
    /// appear in the output; `null` means exit 0.
    pub fn from_json(value: &serde_json::Value) -> Result<Option<Expect>, String> {
        match value {
            serde_json::Value::Null => Ok(None),
            serde_json::Value::Number(n) => n
                .as_i64()
                .and_then(|n| i32::try_from(n).ok())
                .map(|n| Some(Expect::Exit(n)))
                .ok_or_else(|| format!("expect {n} is not an exit code")),
            serde_json::Value::String(s) => {
                let t = s.trim();
                let code = t
                    .strip_prefix("exit code")
                    .or_else(|| t.strip_prefix("exit"))
                    .unwrap_or(t)
                    .trim();
                match code.parse::<i32>() {
                    Ok(n) => Ok(Some(Expect::Exit(n))),
                    Err(_) if t.is_empty() => Ok(None),
                    Err(_) => Ok(Some(Expect::Contains(s.clone()))),
                }
            }
            other => Err(format!(
                "expect {other} is neither an exit code nor text the output must contain"
            )),
        }
    }

    /// Whether a command that ended with `code` (`None`: stopped or killed by a signal) and
    /// printed `output` passes.
    pub fn passes(expect: Option<&Expect>, code: Option<i32>, output: &str) -> bool {
        match expect {
            None => code == Some(0),
            Some(Expect::Exit(n)) => code == Some(*n),
            Some(Expect::Contains(text)) => code == Some(0) && output.contains(text.as_str()),
        }
    }
}

impl fmt::Display for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expect::Exit(n) => write!(f, "exit {n}"),
            Expect::Contains(t) => write!(f, "exit 0 and output containing \"{t}\""),
        }
    }
}
