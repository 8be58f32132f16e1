//! Checkpoints: the tagged commits a Save, a rollback or a promotion leaves (produced by
//! the git part of the core).

use serde::{Deserialize, Serialize};

use super::ids::{QaRunId, Timestamp};

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
