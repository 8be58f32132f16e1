//! Approvals the human decides: what kind, for what subject, and the decision.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::{ApprovalId, Timestamp};

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
