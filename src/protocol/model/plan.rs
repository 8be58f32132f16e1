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
