//! The policy's typed model: the sections of `QA_POLICY.yaml` as structs, and the
//! `gates.not_measured` choice with its names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::protocol::model::Impact;

/// The whole policy. [`Policy::default`] is the default file, `config/QA_POLICY.yaml`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Policy {
    /// When a task's branch merges without a human.
    pub auto_merge_if: AutoMergeIf,
    /// When a merge waits for the human whatever the gates say.
    pub require_human_if: RequireHumanIf,
    /// What a phase promotion needs (`promotion_policy:` in the file).
    pub promotion: PromotionPolicy,
    /// How the gates run (`gates:`).
    pub gates: GateSettings,
}

/// `auto_merge_if`: every condition given must hold for a branch to merge on its own. A
/// threshold that is `None` was left out: its gate is measured and reported but does not block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoMergeIf {
    /// Every test passes (`Some(true)`).
    pub all_tests_passed: Option<bool>,
    /// Lowest line coverage, in percent (0 to 100).
    pub coverage_min: Option<f64>,
    /// Lowest share of the repeated test runs that agree, in percent (0 to 100).
    pub reproducibility_min: Option<f64>,
    /// Most lint errors allowed.
    pub lint_errors: Option<u64>,
    /// The build succeeds (`Some(true)`).
    pub build_passed: Option<bool>,
    /// Most drift from the plan allowed, in percent (0 to 100).
    pub drift_max_percent: Option<f64>,
    /// No critical concern is open against the task.
    pub no_open_critical_concerns: bool,
    /// Files that must exist in the merged tree, relative to the repository root.
    pub docs_required: Vec<String>,
}

/// `require_human_if`: any condition that holds sends the merge to the human.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequireHumanIf {
    /// The lowest task impact that needs the human (`high`: only high-impact tasks); `None`:
    /// impact alone never does.
    pub impact: Option<Impact>,
    /// A failed gate needs the human (rather than only blocking the merge).
    pub gate_fail: bool,
    /// A phase promotion needs the human.
    pub phase_promotion: bool,
}

/// `promotion_policy`: what moving a phase forward needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PromotionPolicy {
    /// The end-to-end tests must have run and passed.
    pub e2e_tests_required: bool,
    /// Lowest reproducibility, in percent (0 to 100); `None`: does not block.
    pub reproducibility_min: Option<f64>,
    /// Files that must exist, relative to the repository root.
    pub docs_required: Vec<String>,
}

/// `gates`: how the gates run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateSettings {
    /// How many times the test suite runs in all (1 to 20); 1: reproducibility is not measured.
    pub reproducibility_runs: u32,
    /// What a gate that could not be measured does to the decision.
    pub not_measured: NotMeasured,
    /// Seconds before a gate is stopped and counted as failed; `None`: the `[qa]
    /// timeout_secs` of `config.toml`.
    pub timeout_secs: Option<u64>,
}

/// What a gate that could not be measured (no coverage report, no lint tool, ...) does to the
/// decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotMeasured {
    /// The merge is refused.
    Block,
    /// The merge waits for the human.
    RequireHuman,
    /// The gate is reported as not measured and does not count.
    Ignore,
}

impl NotMeasured {
    pub const ALL: [NotMeasured; 3] = [
        NotMeasured::Block,
        NotMeasured::RequireHuman,
        NotMeasured::Ignore,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotMeasured::Block => "block",
            NotMeasured::RequireHuman => "require_human",
            NotMeasured::Ignore => "ignore",
        }
    }
}

impl fmt::Display for NotMeasured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for NotMeasured {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(v) = NotMeasured::ALL.into_iter().find(|v| v.as_str() == s) {
            return Ok(v);
        }
        let names = NotMeasured::ALL.map(NotMeasured::as_str);
        Err(match crate::protocol::suggest(s, names) {
            Some(best) => format!("unknown value '{s}' — did you mean {best}?"),
            None => format!("unknown value '{s}' (expected block, require_human or ignore)"),
        })
    }
}
