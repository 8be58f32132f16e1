//! `[planner]` and `[discovery]`: how the planner role's runs are bounded (attempts with the
//! validation errors fed back, time per run) and what the discovery analysts read (coverage
//! reports and their threshold, log files and JSON-lines exports).

use serde::Deserialize;

/// `[planner]`: `overlord-tui plan new "<goal>"` (the planner role's agent is
/// `[roles.planner]`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannerConfig {
    /// Runs of the planner before `plan new` gives up; each after the first gets the
    /// validation errors of the plan the previous one wrote.
    pub max_attempts: u32,
    /// Seconds one planner run may take.
    pub timeout_secs: u64,
}

impl Default for PlannerConfig {
    fn default() -> Self {
        PlannerConfig {
            max_attempts: 3,
            timeout_secs: 900,
        }
    }
}

/// `[discovery]`: the analysts that file tickets (`overlord-tui discover`).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// Line coverage (percent) under which a file gets a "write tests for" ticket.
    pub coverage_threshold: f64,
    /// Coverage reports (LCOV or Cobertura, relative to the repository root). Empty: the
    /// `[qa.coverage] report`.
    pub coverage_reports: Vec<String>,
    /// Log files and JSON-lines exports the log miner reads (relative to the root).
    pub log_files: Vec<String>,
    /// Occurrences of one error before the log miner files a ticket.
    pub min_occurrences: u64,
    /// Whether the dependency watchdog runs with the other analysts (it asks the registries
    /// about every manifest of the working tree).
    pub dependencies: bool,
    /// OSV exports (relative to the root) whose advisories the watchdog reports.
    pub osv_files: Vec<String>,
    /// When an owner runs every analyst by itself: a cron expression in UTC (five fields).
    /// Empty: on demand only (`overlord-tui discover`).
    pub schedule: String,
}

impl Default for DiscoveryConfig {
    fn default() -> Self {
        DiscoveryConfig {
            coverage_threshold: 80.0,
            coverage_reports: Vec::new(),
            log_files: Vec::new(),
            min_occurrences: 2,
            dependencies: true,
            osv_files: Vec::new(),
            schedule: String::new(),
        }
    }
}
