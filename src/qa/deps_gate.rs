//! The hallucinated-dependency gate, decided from the check's report: under `fail` a
//! dependency the change adds that its registry does not have fails the gate, naming it, and
//! an unknown answer (offline, nothing cached) is "not measured" (the policy's
//! `gates.not_measured` decides); under `warn` the same is only reported; `off` is not checked.

use crate::config::HallucinationCheck;
use crate::deps::DepsReport;
use crate::protocol::model::{GateOutcome, GateResult};

pub const GATE: &str = "dependencies";

/// Names, at most five, then how many more.
fn names(items: &[String]) -> String {
    let mut s = items.iter().take(5).cloned().collect::<Vec<_>>().join("; ");
    if items.len() > 5 {
        s.push_str(&format!(" and {} more", items.len() - 5));
    }
    s
}

/// The gate from the check's report, or why there is none (off, no main branch, …).
pub fn dependencies_gate(m: Result<&DepsReport, &str>) -> GateResult {
    let result = |outcome, measured: Option<String>, reason: Option<String>, required| GateResult {
        gate: GATE.to_string(),
        threshold: Some("every added or changed dependency exists in its registry".into()),
        measured,
        outcome,
        reason,
        required,
        errored: false,
    };
    let r = match m {
        Ok(r) => r,
        Err(why) => return result(GateOutcome::NotMeasured, None, Some(why.to_string()), false),
    };
    let missing: Vec<String> = r
        .missing()
        .iter()
        .map(|c| format!("{}: {}", c.label(), c.detail))
        .collect();
    let unknown: Vec<String> = r
        .unknown()
        .iter()
        .map(|c| format!("{}: {}", c.label(), c.detail))
        .collect();
    let mut measured = format!(
        "{} dependenc{} added or changed in {} manifest(s) since {}: {} missing, {} unknown",
        r.checked.len(),
        if r.checked.len() == 1 { "y" } else { "ies" },
        r.manifests.len(),
        r.base,
        missing.len(),
        unknown.len()
    );
    if !r.errors.is_empty() {
        measured.push_str(&format!("; unreadable: {}", r.errors.join("; ")));
    }
    let warn = r.mode != HallucinationCheck::Fail;
    if !missing.is_empty() {
        let why = format!("does not exist: {}", names(&missing));
        return if warn {
            result(GateOutcome::Reported, Some(measured), Some(why), false)
        } else {
            result(GateOutcome::Fail, Some(measured), Some(why), true)
        };
    }
    if !unknown.is_empty() {
        let why = format!("unknown (offline): {}", names(&unknown));
        return result(GateOutcome::NotMeasured, Some(measured), Some(why), !warn);
    }
    if warn {
        result(GateOutcome::Reported, Some(measured), None, false)
    } else {
        result(GateOutcome::Pass, Some(measured), None, true)
    }
}
