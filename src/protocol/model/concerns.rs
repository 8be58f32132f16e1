//! Concerns (seed 001 concern object schema): their severity, status and record.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::{ConcernId, Timestamp};
use super::roles::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "warning" | "warn" => Ok(Severity::Warning),
            "critical" | "crit" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity '{s}' (expected info, warning or critical)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConcernStatus {
    Open,
    Acknowledged,
    Assigned,
    Resolved,
}

impl ConcernStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConcernStatus::Open => "open",
            ConcernStatus::Acknowledged => "acknowledged",
            ConcernStatus::Assigned => "assigned",
            ConcernStatus::Resolved => "resolved",
        }
    }
}

impl fmt::Display for ConcernStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Concern {
    pub id: ConcernId,
    pub from: Role,
    pub to: Role,
    /// The agent that raised it, when an agent did.
    pub raised_by: Option<String>,
    pub severity: Severity,
    pub category: String,
    pub summary: String,
    pub details: Option<String>,
    pub task: Option<String>,
    pub timestamp: Timestamp,
    pub status: ConcernStatus,
    pub acknowledged_by: Option<String>,
    pub acknowledged_at: Option<Timestamp>,
    pub assigned_to: Option<String>,
    pub response: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolution: Option<String>,
    /// Every role the concern has been routed to, oldest first.
    pub escalations: Vec<Role>,
    /// When it was last routed up the chain (its unacknowledged-time clock restarts there).
    #[serde(default)]
    pub escalated_at: Option<Timestamp>,
    pub discord_message_id: Option<String>,
}

impl Concern {
    /// A concern as it is raised: open, routed to `to` (its first escalation), nothing
    /// acknowledged, assigned or resolved yet.
    pub fn raised(
        id: ConcernId,
        from: Role,
        to: Role,
        severity: Severity,
        category: impl Into<String>,
        summary: impl Into<String>,
        at: impl Into<Timestamp>,
    ) -> Concern {
        Concern {
            id,
            from,
            to,
            raised_by: None,
            severity,
            category: category.into(),
            summary: summary.into(),
            details: None,
            task: None,
            timestamp: at.into(),
            status: ConcernStatus::Open,
            acknowledged_by: None,
            acknowledged_at: None,
            assigned_to: None,
            response: None,
            resolved_by: None,
            resolved_at: None,
            resolution: None,
            escalations: vec![to],
            escalated_at: None,
            discord_message_id: None,
        }
    }
}
