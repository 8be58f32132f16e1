//! `[review]`: the reviewer loop (seed 002) — whether a Reviewer agent critiques each finished
//! task's diff before it is integrated, which roles' tasks, against which documents, and how
//! many rounds before the human decides.

use serde::Deserialize;

use crate::protocol::model::Role;

#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReviewConfig {
    /// A Reviewer agent reviews each finished task of `roles` before it is integrated.
    pub enabled: bool,
    /// The roles whose tasks are reviewed.
    pub roles: Vec<Role>,
    /// The project's style and architecture documents the review is against (repository
    /// paths), named in the reviewer's instructions.
    pub documents: Vec<String>,
    /// Rounds of `request_changes` before the human decides.
    pub max_rounds: u32,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            enabled: false,
            roles: vec![Role::Implementer, Role::Debugger],
            documents: Vec::new(),
            max_rounds: 2,
        }
    }
}
