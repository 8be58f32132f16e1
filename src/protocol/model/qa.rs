//! QA runs (produced by the QA part of the core): their gates, decision and metrics.

use serde::{Deserialize, Serialize};

use super::ids::{QaRunId, Timestamp};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateOutcome {
    Pass,
    Fail,
    NotMeasured,
    /// Measured and reported, but the policy sets no threshold for it.
    Reported,
}

impl GateOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            GateOutcome::Pass => "pass",
            GateOutcome::Fail => "fail",
            GateOutcome::NotMeasured => "not measured",
            GateOutcome::Reported => "reported",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    pub gate: String,
    pub threshold: Option<String>,
    pub measured: Option<String>,
    pub outcome: GateOutcome,
    pub reason: Option<String>,
    /// Whether the outcome counts in the decision (a gate with no threshold, or drift with no
    /// earlier checkpoint to compare with, is reported only).
    #[serde(default = "yes")]
    pub required: bool,
    /// The gate could not complete (a timeout, a runner that stopped mid-run): the decision
    /// is `fail` whatever the policy says of failed gates.
    #[serde(default)]
    pub errored: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QaDecision {
    AutoMerge,
    RequireHuman,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QaRun {
    pub id: QaRunId,
    pub tree: String,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub gates: Vec<GateResult>,
    pub decision: QaDecision,
    pub reasons: Vec<String>,
    /// The commit the gates ran on.
    #[serde(default)]
    pub commit: Option<String>,
    /// The figures drift and the metrics are computed from.
    #[serde(default)]
    pub metrics: QaMetrics,
    /// Tests whose outcome differed between the repeated runs (quarantined in the report).
    #[serde(default)]
    pub flaky: Vec<String>,
    /// A phase promotion run (the promotion policy applied).
    #[serde(default)]
    pub promotion: bool,
    /// SHA-256 of the run's stored record (`.overlord/qa/<id>/run.json`), so `qa show` can
    /// tell whether the evidence was changed after the fact.
    #[serde(default)]
    pub record_sha256: Option<String>,
}

impl QaRun {
    /// The gates that failed, in order.
    pub fn failed_gates(&self) -> Vec<&str> {
        self.gates
            .iter()
            .filter(|g| g.outcome == GateOutcome::Fail)
            .map(|g| g.gate.as_str())
            .collect()
    }
}

impl QaDecision {
    pub fn as_str(self) -> &'static str {
        match self {
            QaDecision::AutoMerge => "auto_merge",
            QaDecision::RequireHuman => "require_human",
            QaDecision::Fail => "fail",
        }
    }
}

/// The numbers a QA run measured (absent: not measured).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct QaMetrics {
    pub tests_total: Option<u64>,
    pub tests_passed: Option<u64>,
    pub tests_failed: Option<u64>,
    pub tests_skipped: Option<u64>,
    /// Passed out of passed + failed, in percent.
    pub pass_rate: Option<f64>,
    /// Seconds the first test run took.
    pub test_duration_secs: Option<f64>,
    pub coverage: Option<f64>,
    pub reproducibility: Option<f64>,
    pub lint_errors: Option<u64>,
    pub lint_warnings: Option<u64>,
    pub build_passed: Option<bool>,
}
