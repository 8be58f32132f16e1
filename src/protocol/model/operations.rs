//! The git session and its long-running operations (Save, rollback), and where the
//! session is in its Save cycle.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::checkpoints::CheckpointKind;
use super::ids::Timestamp;
use super::roles::Role;

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
    /// Continuous integration: finished task branches merged into the integration branch
    /// and gated there; main does not move.
    Integrate,
    /// `/promote <phase>`: the promotion QA on main's tip, then the version tag and the
    /// release branch (`core::ops::promote`).
    Promotion,
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            OperationKind::Save => "Save",
            OperationKind::Rollback => "rollback",
            OperationKind::Integrate => "integration",
            OperationKind::Promotion => "promotion",
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

/// What a promotion promotes and moves, worked out (and checked) before it starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionTarget {
    pub phase: String,
    /// main's tip, the commit promoted.
    pub commit: String,
    /// The version tag to create (`v0.1.0-phase1`, `[git] version_tag`).
    pub tag: String,
    /// The release branch moved to `commit` (`[git] release_branch`; main by default).
    pub release_branch: String,
    /// Where the release branch was (`None`: it is created).
    pub release_before: Option<String>,
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
    /// Finished tasks governance holds back from integration, each with why
    /// (`"t3: variation V-2 awaits the human as A-4"`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub held: Vec<String>,
    pub rollback: Option<RollbackTarget>,
    pub publish: Option<PublishPlan>,
    #[serde(default)]
    pub promotion: Option<PromotionTarget>,
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
    /// An integration merged finished work into the integration branch and gated it; `main`
    /// did not move (a Save publishes it).
    Integrated,
}

impl OperationOutcome {
    pub fn is_success(self) -> bool {
        matches!(
            self,
            OperationOutcome::Checkpointed
                | OperationOutcome::BranchCreated
                | OperationOutcome::NothingToSave
                | OperationOutcome::Integrated
        )
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
