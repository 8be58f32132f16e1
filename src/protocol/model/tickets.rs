//! Tickets (seed 002 §5.1): the standard ticket (`id`, `type`, `priority`, `context`,
//! `acceptance_criteria`) as filed, its place in the `ready-for-robot` queue, and how the
//! human's batch approval turns tickets into plan tasks (folded here so the state's reducer
//! stays one call).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ids::Timestamp;
use super::plan::{Phase, Plan, Task};

/// The phase approved tickets' tasks join (created when the plan has none).
pub const TICKETS_PHASE: &str = "tickets";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketKind {
    Bug,
    Feature,
    Chore,
}

impl TicketKind {
    pub const ALL: [TicketKind; 3] = [TicketKind::Bug, TicketKind::Feature, TicketKind::Chore];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Bug => "bug",
            TicketKind::Feature => "feature",
            TicketKind::Chore => "chore",
        }
    }
}

impl fmt::Display for TicketKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase();
        TicketKind::ALL
            .into_iter()
            .find(|k| k.as_str() == key)
            .ok_or_else(|| format!("unknown ticket type '{s}' (expected bug, feature or chore)"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketPriority {
    Low,
    Medium,
    High,
    Critical,
}

impl TicketPriority {
    pub const ALL: [TicketPriority; 4] = [
        TicketPriority::Low,
        TicketPriority::Medium,
        TicketPriority::High,
        TicketPriority::Critical,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketPriority::Low => "low",
            TicketPriority::Medium => "medium",
            TicketPriority::High => "high",
            TicketPriority::Critical => "critical",
        }
    }

    /// Sort key: the most urgent first.
    pub fn rank(self) -> u8 {
        match self {
            TicketPriority::Critical => 0,
            TicketPriority::High => 1,
            TicketPriority::Medium => 2,
            TicketPriority::Low => 3,
        }
    }
}

impl fmt::Display for TicketPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketPriority {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let key = s.trim().to_ascii_lowercase();
        TicketPriority::ALL
            .into_iter()
            .find(|k| k.as_str() == key)
            .ok_or_else(|| {
                format!("unknown ticket priority '{s}' (expected low, medium, high or critical)")
            })
    }
}

/// Seed 002's `context`: where the work is and what shows the problem.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filepaths: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_logs: Option<String>,
}

/// Where a ticket is: waiting in the `ready-for-robot` queue for the human's batch
/// approval, or approved (its plan task carries the work on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    ReadyForRobot,
    Approved,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::ReadyForRobot => "ready-for-robot",
            TicketStatus::Approved => "approved",
        }
    }
}

/// A filed ticket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub kind: TicketKind,
    pub priority: TicketPriority,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub context: TicketContext,
    /// The criteria as written (text, or `{description, command, expect}` objects).
    pub acceptance_criteria: Vec<serde_json::Value>,
    /// What shows the problem (an analyst's uncovered lines, log counts), one line each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<String>,
    /// Who filed it: `human`, `discovery:coverage`, `discovery:logs`, …
    pub source: String,
    /// What deduplication compares (type + normalized title, or an analyst's evidence key).
    pub dedup_key: String,
    pub filed_at: Timestamp,
    pub status: TicketStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_at: Option<Timestamp>,
}

impl Ticket {
    pub fn is_queued(&self) -> bool {
        self.status == TicketStatus::ReadyForRobot
    }
}

/// Folds the human's batch approval in: the tickets are approved, their tasks join the
/// plan's `tickets` phase (the plan and the phase made when missing), ordered by priority,
/// and may run at once.
pub fn fold_approved(
    tickets: &mut BTreeMap<String, Ticket>,
    plan: &mut Option<Plan>,
    approved_tasks: &mut BTreeSet<String>,
    ids: &[String],
    tasks: &[Task],
    at: &Timestamp,
) {
    for id in ids {
        if let Some(t) = tickets.get_mut(id) {
            t.status = TicketStatus::Approved;
            t.approved_at = Some(at.clone());
        }
    }
    let plan = plan.get_or_insert_with(|| Plan {
        id: TICKETS_PHASE.to_string(),
        title: "Tickets".to_string(),
        source: "tickets".to_string(),
        imported_at: at.clone(),
        phases: Vec::new(),
    });
    if !plan.phases.iter().any(|p| p.id == TICKETS_PHASE) {
        plan.phases.push(Phase {
            id: TICKETS_PHASE.to_string(),
            name: "Tickets".to_string(),
            tasks: Vec::new(),
            promoted_at: None,
        });
    }
    let Some(phase) = plan.phases.iter_mut().find(|p| p.id == TICKETS_PHASE) else {
        return;
    };
    for task in tasks {
        if !phase.tasks.iter().any(|t| t.id == task.id) {
            phase.tasks.push(task.clone());
        }
        approved_tasks.insert(task.id.clone());
    }
    // Most urgent first (a stable sort keeps the filing order within a priority).
    phase.tasks.sort_by_key(|t| {
        t.priority
            .parse::<TicketPriority>()
            .map(TicketPriority::rank)
            .unwrap_or(u8::MAX)
    });
}

/// One run of the janitor (seed 002 §4.2): what it kept, reverted and skipped on its branch,
/// and the plan task that hands the kept updates in for Save (`None` when nothing was kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JanitorRun {
    /// The janitor's branch (`[janitor] branch`).
    pub branch: String,
    /// Its tip when the run ended.
    pub tip: Option<String>,
    /// `name from → to`, one per update kept (tests green).
    pub kept: Vec<String>,
    /// `name from → to: why`, one per update reverted (tests red).
    pub reverted: Vec<String>,
    /// `name from → to: why`, one per update skipped (the update command failed or did
    /// nothing).
    pub skipped: Vec<String>,
    /// Packages the registries could not answer for.
    pub unknown: usize,
    /// The report it wrote (relative to the repository root).
    pub report_file: String,
    /// The plan task (status done) whose branch holds the kept updates.
    pub task: Option<String>,
}

/// The janitor's run folded in: kept as the last run, and its task (done, in the `tickets`
/// phase) added to the plan so the next Save takes its branch through the QA gate.
pub fn fold_janitor(
    last: &mut Option<JanitorRun>,
    plan: &mut Option<Plan>,
    approved_tasks: &mut BTreeSet<String>,
    run: &JanitorRun,
    task: Option<&Task>,
    at: &Timestamp,
) {
    *last = Some(run.clone());
    if let Some(task) = task {
        fold_approved(
            &mut BTreeMap::new(),
            plan,
            approved_tasks,
            &[],
            std::slice::from_ref(task),
            at,
        );
    }
}
