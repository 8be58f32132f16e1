//! The tester's concerns after a QA run: a failed run goes to the project manager and reaches
//! the human at once; flaky tests are reported.

use crate::core::concern::raise_draft;
use crate::core::engine::Core;
use crate::core::ops::ACTOR;
use crate::git;
use crate::protocol::command::ConcernDraft;
use crate::protocol::model::{QaDecision, QaRun, Role, Severity};
use crate::protocol::EventKind;

/// A concern from the tester to the project manager about a QA run.
fn tester_concern(category: &str, summary: String, details: String) -> ConcernDraft {
    ConcernDraft {
        from: Some(Role::Tester),
        to: Some(Role::ProjectManager),
        severity: Severity::Warning,
        category: category.to_string(),
        summary,
        details: Some(details),
        task: None,
    }
}

pub(crate) fn after_qa_run(core: &mut Core, run: &QaRun, what: &str) {
    if run.decision == QaDecision::Fail {
        // A failed run goes to the PM, who routes the fix, and reaches the human at once.
        let why = run.reasons.join("; ");
        let raised = raise_draft(
            core,
            tester_concern(
                "qa_gate",
                format!("{what}: QA {} failed ({why})", run.id),
                format!(
                    "The gates ran on {} (tree {}). The report is .overlord/qa/{}/QA_REPORT.md; the evidence is in .overlord/qa/{}/ (`overlord-tui qa show {}`).",
                    run.commit.as_deref().map(git::short).unwrap_or_default(),
                    git::short(&run.tree),
                    run.id,
                    run.id,
                    run.id
                ),
            ),
        );
        if let Some(c) = raised.filter(|c| !c.escalations.contains(&Role::Human)) {
            let escalate = vec![EventKind::ConcernEscalated {
                id: c.id,
                to: Role::Human,
                reason: "a failed QA run reaches the human".into(),
            }];
            if let Err(e) = core.emit(ACTOR, escalate) {
                tracing::error!(error = %e, "could not escalate a concern");
            }
        }
    }
    if !run.flaky.is_empty() {
        let mut names = run
            .flaky
            .iter()
            .take(10)
            .cloned()
            .collect::<Vec<_>>()
            .join(", ");
        if run.flaky.len() > 10 {
            names.push_str(&format!(" and {} more", run.flaky.len() - 10));
        }
        raise_draft(
            core,
            tester_concern(
                "flaky_tests",
                format!("{} flaky test(s) in {}: {names}", run.flaky.len(), run.id),
                format!(
                    "Their outcome differed between the repeated runs of {}; they are quarantined in .overlord/qa/{}/QA_REPORT.md and do not count in the tests gate.",
                    run.id, run.id
                ),
            ),
        );
    }
}
