//! Hand-offs between roles (seed 001 handoff record).

use serde::{Deserialize, Serialize};

use super::ids::{HandoffId, Timestamp};
use super::roles::Role;
use super::variations::Impact;

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
