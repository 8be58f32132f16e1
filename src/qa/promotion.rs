//! A promotion run's verdict, shared by `qa --promotion` and `/promote` so that both say the
//! same of the same tree. A promotion run always "asks the human" (seed 000: the human
//! governs promotion); the human's own `/promote` is that answer. So a promotion passes when
//! no required gate failed and nothing blocks (a gate that could not complete, a gate not
//! measured under `gates.not_measured: block`); what the run hands to the human (the
//! promotion itself, an impact, a gate not measured under `require_human`) is answered by
//! the `/promote` that ran it.

use serde::{Deserialize, Serialize};

use super::evaluate::Evaluation;
use crate::protocol::model::{GateOutcome, QaDecision};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromotionVerdict {
    pub passed: bool,
    /// Why it failed: each failed gate with its reason (empty when it passed).
    pub failed: Vec<String>,
    /// What the run asked the human, which the human's `/promote` answers.
    pub for_the_human: Vec<String>,
}

/// The verdict of a promotion run from its evaluation.
pub fn verdict(ev: &Evaluation) -> PromotionVerdict {
    let mut failed: Vec<String> = ev
        .gates
        .iter()
        .filter(|g| g.required && g.outcome == GateOutcome::Fail)
        .map(|g| {
            let why = g.reason.clone().unwrap_or_default();
            if g.errored {
                format!("{} could not complete: {why}", g.gate)
            } else {
                format!("gate failed: {}: {why}", g.gate)
            }
        })
        .collect();
    let gate_reason =
        |r: &String| r.starts_with("gate failed: ") || r.contains(" could not complete: ");
    if ev.decision == QaDecision::Fail {
        // What else made it fail (a gate not measured under `not_measured: block`).
        for r in ev.reasons.iter().filter(|r| !gate_reason(r)) {
            if r.starts_with("not measured: ") && !failed.contains(r) {
                failed.push(r.clone());
            }
        }
        if failed.is_empty() {
            failed = ev.reasons.clone();
        }
    }
    let for_the_human = if failed.is_empty() {
        ev.reasons
            .iter()
            .filter(|r| ev.decision == QaDecision::RequireHuman && !gate_reason(r))
            .cloned()
            .collect()
    } else {
        Vec::new()
    };
    PromotionVerdict {
        passed: failed.is_empty(),
        failed,
        for_the_human,
    }
}

impl PromotionVerdict {
    /// One line: `passes (the human's /promote answers: …)` or `fails: …`.
    pub fn line(&self) -> String {
        if self.passed {
            if self.for_the_human.is_empty() {
                "passes".to_string()
            } else {
                format!(
                    "passes (the human's /promote answers what it asks: {})",
                    self.for_the_human.join("; ")
                )
            }
        } else {
            format!("fails: {}", self.failed.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::model::GateResult;

    fn gate(name: &str, outcome: GateOutcome, required: bool) -> GateResult {
        GateResult {
            gate: name.into(),
            threshold: None,
            measured: None,
            outcome,
            reason: Some(format!("{name} reason")),
            required,
            errored: false,
        }
    }

    fn ev(gates: Vec<GateResult>, decision: QaDecision, reasons: &[&str]) -> Evaluation {
        Evaluation {
            gates,
            metrics: Default::default(),
            flaky: Vec::new(),
            drift: Vec::new(),
            decision,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn asking_the_human_passes_a_failed_gate_does_not() {
        let ok = verdict(&ev(
            vec![gate("tests", GateOutcome::Pass, true)],
            QaDecision::RequireHuman,
            &["phase promotion"],
        ));
        assert!(ok.passed);
        assert_eq!(ok.for_the_human, ["phase promotion"]);
        // `gate_fail: true` hands a failed gate to the human; a promotion still fails on it.
        let bad = verdict(&ev(
            vec![
                gate("docs", GateOutcome::Fail, true),
                gate("lint", GateOutcome::Fail, false),
            ],
            QaDecision::RequireHuman,
            &["gate failed: docs: docs reason", "phase promotion"],
        ));
        assert!(!bad.passed);
        assert_eq!(bad.failed, ["gate failed: docs: docs reason"]);
        let blocked = verdict(&ev(
            vec![gate("e2e", GateOutcome::NotMeasured, true)],
            QaDecision::Fail,
            &["not measured: e2e: no command", "phase promotion"],
        ));
        assert_eq!(blocked.failed, ["not measured: e2e: no command"]);
    }
}
