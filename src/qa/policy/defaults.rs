//! The policy's defaults: a section that is absent takes the values of the default file
//! (`Default`), and a section that is present starts from `unset` (every condition off but
//! the concerns check).

use super::model::{AutoMergeIf, GateSettings, NotMeasured, PromotionPolicy, RequireHumanIf};
use crate::protocol::model::Impact;

impl Default for AutoMergeIf {
    fn default() -> Self {
        AutoMergeIf {
            all_tests_passed: Some(true),
            coverage_min: Some(80.0),
            reproducibility_min: Some(95.0),
            lint_errors: Some(0),
            build_passed: Some(true),
            drift_max_percent: Some(2.0),
            no_open_critical_concerns: true,
            docs_required: Vec::new(),
        }
    }
}

impl AutoMergeIf {
    /// A section that is present starts here: every condition off but the concerns check.
    pub(super) fn unset() -> Self {
        AutoMergeIf {
            all_tests_passed: None,
            coverage_min: None,
            reproducibility_min: None,
            lint_errors: None,
            build_passed: None,
            drift_max_percent: None,
            no_open_critical_concerns: true,
            docs_required: Vec::new(),
        }
    }
}

impl Default for RequireHumanIf {
    fn default() -> Self {
        RequireHumanIf {
            impact: Some(Impact::High),
            gate_fail: true,
            phase_promotion: true,
        }
    }
}

impl RequireHumanIf {
    pub(super) fn unset() -> Self {
        RequireHumanIf {
            impact: None,
            gate_fail: false,
            phase_promotion: false,
        }
    }
}

impl Default for PromotionPolicy {
    fn default() -> Self {
        PromotionPolicy {
            e2e_tests_required: true,
            reproducibility_min: Some(95.0),
            docs_required: ["PROJECT_OVERVIEW.md", "TEST_RESULTS.md", "QA_REPORT.md"]
                .map(String::from)
                .to_vec(),
        }
    }
}

impl PromotionPolicy {
    pub(super) fn unset() -> Self {
        PromotionPolicy {
            e2e_tests_required: false,
            reproducibility_min: None,
            docs_required: Vec::new(),
        }
    }
}

impl Default for GateSettings {
    fn default() -> Self {
        GateSettings {
            reproducibility_runs: 3,
            not_measured: NotMeasured::RequireHuman,
            timeout_secs: None,
        }
    }
}
