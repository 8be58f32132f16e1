//! Variations from the plan and how far they reach (`Impact`): high impact goes to the
//! human as an approval.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::approvals::Decision;
use super::ids::{ApprovalId, Timestamp, VariationId};
use super::roles::Role;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Variation {
    pub id: VariationId,
    pub proposed_by: Role,
    pub agent: Option<String>,
    pub title: String,
    pub impact: Impact,
    pub rationale: Option<String>,
    pub affects: Vec<String>,
    /// The task the variation is about: the proposing agent's task, else a task `affects`
    /// names. A high-impact variation holds its task back from integration until approved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<String>,
    pub proposed_at: Timestamp,
    pub approval: Option<ApprovalId>,
    pub decision: Option<Decision>,
    pub conditions: Option<String>,
    pub comment: Option<String>,
    pub reviewed_by: Option<String>,
    pub decided_at: Option<Timestamp>,
}
